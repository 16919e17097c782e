/**
 * The hashes of the sparse Merkle tree, domain-separated by BLAKE3 keyed hashing with keys derived
 * from distinct derive-key contexts, so that a leaf can never be read as an internal node or the other
 * way round. Both node hashes take exactly 64 bytes of input: one BLAKE3 compression each.
 *
 *   valueHash  = BLAKE3(value bytes)                                  (plain hash, equal to b3sum)
 *   leaf       = BLAKE3-keyed(LEAF_KEY, key(32) ‖ valueHash(32))
 *   internal   = BLAKE3-keyed(INTERNAL_KEY, left(32) ‖ right(32))
 *   empty      = 32 zero bytes (the empty subtree and the empty tree's root; no preimage is known)
 *
 * LEAF_KEY = BLAKE3-derive-key("fleek-network sparse merkle tree leaf v1", "") and
 * INTERNAL_KEY = BLAKE3-derive-key("fleek-network sparse merkle tree internal v1", "").
 */
import { deriveKey, hash, keyedHash } from '../b3/index.ts'

export const HASH_BYTES = 32

/** The root of the empty tree and the hash of every empty subtree: 32 zero bytes. */
export const EMPTY_ROOT: Uint8Array = new Uint8Array(HASH_BYTES)

export const LEAF_CONTEXT = 'fleek-network sparse merkle tree leaf v1'
export const INTERNAL_CONTEXT = 'fleek-network sparse merkle tree internal v1'

const LEAF_KEY = deriveKey(LEAF_CONTEXT, new Uint8Array(0))
const INTERNAL_KEY = deriveKey(INTERNAL_CONTEXT, new Uint8Array(0))

/** The BLAKE3 hash of a value's bytes: what a leaf stores and commits to. */
export function hashValue(value: Uint8Array): Uint8Array {
  return hash(value)
}

/** The 64-byte input of a node hash, reused by every call (keyedHash neither keeps nor re-enters it). */
const pair = new Uint8Array(2 * HASH_BYTES)

function hashPair(key: Uint8Array, a: Uint8Array, b: Uint8Array): Uint8Array {
  pair.set(a, 0)
  pair.set(b, HASH_BYTES)
  return keyedHash(key, pair)
}

/** The hash of the leaf holding `key` with `valueHash`. */
export function hashLeaf(key: Uint8Array, valueHash: Uint8Array): Uint8Array {
  return hashPair(LEAF_KEY, key, valueHash)
}

/** The hash of the internal node with children `left` (bit 0) and `right` (bit 1). */
export function hashInternal(left: Uint8Array, right: Uint8Array): Uint8Array {
  return hashPair(INTERNAL_KEY, left, right)
}
