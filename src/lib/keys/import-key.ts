/**
 * `fleek keys import|export` in one place: which format each kind of key travels in, and a clear
 * refusal that names what a file is when it is given as the wrong kind.
 */
import { FleekError } from '../errors.ts'
import { exportAccountKeystore, importAccountKeystore } from './account-keystore.ts'
import { CONSENSUS_PEM_LABEL, exportConsensusPem, importConsensusPem } from './consensus-pem.ts'
import { assertValidSecret } from './derive.ts'
import { decodeKeyFile } from './key-file.ts'
import { exportNodePem, importNodePem, NODE_ENCRYPTED_PEM_LABEL, NODE_PEM_LABEL } from './node-pem.ts'
import { findPemLabels } from './pem.ts'
import {
  describeKindWithArticle,
  isKeyKind,
  type KeyKind,
  type ScryptParams,
  type SecretKey,
} from './types.ts'

/** What a file given to `keys import` looks like. */
export type KeyFormat =
  | 'pkcs8-pem'
  | 'pkcs8-encrypted-pem'
  | 'consensus-pem'
  | 'other-pem'
  | 'keystore-v3'
  | 'fleek-key-file'
  | 'hex'
  | 'unknown'

export interface ImportKeyOptions {
  /** The passphrase of an encrypted PEM, keystore or key file. */
  passphrase?: string
}

export interface ExportKeyOptions {
  /** node: encrypts the PKCS#8 PEM; account: the keystore passphrase (required); consensus: refused. */
  passphrase?: string
  /** account keystore scrypt cost (defaults to geth's standard). */
  scrypt?: ScryptParams
  /** node encrypted PEM PBKDF2 iterations. */
  pbkdf2Iterations?: number
}

/** The file name extension of each kind's export format. */
export const exportFileExtensions: Readonly<Record<KeyKind, string>> = {
  node: 'pem',
  consensus: 'pem',
  account: 'json',
}

/** Sorts a file into the formats above by its shape alone (no secret is read). */
export function detectKeyFormat(text: string): { format: KeyFormat; kind?: KeyKind } {
  const trimmed = typeof text === 'string' ? text.trim() : ''
  if (trimmed.startsWith('{')) {
    try {
      const record: unknown = JSON.parse(trimmed)
      if (typeof record === 'object' && record !== null && !Array.isArray(record)) {
        const r = record as Record<string, unknown>
        if (r.version === 3 && ('crypto' in r || 'Crypto' in r))
          return { format: 'keystore-v3', kind: 'account' }
        if (r.version === 1 && isKeyKind(r.kind)) return { format: 'fleek-key-file', kind: r.kind }
      }
    } catch {
      // not JSON: falls through to unknown
    }
    return { format: 'unknown' }
  }
  const labels = findPemLabels(trimmed)
  if (labels.length > 0) {
    if (labels[0] === NODE_PEM_LABEL) return { format: 'pkcs8-pem', kind: 'node' }
    if (labels[0] === NODE_ENCRYPTED_PEM_LABEL) return { format: 'pkcs8-encrypted-pem', kind: 'node' }
    if (labels[0] === CONSENSUS_PEM_LABEL) return { format: 'consensus-pem', kind: 'consensus' }
    return { format: 'other-pem' }
  }
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(trimmed)) return { format: 'hex', kind: 'account' }
  return { format: 'unknown' }
}

const expectedFormats: Record<KeyKind, string> = {
  node: 'a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----")',
  consensus: `a "-----BEGIN ${CONSENSUS_PEM_LABEL}-----" PEM`,
  account: 'an Ethereum keystore v3 JSON file or a hex private key',
}

const formatNames: Record<KeyFormat, string> = {
  'pkcs8-pem': 'a PKCS#8 PEM (a node key export)',
  'pkcs8-encrypted-pem': 'an encrypted PKCS#8 PEM (a node key export)',
  'consensus-pem': 'a consensus key PEM',
  'other-pem': 'a PEM of another kind',
  'keystore-v3': 'an Ethereum keystore (an account key)',
  'fleek-key-file': 'a fleek key file',
  hex: 'a hex private key (an account key)',
  unknown: 'not a key file fleek reads',
}

/**
 * The key of `kind` in `text`: node ← PKCS#8 PEM (plain or encrypted), consensus ← consensus PEM,
 * account ← keystore v3 or a hex private key; any kind ← a fleek key file (`<home>/keys/<kind>.json`) of
 * that kind. A file of another type is refused with one line saying what it is.
 */
export function importKey(kind: KeyKind, text: string, opts: ImportKeyOptions = {}): SecretKey {
  if (!isKeyKind(kind))
    throw new FleekError('INVALID_INPUT', 'the key kind must be node, consensus or account')
  const { format, kind: formatKind } = detectKeyFormat(text)
  if (format === 'fleek-key-file') return decodeKeyFile(text, kind, opts)
  if (formatKind === kind) {
    switch (format) {
      case 'pkcs8-pem':
      case 'pkcs8-encrypted-pem':
        return importNodePem(text, opts)
      case 'consensus-pem':
        return importConsensusPem(text)
      case 'keystore-v3':
        return importAccountKeystore(text, opts.passphrase)
      case 'hex': {
        const secret = new Uint8Array(Buffer.from(text.trim().replace(/^0x/i, ''), 'hex'))
        assertValidSecret('account', secret, 'the hex private key')
        return { kind: 'account', secret }
      }
    }
  }
  if (format === 'other-pem') {
    const label = findPemLabels(text)[0]
    throw new FleekError(
      'INVALID_INPUT',
      `this is a "${label}" PEM, not ${describeKindWithArticle(kind)}: expected ${expectedFormats[kind]}`,
    )
  }
  if (format === 'unknown') {
    throw new FleekError(
      'INVALID_INPUT',
      `this is not ${describeKindWithArticle(kind)}: expected ${expectedFormats[kind]}`,
    )
  }
  throw new FleekError(
    'INVALID_INPUT',
    `this is ${formatNames[format]}, not ${describeKindWithArticle(kind)}: expected ${expectedFormats[kind]}`,
  )
}

/** The export text of a key: node → PKCS#8 PEM, consensus → consensus PEM, account → keystore v3. */
export function exportKey(key: SecretKey, opts: ExportKeyOptions = {}): string {
  switch (key.kind) {
    case 'node':
      return exportNodePem(key, { passphrase: opts.passphrase, pbkdf2Iterations: opts.pbkdf2Iterations })
    case 'consensus':
      if (opts.passphrase !== undefined) {
        throw new FleekError(
          'INVALID_INPUT',
          'the consensus key PEM is not encrypted: export it without a passphrase',
        )
      }
      return exportConsensusPem(key)
    case 'account':
      if (opts.passphrase === undefined) {
        throw new FleekError(
          'BAD_PASSPHRASE',
          'an Ethereum keystore is always encrypted: give a passphrase to export the account key',
        )
      }
      return exportAccountKeystore(key, opts.passphrase, { scrypt: opts.scrypt })
    default:
      throw new FleekError('INVALID_INPUT', 'a key must be a node, consensus or account key')
  }
}
