/**
 * PEM (RFC 7468) reading and writing for the key exports. Exactly one block per text; the base64 body
 * must be canonical (so no edited character goes unnoticed). Lines of "Name: value" before the block are
 * explanatory text (RFC 7468 §5.2: parsers ignore it — openssl and node:crypto do); fleek writes the
 * public key there and checks it on import, which turns an edited secret into a refusal instead of a
 * silently different key.
 */
import { FleekError } from '../errors.ts'

export interface PemBlock {
  label: string
  body: Uint8Array
  /** The "Name: value" lines before the block, by name (lowercase). */
  notes: Map<string, string>
}

const BEGIN = /^-----BEGIN ([A-Z0-9]+(?:[ -][A-Z0-9]+)*)-----$/
const END = /^-----END ([A-Z0-9]+(?:[ -][A-Z0-9]+)*)-----$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/
const NOTE = /^([A-Za-z][A-Za-z0-9 #-]{0,40}):\s*(\S.*)$/

/** The labels in `text` (one per BEGIN line), to tell apart what a file is before parsing it. */
export function findPemLabels(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => BEGIN.exec(line.trim())?.[1])
    .filter((label): label is string => label !== undefined)
}

/** Parses the one PEM block of `text`; `what` names the input in errors ("the node key PEM"). */
export function parsePem(text: string, what: string): PemBlock {
  if (typeof text !== 'string' || text.trim().length === 0)
    throw new FleekError('INVALID_INPUT', `${what} is empty`)
  const lines = text.split(/\r?\n/).map((line) => line.trim())
  const begins = lines.flatMap((line, i) => (BEGIN.test(line) ? [i] : []))
  if (begins.length === 0) throw new FleekError('INVALID_INPUT', `${what} is not PEM (no "-----BEGIN" line)`)
  if (begins.length > 1)
    throw new FleekError('INVALID_INPUT', `${what} holds ${begins.length} PEM blocks; give one`)
  const start = begins[0]
  const label = BEGIN.exec(lines[start])![1]
  const end = lines.findIndex((line, i) => i > start && END.test(line))
  if (end < 0) throw new FleekError('INVALID_INPUT', `${what} is truncated (no "-----END" line)`)
  if (END.exec(lines[end])![1] !== label) {
    throw new FleekError('INVALID_INPUT', `${what} is corrupted: its BEGIN and END labels differ`)
  }
  const bodyLines = lines.slice(start + 1, end).filter((line) => line.length > 0)
  if (bodyLines.some((line) => line.includes(':'))) {
    throw new FleekError(
      'INVALID_INPUT',
      `${what} uses legacy PEM headers (Proc-Type); convert it to PKCS#8 with: openssl pkcs8 -topk8`,
    )
  }
  const base64 = bodyLines.join('')
  if (base64.length === 0 || base64.length % 4 !== 0 || !BASE64.test(base64)) {
    throw new FleekError('INVALID_INPUT', `${what} is corrupted: its body is not base64`)
  }
  const body = Buffer.from(base64, 'base64')
  if (body.toString('base64') !== base64) {
    throw new FleekError('INVALID_INPUT', `${what} is corrupted: its body is not canonical base64`)
  }
  const notes = new Map<string, string>()
  for (const line of lines.slice(0, start)) {
    const match = NOTE.exec(line)
    if (match !== null) notes.set(match[1].toLowerCase(), match[2].trim())
  }
  return { label, body: new Uint8Array(body), notes }
}

/** A PEM text: the explanatory lines, then the block with 64-character base64 lines, ending in a newline. */
export function formatPem(label: string, body: Uint8Array, explanatory: readonly string[] = []): string {
  const base64 = Buffer.from(body).toString('base64')
  const lines = base64.match(/.{1,64}/g) ?? []
  return [...explanatory, `-----BEGIN ${label}-----`, ...lines, `-----END ${label}-----`, ''].join('\n')
}

/** The error for a PEM of the wrong kind: names what the file is. */
export function wrongPemLabel(label: string, expected: 'node' | 'consensus'): FleekError {
  const known: Record<string, string> = {
    'PRIVATE KEY': 'a PKCS#8 private key (a node key export)',
    'ENCRYPTED PRIVATE KEY': 'an encrypted PKCS#8 private key (a node key export)',
    'FLEEK BLS12-381 PRIVATE KEY': 'a consensus key PEM',
    'PUBLIC KEY': 'a public key, not a private key',
    CERTIFICATE: 'a certificate',
  }
  const isWhat =
    known[label] ??
    (/ PRIVATE KEY$/.test(label) ? `a ${label.replace(/ PRIVATE KEY$/, '')} private key` : `a "${label}" PEM`)
  return new FleekError('INVALID_INPUT', `this is ${isWhat}, not the ${expected} key PEM fleek expects`)
}
