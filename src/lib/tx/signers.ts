import { createHash, type KeyObject } from 'node:crypto'

import {
  createAccountVerifyKey,
  derivePublicKey,
  ethAddress,
  recoverAccount,
  signAccount,
  signNode,
  toChecksumAddress,
  verifyAccountSha256,
  verifyNode,
} from '../keys/index.ts'
import { FleekError } from '../errors.ts'

/**
 * The two signature schemes of transactions, over the 32-byte digest, through src/lib/keys:
 * accounts sign the message hash e = SHA-256(digest) with secp256k1 (65 bytes r‖s‖v, low s,
 * v = 27 + recovery id; 0/1 also accepted) and are identified by their Ethereum address, kept lowercase
 * inside fleek; nodes sign the digest itself with ed25519 (64 bytes).
 */

/** Lowercase 0x address of a secp256k1 public key (33 or 65 bytes). */
export function computeAccountAddress(publicKey: Uint8Array): string {
  return ethAddress(publicKey).toLowerCase()
}

/** Compressed (33-byte) secp256k1 public key of an account secret. */
export function getAccountPublicKey(secret: Uint8Array): Uint8Array {
  return derivePublicKey({ kind: 'account', secret })
}

/** What an account signs for a transaction digest: SHA-256(digest), 32 bytes. */
export function computeAccountMessageHash(digest: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(digest).digest())
}

export function signAccountDigest(secret: Uint8Array, digest: Uint8Array): Uint8Array {
  return signAccount({ kind: 'account', secret }, computeAccountMessageHash(digest))
}

/**
 * The account that signed `digest` (recovery from SHA-256(digest)): its lowercase 0x address and its
 * compressed public key, or undefined when the signature is malformed or high-s.
 */
export function recoverAccountDigestSigner(
  digest: Uint8Array,
  signature: Uint8Array,
): { address: string; publicKey: Uint8Array } | undefined {
  try {
    const { address, publicKey } = recoverAccount(computeAccountMessageHash(digest), signature)
    return { address: address.toLowerCase(), publicKey }
  } catch {
    return undefined
  }
}

/** Default bound of an AccountKeyCache. */
export const DEFAULT_ACCOUNT_KEY_CACHE_SIZE = 10_000

/**
 * OpenSSL key objects of account public keys, least recently used dropped past `maxKeys`. Only work is
 * cached: the key to check against always comes from the caller (the chain state), never from here.
 */
export class AccountKeyCache {
  readonly maxKeys: number
  readonly #keys = new Map<string, KeyObject>()

  constructor(maxKeys = DEFAULT_ACCOUNT_KEY_CACHE_SIZE) {
    if (!Number.isSafeInteger(maxKeys) || maxKeys < 1)
      throw new FleekError('INVALID_INPUT', 'an account key cache holds at least one key')
    this.maxKeys = maxKeys
  }

  get size(): number {
    return this.#keys.size
  }

  /** The key object of `publicKey` (33 or 65 bytes); INVALID_INPUT when it is not a curve point. */
  get(publicKey: Uint8Array): KeyObject {
    const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('latin1')
    let key = this.#keys.get(id)
    if (key !== undefined) {
      // Most recently used last (Map keeps insertion order).
      this.#keys.delete(id)
      this.#keys.set(id, key)
      return key
    }
    key = createAccountVerifyKey(publicKey)
    if (this.#keys.size >= this.maxKeys) this.#keys.delete(this.#keys.keys().next().value as string)
    this.#keys.set(id, key)
    return key
  }
}

/**
 * The known-key rule (docs/protocol/transactions.md §4.1): `signature` is an ECDSA signature of
 * SHA-256(digest) by `publicKey`, with 65 bytes r ‖ s ‖ v, v ∈ {0, 1, 27, 28} but not compared with
 * the point, 1 ≤ r ≤ n − 1, 1 ≤ s ≤ (n − 1)/2. False for a public key that is not a curve point.
 */
export function verifyAccountDigestWithKey(
  publicKey: Uint8Array,
  digest: Uint8Array,
  signature: Uint8Array,
  cache?: AccountKeyCache,
): boolean {
  let key: KeyObject
  try {
    key = cache !== undefined ? cache.get(publicKey) : createAccountVerifyKey(publicKey)
  } catch {
    return false
  }
  return verifyAccountSha256(key, digest, signature)
}

export function getNodePublicKey(secret: Uint8Array): Uint8Array {
  return derivePublicKey({ kind: 'node', secret })
}

export function signNodeDigest(secret: Uint8Array, digest: Uint8Array): Uint8Array {
  return signNode({ kind: 'node', secret }, digest)
}

export function verifyNodeDigest(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  return verifyNode(publicKey, digest, signature)
}

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/

/**
 * Validates an Ethereum address typed by a user and returns its lowercase form. A mixed-case address
 * must carry a correct EIP-55 checksum; all-lower and all-upper are accepted as is.
 */
export function normalizeAddress(text: string, what = 'address'): string {
  if (typeof text !== 'string' || !HEX_ADDRESS.test(text)) {
    throw new FleekError('INVALID_INPUT', `${what} must be 0x followed by 40 hex digits`)
  }
  const hex = text.slice(2)
  const lower = hex.toLowerCase()
  if (hex !== lower && hex !== hex.toUpperCase() && toChecksumAddress(lower) !== text) {
    throw new FleekError('INVALID_INPUT', `${what} ${text} has a wrong EIP-55 checksum`)
  }
  return '0x' + lower
}

export { toChecksumAddress }
