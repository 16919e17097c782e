/** ed25519 signatures with the node key, through node:crypto (about 60 µs a verify). */
import { sign, verify } from 'node:crypto'

import { FleekError } from '../errors.ts'
import { createEd25519PrivateKey, createEd25519PublicKey } from './ed25519.ts'
import type { SecretKey } from './types.ts'

/** The 64-byte ed25519 signature of `message` (RFC 8032, pure ed25519). */
export function signNode(key: SecretKey, message: Uint8Array): Uint8Array {
  if (key.kind !== 'node' || key.secret.length !== 32)
    throw new FleekError('INVALID_INPUT', 'signNode needs a node key')
  return new Uint8Array(sign(null, message, createEd25519PrivateKey(key.secret)))
}

/** True when `signature` is a valid ed25519 signature of `message` by `publicKey`; false for any malformed input. */
export function verifyNode(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    return verify(null, message, createEd25519PublicKey(publicKey), signature)
  } catch {
    return false
  }
}
