/** ed25519 through node:crypto (OpenSSL): the node key. A secret key is the 32-byte RFC 8032 seed. */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto'

import { concatBytes } from './bytes.ts'

/** DER of a PKCS#8 v1 PrivateKeyInfo for ed25519 (RFC 8410), up to the 32-byte seed. */
const PKCS8_PREFIX = Uint8Array.from(Buffer.from('302e020100300506032b657004220420', 'hex'))
/** DER of a SubjectPublicKeyInfo for ed25519 (RFC 8410), up to the 32-byte public key. */
const SPKI_PREFIX = Uint8Array.from(Buffer.from('302a300506032b6570032100', 'hex'))

/** The PKCS#8 (v1, unencrypted) DER of an ed25519 seed. */
export function encodeEd25519Pkcs8(seed: Uint8Array): Uint8Array {
  return concatBytes(PKCS8_PREFIX, seed)
}

export function createEd25519PrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(encodeEd25519Pkcs8(seed)), format: 'der', type: 'pkcs8' })
}

export function createEd25519PublicKey(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: Buffer.from(concatBytes(SPKI_PREFIX, publicKey)),
    format: 'der',
    type: 'spki',
  })
}

/** The seed and public key of an ed25519 KeyObject (private), read from its JWK export. */
export function readEd25519KeyObject(key: KeyObject): { seed: Uint8Array; publicKey: Uint8Array } {
  const jwk = key.export({ format: 'jwk' })
  if (typeof jwk.d !== 'string' || typeof jwk.x !== 'string') throw new Error('not an ed25519 private key')
  return {
    seed: new Uint8Array(Buffer.from(jwk.d, 'base64url')),
    publicKey: new Uint8Array(Buffer.from(jwk.x, 'base64url')),
  }
}

/** The 32-byte public key of a seed. */
export function deriveEd25519PublicKey(seed: Uint8Array): Uint8Array {
  return readEd25519KeyObject(createEd25519PrivateKey(seed)).publicKey
}

export function generateEd25519Seed(): Uint8Array {
  return readEd25519KeyObject(generateKeyPairSync('ed25519').privateKey).seed
}
