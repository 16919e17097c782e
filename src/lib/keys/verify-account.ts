/**
 * Account signatures checked against a known public key through node:crypto (OpenSSL), for signatures
 * over SHA-256 of a message (OpenSSL hashes what it verifies: `crypto.verify('sha256', message, …)`
 * checks the ECDSA signature of the message hash e = SHA-256(message)).
 *
 * OpenSSL checks 1 ≤ r, s ≤ n − 1 and x(u1·G + u2·Q) ≡ r (mod n). This adds what it does not check,
 * so that the verdict is the one recovery gives except for v: the 65-byte form r ‖ s ‖ v, v ∈ {0, 1,
 * 27, 28}, and low s (s ≤ (n − 1)/2). The recovery bit in v is **not** compared with the parity of the
 * point's y: a copy of a valid signature with the other v is valid too (recovery would refuse it).
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto'

import { FleekError } from '../errors.ts'

/** DER of SubjectPublicKeyInfo {id-ecPublicKey, secp256k1} up to the 33-byte compressed point. */
const SPKI_COMPRESSED_PREFIX = Buffer.from('3036301006072a8648ce3d020106052b8104000a032200', 'hex')
/** The same for a 65-byte uncompressed point. */
const SPKI_UNCOMPRESSED_PREFIX = Buffer.from('3056301006072a8648ce3d020106052b8104000a034200', 'hex')

/** (n − 1)/2 of secp256k1, big-endian: the largest s accepted. */
const HALF_ORDER = Buffer.from('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0', 'hex')
/** n of secp256k1, big-endian. */
const ORDER = Buffer.from('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141', 'hex')
const ZERO = Buffer.alloc(32)

/**
 * An OpenSSL public key object for a secp256k1 public key (33 bytes compressed or 65 uncompressed).
 * Throws INVALID_INPUT when the bytes are not a point of the curve. Costs ~0.1 ms: cache it.
 */
export function createAccountVerifyKey(publicKey: Uint8Array): KeyObject {
  const prefix =
    publicKey.length === 33
      ? SPKI_COMPRESSED_PREFIX
      : publicKey.length === 65
        ? SPKI_UNCOMPRESSED_PREFIX
        : undefined
  if (prefix === undefined)
    throw new FleekError('INVALID_INPUT', `a secp256k1 public key is 33 or 65 bytes, not ${publicKey.length}`)
  try {
    return createPublicKey({ key: Buffer.concat([prefix, publicKey]), format: 'der', type: 'spki' })
  } catch (err) {
    throw new FleekError('INVALID_INPUT', 'the bytes are not a secp256k1 public key', { cause: err })
  }
}

/**
 * True when `signature` (65 bytes r ‖ s ‖ v) is an ECDSA signature by `key` of e = SHA-256(`message`),
 * with v ∈ {0, 1, 27, 28} (not otherwise compared), 1 ≤ r ≤ n − 1 and 1 ≤ s ≤ (n − 1)/2.
 */
export function verifyAccountSha256(key: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 65) return false
  const v = signature[64]
  if (v !== 27 && v !== 28 && v !== 0 && v !== 1) return false
  const sig = Buffer.from(signature.buffer, signature.byteOffset, 64)
  const r = sig.subarray(0, 32)
  const s = sig.subarray(32, 64)
  if (r.equals(ZERO) || Buffer.compare(r, ORDER) >= 0) return false
  if (s.equals(ZERO) || Buffer.compare(s, HALF_ORDER) > 0) return false
  try {
    return verify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, sig)
  } catch {
    return false
  }
}
