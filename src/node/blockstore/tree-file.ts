/**
 * The block tree of a stored blob (DESIGN §3.1) and its file format. The tree file is a 16-byte header
 * — magic "FLKT", version 1, log2(chunks per block), two zero bytes, the blob size as u64 little-endian —
 * followed by the 2n−1 32-byte nodes in post-order (leaf i at 2i − popcount(i), the root hash last).
 */
import { FleekError } from '../../lib/errors.ts'
import { equalBytes } from '../../lib/bytes.ts'

export const TREE_MAGIC = [0x46, 0x4c, 0x4b, 0x54] // "FLKT"
export const TREE_VERSION = 1
export const TREE_HEADER_BYTES = 16
/** 256 KiB blocks: 2^8 chunks of 1 KiB. */
export const LOG2_CHUNKS_PER_BLOCK = 8
export const BLOCK_BYTES = 1024 << LOG2_CHUNKS_PER_BLOCK

/** Number of blocks of a blob of `sizeBytes` (the empty blob is one empty block). */
export function countBlocks(sizeBytes: number): number {
  return sizeBytes === 0 ? 1 : Math.ceil(sizeBytes / BLOCK_BYTES)
}

/** Number of set bits of a non-negative safe integer. */
function countOnes(n: number): number {
  let c = 0
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2
  return c
}

/** Index of leaf `block` in the post-order node array. */
export function leafIndex(block: number): number {
  return 2 * block - countOnes(block)
}

/** A blob's tree: its size and its post-order nodes (32 bytes each, root last). */
export interface StoredTree {
  sizeBytes: number
  blocks: number
  /** (2·blocks − 1) · 32 bytes. */
  nodes: Uint8Array
}

/** The 32-byte node `index` of the tree (a view, not a copy). */
export function treeNode(tree: StoredTree, index: number): Uint8Array {
  return tree.nodes.subarray(index * 32, index * 32 + 32)
}

/** The tree file's bytes. */
export function encodeTreeFile(tree: StoredTree): Uint8Array {
  const out = new Uint8Array(TREE_HEADER_BYTES + tree.nodes.length)
  out.set(TREE_MAGIC, 0)
  out[4] = TREE_VERSION
  out[5] = LOG2_CHUNKS_PER_BLOCK
  new DataView(out.buffer).setBigUint64(8, BigInt(tree.sizeBytes), true)
  out.set(tree.nodes, TREE_HEADER_BYTES)
  return out
}

/** Parses a tree file; a damaged one is INTEGRITY naming `what` (the blob). */
export function decodeTreeFile(bytes: Uint8Array, what: string): StoredTree {
  const damaged = (why: string): FleekError =>
    new FleekError(
      'INTEGRITY',
      `the block tree of ${what} is damaged on disk (${why}); remove the blob and put it again`,
    )
  if (bytes.length < TREE_HEADER_BYTES) throw damaged('too short')
  if (TREE_MAGIC.some((b, i) => bytes[i] !== b) || bytes[4] !== TREE_VERSION) throw damaged('bad header')
  if (bytes[5] !== LOG2_CHUNKS_PER_BLOCK) throw damaged(`unsupported block size 2^${bytes[5]} chunks`)
  const size = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(8, true)
  if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw damaged('impossible size')
  const sizeBytes = Number(size)
  const blocks = countBlocks(sizeBytes)
  const nodes = bytes.subarray(TREE_HEADER_BYTES)
  if (nodes.length !== (2 * blocks - 1) * 32) throw damaged('wrong node count')
  return { sizeBytes, blocks, nodes }
}

export { equalBytes }
