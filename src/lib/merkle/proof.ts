/**
 * Proofs of membership and non-membership, their verification and their compact encoding.
 *
 * A proof is the walk from the root towards `key`: the sibling hash at each level (root first), and the
 * node where the walk stopped: the key's own leaf (membership), another key's leaf that shares the
 * path so far (non-membership), or an empty subtree (non-membership, `leaf` absent).
 *
 * Encoding (version 1), for RPC:
 *   kind(1)          0x00 the walk ended at an empty subtree, 0x01 it ended at a leaf
 *   depth(2, BE)     number of siblings, 0…256
 *   bitmap(⌈depth/8⌉) bit 7−(i mod 8) of byte ⌊i/8⌋ set = sibling i is not empty; padding bits are 0
 *   siblings         32 bytes for each set bit, in order (never all zero)
 *   leaf             key(32) ‖ valueHash(32), only for kind 0x01
 * The encoding is canonical: decodeProof accepts exactly one byte string for each proof.
 */
import { FleekError } from '../errors.ts'
import { equalBytes, getBit, isZero } from './bytes.ts'
import { EMPTY_ROOT, HASH_BYTES, hashInternal, hashLeaf, hashValue } from './hash.ts'

export const KEY_BITS = 256
const KIND_EMPTY = 0x00
const KIND_LEAF = 0x01

export interface MerkleProofLeaf {
  key: Uint8Array
  /** BLAKE3 of the leaf's value bytes. */
  valueHash: Uint8Array
}

export interface MerkleProof {
  /** Sibling hashes from the root down, one per level walked; 32 zero bytes for an empty sibling. */
  siblings: Uint8Array[]
  /** The leaf where the walk stopped; absent when it stopped at an empty subtree. */
  leaf?: MerkleProofLeaf
}

function isHash(bytes: unknown): bytes is Uint8Array {
  return bytes instanceof Uint8Array && bytes.length === HASH_BYTES
}

function isWellFormed(proof: MerkleProof): boolean {
  if (proof === null || typeof proof !== 'object' || !Array.isArray(proof.siblings)) return false
  if (proof.siblings.length > KEY_BITS || !proof.siblings.every(isHash)) return false
  return proof.leaf === undefined || (isHash(proof.leaf.key) && isHash(proof.leaf.valueHash))
}

/** True when `proof` shows that `key` holds `value` (or, with `value` undefined, is absent) under `root`. */
export function verifyProof(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | undefined,
  proof: MerkleProof,
): boolean {
  if (!isHash(root) || !isHash(key) || !isWellFormed(proof)) return false
  const { siblings, leaf } = proof
  const depth = siblings.length
  let node: Uint8Array
  if (value !== undefined) {
    if (leaf === undefined || !equalBytes(leaf.key, key)) return false
    if (!equalBytes(leaf.valueHash, hashValue(value))) return false
    node = hashLeaf(leaf.key, leaf.valueHash)
  } else if (leaf !== undefined) {
    // Another key's leaf proves absence only where the walk towards `key` would reach it.
    if (equalBytes(leaf.key, key)) return false
    for (let i = 0; i < depth; i++) {
      if (getBit(leaf.key, i) !== getBit(key, i)) return false
    }
    node = hashLeaf(leaf.key, leaf.valueHash)
  } else {
    node = EMPTY_ROOT
  }
  for (let i = depth - 1; i >= 0; i--) {
    node = getBit(key, i) === 0 ? hashInternal(node, siblings[i]) : hashInternal(siblings[i], node)
  }
  return equalBytes(node, root)
}

/** The compact, canonical byte form of a proof (see the file comment). */
export function encodeProof(proof: MerkleProof): Uint8Array {
  if (!isWellFormed(proof)) {
    throw new FleekError(
      'INVALID_INPUT',
      'merkle proof is malformed: expected at most 256 siblings of 32 bytes',
    )
  }
  const depth = proof.siblings.length
  const bitmapBytes = Math.ceil(depth / 8)
  const present = proof.siblings.filter((s) => !isZero(s)).length
  const out = new Uint8Array(3 + bitmapBytes + present * HASH_BYTES + (proof.leaf ? 2 * HASH_BYTES : 0))
  out[0] = proof.leaf ? KIND_LEAF : KIND_EMPTY
  out[1] = depth >>> 8
  out[2] = depth & 0xff
  let offset = 3 + bitmapBytes
  proof.siblings.forEach((sibling, i) => {
    if (isZero(sibling)) return
    out[3 + (i >>> 3)] |= 0x80 >>> (i & 7)
    out.set(sibling, offset)
    offset += HASH_BYTES
  })
  if (proof.leaf) {
    out.set(proof.leaf.key, offset)
    out.set(proof.leaf.valueHash, offset + HASH_BYTES)
  }
  return out
}

function invalid(reason: string): FleekError {
  return new FleekError('INVALID_INPUT', `malformed merkle proof: ${reason}`)
}

/** Parses an encoded proof; anything but a canonical encoding throws FleekError('INVALID_INPUT'). */
export function decodeProof(bytes: Uint8Array): MerkleProof {
  if (!(bytes instanceof Uint8Array)) throw invalid('expected bytes')
  if (bytes.length < 3) throw invalid(`${bytes.length} bytes is shorter than its 3-byte header`)
  const kind = bytes[0]
  if (kind !== KIND_EMPTY && kind !== KIND_LEAF) throw invalid(`unknown kind ${kind}`)
  const depth = (bytes[1] << 8) | bytes[2]
  if (depth > KEY_BITS) throw invalid(`depth ${depth} exceeds ${KEY_BITS}`)
  const bitmapBytes = Math.ceil(depth / 8)
  if (bytes.length < 3 + bitmapBytes) throw invalid('truncated bitmap')
  let present = 0
  for (let i = 0; i < bitmapBytes * 8; i++) {
    const bit = (bytes[3 + (i >>> 3)] >>> (7 - (i & 7))) & 1
    if (bit === 1 && i >= depth) throw invalid('bitmap padding bits must be zero')
    present += bit
  }
  const expected = 3 + bitmapBytes + present * HASH_BYTES + (kind === KIND_LEAF ? 2 * HASH_BYTES : 0)
  if (bytes.length !== expected) throw invalid(`expected ${expected} bytes, got ${bytes.length}`)
  const siblings: Uint8Array[] = []
  let offset = 3 + bitmapBytes
  for (let i = 0; i < depth; i++) {
    if (((bytes[3 + (i >>> 3)] >>> (7 - (i & 7))) & 1) === 0) {
      siblings.push(EMPTY_ROOT.slice())
      continue
    }
    const sibling = bytes.slice(offset, offset + HASH_BYTES)
    if (isZero(sibling)) throw invalid(`sibling ${i} is marked present but is all zero`)
    siblings.push(sibling)
    offset += HASH_BYTES
  }
  if (kind === KIND_EMPTY) return { siblings }
  return {
    siblings,
    leaf: {
      key: bytes.slice(offset, offset + HASH_BYTES),
      valueHash: bytes.slice(offset + HASH_BYTES, expected),
    },
  }
}
