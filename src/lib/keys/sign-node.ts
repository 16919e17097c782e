/** ed25519 signatures with the node key, through node:crypto (about 60 µs a verify). */
import { type KeyObject, sign, verify } from 'node:crypto'

import { FleekError } from '../errors.ts'
import { createEd25519PrivateKey, createEd25519PublicKey } from './ed25519.ts'
import type { SecretKey } from './types.ts'

/** The 64-byte ed25519 signature of `message` (RFC 8032, pure ed25519). */
export function signNode(key: SecretKey, message: Uint8Array): Uint8Array {
  if (key.kind !== 'node' || key.secret.length !== 32)
    throw new FleekError('INVALID_INPUT', 'signNode needs a node key')
  return new Uint8Array(sign(null, message, createEd25519PrivateKey(key.secret)))
}

// Building a KeyObject costs more than the verify itself; the same few keys (committee members, busy
// senders) sign most messages, so the last ones used are kept. A pure memo: bounded, no observable state.
const KEY_CACHE_SIZE = 1024
const keyCache = new Map<string, KeyObject>()

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey).toString('hex')
  let key = keyCache.get(id)
  if (key === undefined) {
    key = createEd25519PublicKey(publicKey)
    if (keyCache.size >= KEY_CACHE_SIZE) keyCache.delete(keyCache.keys().next().value as string)
    keyCache.set(id, key)
  }
  return key
}

/** True when `signature` is a valid ed25519 signature of `message` by `publicKey`; false for any malformed input. */
export function verifyNode(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    return verify(null, message, publicKeyObject(publicKey), signature)
  } catch {
    return false
  }
}
