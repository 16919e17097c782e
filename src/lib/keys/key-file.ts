/**
 * The key files at rest, `<home>/keys/<kind>.json` (version 1). Plaintext:
 *
 *   { "version": 1, "kind": "node", "algorithm": "ed25519", "publicKey": "<hex>", "secretKey": "<hex>" }
 *
 * Encrypted (a passphrase was given): instead of "secretKey",
 *
 *   "crypto": { "kdf": "scrypt", "kdfparams": { "n": 32768, "r": 8, "p": 1, "salt": "<hex, 32 B>" },
 *               "cipher": "aes-256-gcm", "iv": "<hex, 12 B>", "tag": "<hex, 16 B>", "ciphertext": "<hex, 32 B>" }
 *
 * The AES-256-GCM key is scrypt(NFKC(passphrase), salt) and the additional data is the header
 * `fleek key file\n` + JSON.stringify([version, kind, algorithm, publicKey]), so that a header moved
 * to another file, or edited, fails authentication. The public key stays readable without the
 * passphrase (`fleek keys show`). Hex is lowercase. Decoding refuses anything it does not expect: an
 * unknown field, a wrong length, a secret whose public key is not the stored one.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'

import { FleekError } from '../errors.ts'
import { bytesToHex, equalBytes, parseHex, utf8 } from './bytes.ts'
import { assertValidSecret, assertValidSecretKey, derivePublicKey } from './derive.ts'
import { identityFromPublicKey, publicIdentity } from './identity.ts'
import { assertScryptParams, defaultScryptParams, deriveScrypt, passphraseBytes } from './kdf.ts'
import {
  describeKind,
  describeKindWithArticle,
  isKeyKind,
  keyAlgorithms,
  publicKeyLengths,
  SECRET_KEY_LENGTH,
  type KeyAlgorithm,
  type KeyKind,
  type PublicIdentity,
  type ScryptParams,
  type SecretKey,
} from './types.ts'

export const KEY_FILE_VERSION = 1

export interface EncodeKeyFileOptions {
  /** Encrypts the secret with this passphrase; plaintext when undefined. An empty passphrase is refused. */
  passphrase?: string
  /** scrypt cost; `defaultScryptParams` (N=2^15, r=8, p=1) when undefined. */
  scrypt?: ScryptParams
}

export interface DecodeKeyFileOptions {
  passphrase?: string
}

interface KeyFileHeader {
  version: number
  kind: KeyKind
  algorithm: KeyAlgorithm
  publicKey: string
}

const SALT_BYTES = 32
const IV_BYTES = 12
const TAG_BYTES = 16
const PLAIN_FIELDS = ['version', 'kind', 'algorithm', 'publicKey', 'secretKey']
const ENCRYPTED_FIELDS = ['version', 'kind', 'algorithm', 'publicKey', 'crypto']
const CRYPTO_FIELDS = ['kdf', 'kdfparams', 'cipher', 'iv', 'tag', 'ciphertext']
const KDF_FIELDS = ['n', 'r', 'p', 'salt']

/** The JSON text of a key file (ends with a newline). */
export function encodeKeyFile(key: SecretKey, opts: EncodeKeyFileOptions = {}): string {
  assertValidSecretKey(key)
  const header: KeyFileHeader = {
    version: KEY_FILE_VERSION,
    kind: key.kind,
    algorithm: keyAlgorithms[key.kind],
    publicKey: bytesToHex(derivePublicKey(key)),
  }
  if (opts.passphrase === undefined) {
    return JSON.stringify({ ...header, secretKey: bytesToHex(key.secret) }, null, 2) + '\n'
  }
  if (typeof opts.passphrase !== 'string' || opts.passphrase.length === 0) {
    throw new FleekError('INVALID_INPUT', 'the passphrase is empty: give one, or store the key unencrypted')
  }
  const scrypt = opts.scrypt ?? defaultScryptParams
  assertScryptParams(scrypt, 'the key file')
  const salt = new Uint8Array(randomBytes(SALT_BYTES))
  const iv = new Uint8Array(randomBytes(IV_BYTES))
  const aesKey = deriveScrypt(passphraseBytes(opts.passphrase), salt, scrypt, 32)
  const cipher = createCipheriv('aes-256-gcm', aesKey, iv, { authTagLength: TAG_BYTES })
  cipher.setAAD(headerAad(header))
  const ciphertext = Buffer.concat([cipher.update(key.secret), cipher.final()])
  const crypto = {
    kdf: 'scrypt',
    kdfparams: { n: scrypt.N, r: scrypt.r, p: scrypt.p, salt: bytesToHex(salt) },
    cipher: 'aes-256-gcm',
    iv: bytesToHex(iv),
    tag: bytesToHex(cipher.getAuthTag()),
    ciphertext: bytesToHex(ciphertext),
  }
  return JSON.stringify({ ...header, crypto }, null, 2) + '\n'
}

