/**
 * The node key's export format: PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----", RFC 8410), readable by
 * `openssl pkey` and node:crypto. With a passphrase, an encrypted PKCS#8 ("-----BEGIN ENCRYPTED PRIVATE
 * KEY-----", PBES2: PBKDF2-HMAC-SHA256 + AES-256-CBC, as `openssl pkcs8 -topk8 -v2 aes256` writes).
 * Above the block fleek writes the public key and PeerId as explanatory text; on import, when present,
 * they must match the key (a PKCS#8 ed25519 key has no checksum of its own).
 */
import { createCipheriv, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto'

import { FleekError } from '../errors.ts'
import { utf8 } from './bytes.ts'
import { DER_NULL, encodeDerInteger, encodeDerOctetString, encodeDerOid, encodeDerSequence } from './der.ts'
import { assertValidSecretKey } from './derive.ts'
import { encodeEd25519Pkcs8, readEd25519KeyObject } from './ed25519.ts'
import { assertPbkdf2Iterations, derivePbkdf2Sha256 } from './kdf.ts'
import { encodeBase58, peerIdFromEd25519 } from './peer-id.ts'
import { formatPem, parsePem, wrongPemLabel } from './pem.ts'
import { describeKindWithArticle, type SecretKey } from './types.ts'

export const NODE_PEM_LABEL = 'PRIVATE KEY'
export const NODE_ENCRYPTED_PEM_LABEL = 'ENCRYPTED PRIVATE KEY'
/** PBKDF2 iterations of an encrypted export (OWASP's 2023 figure for PBKDF2-HMAC-SHA256). */
export const DEFAULT_PKCS8_PBKDF2_ITERATIONS = 600_000

const OID_PBES2 = '2a864886f70d01050d'
const OID_PBKDF2 = '2a864886f70d01050c'
const OID_HMAC_SHA256 = '2a864886f70d0209'
const OID_AES_256_CBC = '60864801650304012a'

export interface ExportNodePemOptions {
  /** Writes an encrypted PKCS#8 with this passphrase (used as its UTF-8 bytes, as openssl does). */
  passphrase?: string
  /** PBKDF2 iterations of the encrypted form; DEFAULT_PKCS8_PBKDF2_ITERATIONS when undefined. */
  pbkdf2Iterations?: number
}

export interface ImportNodePemOptions {
  passphrase?: string
}

export function exportNodePem(key: SecretKey, opts: ExportNodePemOptions = {}): string {
  assertValidSecretKey(key)
  if (key.kind !== 'node') {
    throw new FleekError(
      'INVALID_INPUT',
      `${describeKindWithArticle(key.kind)} cannot be written as a node key PEM`,
    )
  }
  const { publicKey } = readEd25519KeyObject(
    createPrivateKey({ key: pkcs8Der(key), format: 'der', type: 'pkcs8' }),
  )
  const notes = [
    'Fleek node key (ed25519, PKCS#8). Keep this file secret.',
    `Public key: ${encodeBase58(publicKey)}`,
    `PeerId: ${peerIdFromEd25519(publicKey)}`,
  ]
  if (opts.passphrase === undefined) return formatPem(NODE_PEM_LABEL, pkcs8Der(key), notes)
  if (typeof opts.passphrase !== 'string' || opts.passphrase.length === 0) {
    throw new FleekError('INVALID_INPUT', 'the passphrase is empty: give one, or export the key unencrypted')
  }
  const iterations = opts.pbkdf2Iterations ?? DEFAULT_PKCS8_PBKDF2_ITERATIONS
  assertPbkdf2Iterations(iterations, 'the node key PEM')
  return formatPem(NODE_ENCRYPTED_PEM_LABEL, encryptPkcs8(pkcs8Der(key), opts.passphrase, iterations), notes)
}

/**
 * The node key of a PKCS#8 PEM (plain, or encrypted with `opts.passphrase`). INVALID_INPUT for another
 * kind of PEM, a key that is not ed25519, or a key that does not match the public key written above it;
 * BAD_PASSPHRASE for an encrypted PEM without a passphrase or with a wrong one.
 */
export function importNodePem(text: string, opts: ImportNodePemOptions = {}): SecretKey {
  const what = 'the node key PEM'
  const block = parsePem(text, what)
  const encrypted = block.label === NODE_ENCRYPTED_PEM_LABEL
  if (block.label !== NODE_PEM_LABEL && !encrypted) throw wrongPemLabel(block.label, 'node')
  if (encrypted && opts.passphrase === undefined) {
    throw new FleekError(
      'BAD_PASSPHRASE',
      `${what} is encrypted: give the passphrase (FLEEK_KEY_PASSPHRASE, --passphrase-file, or the prompt)`,
    )
  }
  let keyObject: KeyObject
  try {
    keyObject = createPrivateKey(
      encrypted
        ? { key: Buffer.from(block.body), format: 'der', type: 'pkcs8', passphrase: opts.passphrase }
        : { key: Buffer.from(block.body), format: 'der', type: 'pkcs8' },
    )
  } catch (err) {
    if (encrypted) {
      throw new FleekError('BAD_PASSPHRASE', `wrong passphrase for ${what}, or the PEM is damaged`, {
        cause: err,
      })
    }
    throw new FleekError('INVALID_INPUT', `${what} does not parse as a PKCS#8 private key (corrupted?)`, {
      cause: err,
    })
  }
  if (keyObject.asymmetricKeyType !== 'ed25519') {
    throw new FleekError(
      'INVALID_INPUT',
      `${what} holds a ${keyObject.asymmetricKeyType ?? 'unknown'} key, not an ed25519 key`,
    )
  }
  const { seed, publicKey } = readEd25519KeyObject(keyObject)
  const base58 = block.notes.get('public key')
  const peerId = block.notes.get('peerid')
  if (
    (base58 !== undefined && base58 !== encodeBase58(publicKey)) ||
    (peerId !== undefined && peerId !== peerIdFromEd25519(publicKey))
  ) {
    throw new FleekError(
      'INVALID_INPUT',
      `${what} is corrupted: the key does not match the public key written above it`,
    )
  }
  return { kind: 'node', secret: seed }
}

function pkcs8Der(key: SecretKey): Buffer {
  return Buffer.from(encodeEd25519Pkcs8(key.secret))
}

/** EncryptedPrivateKeyInfo (RFC 5958) with PBES2 (RFC 8018): PBKDF2-HMAC-SHA256, AES-256-CBC. */
function encryptPkcs8(der: Uint8Array, passphrase: string, iterations: number): Uint8Array {
  const salt = new Uint8Array(randomBytes(16))
  const iv = new Uint8Array(randomBytes(16))
  const aesKey = derivePbkdf2Sha256(utf8(passphrase), salt, iterations, 32)
  const cipher = createCipheriv('aes-256-cbc', aesKey, iv)
  const encrypted = new Uint8Array(Buffer.concat([cipher.update(der), cipher.final()]))
  const kdf = encodeDerSequence(
    encodeDerOid(OID_PBKDF2),
    encodeDerSequence(
      encodeDerOctetString(salt),
      encodeDerInteger(iterations),
      encodeDerSequence(encodeDerOid(OID_HMAC_SHA256), DER_NULL),
    ),
  )
  const scheme = encodeDerSequence(encodeDerOid(OID_AES_256_CBC), encodeDerOctetString(iv))
  const algorithm = encodeDerSequence(encodeDerOid(OID_PBES2), encodeDerSequence(kdf, scheme))
  return encodeDerSequence(algorithm, encodeDerOctetString(encrypted))
}
