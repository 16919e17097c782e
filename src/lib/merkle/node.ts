/**
 * Tree nodes as stored in a MerkleNodeStore, keyed by their hash. Nodes are immutable: an update writes
 * new nodes and leaves the old ones in place, so every earlier root stays readable.
 *
 *   leaf      0x00 ‖ key(32) ‖ valueHash(32)    (65 bytes)
 *   internal  0x01 ‖ left(32) ‖ right(32)       (65 bytes; an empty child is 32 zero bytes)
 */
import { FleekError } from '../errors.ts'
import { encodeHex } from './bytes.ts'
import { HASH_BYTES } from './hash.ts'

/** Where the tree keeps its nodes: any map from a node's hash to its encoding (memory, lmdb, …). */
export interface MerkleNodeStore {
  get(hash: Uint8Array): Uint8Array | undefined
  put(hash: Uint8Array, node: Uint8Array): void
}

export const LEAF_TAG = 0x00
export const INTERNAL_TAG = 0x01
export const NODE_BYTES = 1 + 2 * HASH_BYTES

export type MerkleNode =
  | { kind: 'leaf'; key: Uint8Array; valueHash: Uint8Array }
  | { kind: 'internal'; left: Uint8Array; right: Uint8Array }

export function encodeLeafNode(key: Uint8Array, valueHash: Uint8Array): Uint8Array {
  const out = new Uint8Array(NODE_BYTES)
  out[0] = LEAF_TAG
  out.set(key, 1)
  out.set(valueHash, 1 + HASH_BYTES)
  return out
}

export function encodeInternalNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  const out = new Uint8Array(NODE_BYTES)
  out[0] = INTERNAL_TAG
  out.set(left, 1)
  out.set(right, 1 + HASH_BYTES)
  return out
}

/** Reads the node with hash `hash` from `store`; a missing or malformed node is a damaged store. */
export function loadNode(store: MerkleNodeStore, hash: Uint8Array): MerkleNode {
  const bytes = store.get(hash)
  if (bytes === undefined) {
    throw new FleekError('INTEGRITY', `merkle node ${encodeHex(hash)} is missing from the node store`)
  }
  if (bytes.length !== NODE_BYTES || (bytes[0] !== LEAF_TAG && bytes[0] !== INTERNAL_TAG)) {
    throw new FleekError('INTEGRITY', `merkle node ${encodeHex(hash)} in the node store is malformed`)
  }
  const a = bytes.subarray(1, 1 + HASH_BYTES)
  const b = bytes.subarray(1 + HASH_BYTES, NODE_BYTES)
  return bytes[0] === LEAF_TAG
    ? { kind: 'leaf', key: a, valueHash: b }
    : { kind: 'internal', left: a, right: b }
}

/** A node store in memory (tests, benchmarks, and trees that need no persistence). */
export class MemoryNodeStore implements MerkleNodeStore {
  readonly #nodes = new Map<string, Uint8Array>()

  get size(): number {
    return this.#nodes.size
  }

  get(hash: Uint8Array): Uint8Array | undefined {
    return this.#nodes.get(mapKey(hash))
  }

  put(hash: Uint8Array, node: Uint8Array): void {
    this.#nodes.set(mapKey(hash), node.slice())
  }
}

/** A short string map key: the length, then one UTF-16 code unit per two bytes (hex is 4× slower). */
function mapKey(h: Uint8Array): string {
  const units: number[] = [h.length]
  for (let i = 0; i + 1 < h.length; i += 2) units.push(h[i] | (h[i + 1] << 8))
  if (h.length % 2 !== 0) units.push(h[h.length - 1])
  // One call builds a flat string (repeated += builds a rope that every Map lookup must flatten).
  return String.fromCharCode(...units)
}