/**
 * The secret key in a key file, checked from end to end. Throws INVALID_INPUT for a file that is not
 * JSON, truncated, of another kind or version, or corrupted; BAD_PASSPHRASE for an encrypted file
 * without a passphrase or with a wrong one.
 */
export function decodeKeyFile(
  text: string,
  expectedKind: KeyKind,
  opts: DecodeKeyFileOptions = {},
): SecretKey {
  const what = `the ${describeKind(expectedKind)} file`
  const { record, header } = parseHeader(text, expectedKind)
  const publicKey = parseHex(header.publicKey, publicKeyLengths[expectedKind])
  if (publicKey === undefined) {
    throw new FleekError(
      'INVALID_INPUT',
      `${what} is corrupted: its public key is not ${publicKeyLengths[expectedKind]} bytes of hex`,
    )
  }
  let secret: Uint8Array
  if ('secretKey' in record) {
    assertFields(record, PLAIN_FIELDS, what)
    const parsed = parseHex(record.secretKey, SECRET_KEY_LENGTH)
    if (parsed === undefined) {
      throw new FleekError(
        'INVALID_INPUT',
        `${what} is corrupted: its secret key is not ${SECRET_KEY_LENGTH} bytes of hex`,
      )
    }
    secret = parsed
  } else if ('crypto' in record) {
    assertFields(record, ENCRYPTED_FIELDS, what)
    secret = decryptSecret(record.crypto, header, opts.passphrase, what)
  } else {
    throw new FleekError('INVALID_INPUT', `${what} holds no secret key (neither "secretKey" nor "crypto")`)
  }
  assertValidSecret(expectedKind, secret, `${what}'s secret key`)
  const key: SecretKey = { kind: expectedKind, secret }
  if (!equalBytes(derivePublicKey(key), publicKey)) {
    throw new FleekError(
      'INVALID_INPUT',
      `${what} is corrupted: its public key does not match its secret key`,
    )
  }
  return key
}

/** True when `text` is a key file with an encrypted secret (false for plaintext and for anything unreadable). */
export function isEncryptedKeyFile(text: string): boolean {
  try {
    const record: unknown = JSON.parse(text)
    return isRecord(record) && 'crypto' in record && !('secretKey' in record)
  } catch {
    return false
  }
}

/**
 * The public identity stored in a key file, without its passphrase. The stored public key of an
 * encrypted file is authenticated only when the file is decrypted; of a plaintext file, it is checked here.
 */
export function readKeyFileIdentity(text: string, expectedKind: KeyKind): PublicIdentity {
  if (!isEncryptedKeyFile(text)) return publicIdentity(decodeKeyFile(text, expectedKind))
  const { header } = parseHeader(text, expectedKind)
  const publicKey = parseHex(header.publicKey, publicKeyLengths[expectedKind])
  if (publicKey === undefined) {
    throw new FleekError(
      'INVALID_INPUT',
      `the ${describeKind(expectedKind)} file is corrupted: its public key is not valid hex`,
    )
  }
  return identityFromPublicKey(expectedKind, publicKey)
}

/** The public key stored in a key file, without its passphrase (see `readKeyFileIdentity`). */
export function readKeyFilePublicKey(text: string, expectedKind: KeyKind): Uint8Array {
  return readKeyFileIdentity(text, expectedKind).publicKey
}

function parseHeader(
  text: string,
  expectedKind: KeyKind,
): { record: Record<string, unknown>; header: KeyFileHeader } {
  const what = `the ${describeKind(expectedKind)} file`
  if (typeof text !== 'string' || text.trim().length === 0)
    throw new FleekError('INVALID_INPUT', `${what} is empty`)
  let record: unknown
  try {
    record = JSON.parse(text)
  } catch (err) {
    throw new FleekError('INVALID_INPUT', `${what} is not valid JSON (truncated or corrupted)`, {
      cause: err,
    })
  }
  if (!isRecord(record))
    throw new FleekError('INVALID_INPUT', `${what} is not a fleek key file (not a JSON object)`)
  if (!('version' in record))
    throw new FleekError('INVALID_INPUT', `${what} is not a fleek key file (no "version")`)
  if (record.version !== KEY_FILE_VERSION) {
    throw new FleekError(
      'INVALID_INPUT',
      `${what} has version ${typeof record.version === 'number' ? record.version : '(not a number)'}; this fleek reads version ${KEY_FILE_VERSION}`,
    )
  }
  if (!isKeyKind(record.kind)) throw new FleekError('INVALID_INPUT', `${what} has no valid "kind"`)
  if (record.kind !== expectedKind) {
    throw new FleekError(
      'INVALID_INPUT',
      `this is a ${record.kind} key file, not ${describeKindWithArticle(expectedKind)}`,
    )
  }
  if (record.algorithm !== keyAlgorithms[expectedKind]) {
    throw new FleekError(
      'INVALID_INPUT',
      `${what} has the wrong algorithm (a ${describeKind(expectedKind)} is ${keyAlgorithms[expectedKind]})`,
    )
  }
  const header: KeyFileHeader = {
    version: record.version,
    kind: record.kind,
    algorithm: keyAlgorithms[expectedKind],
    publicKey: record.publicKey as string,
  }
  return { record, header }
}

function decryptSecret(
  crypto: unknown,
  header: KeyFileHeader,
  passphrase: string | undefined,
  what: string,
): Uint8Array {
  if (!isRecord(crypto))
    throw new FleekError('INVALID_INPUT', `${what} is corrupted: "crypto" is not an object`)
  assertFields(crypto, CRYPTO_FIELDS, `${what}'s "crypto"`)
  if (crypto.kdf !== 'scrypt')
    throw new FleekError('INVALID_INPUT', `${what} uses an unknown kdf (only scrypt is read)`)
  if (crypto.cipher !== 'aes-256-gcm') {
    throw new FleekError('INVALID_INPUT', `${what} uses an unknown cipher (only aes-256-gcm is read)`)
  }
  const kdfparams = crypto.kdfparams
  if (!isRecord(kdfparams))
    throw new FleekError('INVALID_INPUT', `${what} is corrupted: "kdfparams" is not an object`)
  assertFields(kdfparams, KDF_FIELDS, `${what}'s "kdfparams"`)
  const params = { N: kdfparams.n, r: kdfparams.r, p: kdfparams.p } as ScryptParams
  assertScryptParams(params, what)
  const salt = parseHex(kdfparams.salt)
  const iv = parseHex(crypto.iv, IV_BYTES)
  const tag = parseHex(crypto.tag, TAG_BYTES)
  const ciphertext = parseHex(crypto.ciphertext, SECRET_KEY_LENGTH)
  if (salt === undefined || salt.length < 16 || salt.length > 64) {
    throw new FleekError('INVALID_INPUT', `${what} is corrupted: the salt is not 16 to 64 bytes of hex`)
  }
  if (iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new FleekError(
      'INVALID_INPUT',
      `${what} is corrupted: iv, tag or ciphertext has the wrong length or is not hex`,
    )
  }
  if (passphrase === undefined) {
    throw new FleekError(
      'BAD_PASSPHRASE',
      `the ${describeKind(header.kind)} is encrypted: give the passphrase (FLEEK_KEY_PASSPHRASE, --passphrase-file, or the prompt)`,
    )
  }
  const aesKey = deriveScrypt(passphraseBytes(passphrase), salt, params, 32)
  const decipher = createDecipheriv('aes-256-gcm', aesKey, iv, { authTagLength: TAG_BYTES })
  decipher.setAAD(headerAad(header))
  decipher.setAuthTag(tag)
  try {
    return new Uint8Array(Buffer.concat([decipher.update(ciphertext), decipher.final()]))
  } catch (err) {
    throw new FleekError('BAD_PASSPHRASE', `wrong passphrase for the ${describeKind(header.kind)}`, {
      cause: err,
    })
  }
}

function headerAad(header: KeyFileHeader): Uint8Array {
  return utf8(
    'fleek key file\n' + JSON.stringify([header.version, header.kind, header.algorithm, header.publicKey]),
  )
}

function assertFields(record: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const name of Object.keys(record)) {
    if (!allowed.includes(name))
      throw new FleekError(
        'INVALID_INPUT',
        `${what} has an unexpected field ${JSON.stringify(name.slice(0, 40))}`,
      )
  }
  for (const name of allowed) {
    if (!(name in record))
      throw new FleekError('INVALID_INPUT', `${what} is missing the field ${JSON.stringify(name)}`)
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
