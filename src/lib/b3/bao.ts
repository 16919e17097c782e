/**
 * Bao encodings (the Bao spec) from the block-tree code with k = 0 (1-KiB chunks): an 8-byte
 * little-endian length header, then the tree in pre-order — each parent as left CV ‖ right CV,
 * followed by its left then right subtree; chunks inline (combined) or left out (outboard). A slice
 * keeps only the parents and chunks met when seeking to `start` and reading `len` bytes.
 */
import { FleekError } from '../errors.ts'
import { CHUNK_LEN } from './constants.ts'
import { checkBytes } from './mode.ts'
import { countChunks } from './subtree.ts'
import { type BlockTree, buildTree, leftBlocks, subtreeRootIndex } from './tree.ts'

export const BAO_HEADER_LEN = 8
const PARENT_LEN = 64

/** Bytes a subtree of `len` content bytes takes in a combined (or outboard) encoding. */
export function baoSubtreeSize(len: number, outboard: boolean): number {
  return (outboard ? 0 : len) + PARENT_LEN * (countChunks(len) - 1)
}

/** Size of the whole combined (or outboard) encoding of `len` content bytes, header included. */
export function baoEncodedSize(len: number, outboard = false): number {
  return BAO_HEADER_LEN + baoSubtreeSize(len, outboard)
}

/** Bytes of the left subtree of a node over `len` > 1024 bytes: the largest power-of-two chunk count below. */
export function baoLeftLen(len: number): number {
  return leftBlocks(countChunks(len)) * CHUNK_LEN
}

/** The 8-byte little-endian length header. */
export function encodeBaoHeader(len: number): Uint8Array {
  const out = new Uint8Array(BAO_HEADER_LEN)
  new DataView(out.buffer).setBigUint64(0, BigInt(len), true)
  return out
}

/** The chunk range [first, end) a (start, len) request touches, by Bao's rules (len 0 reads 1 byte; a start at or past EOF reads the final chunk). */
export function baoSliceChunks(contentLen: number, start: number, len: number): [number, number] {
  const chunks = countChunks(contentLen)
  if (start >= contentLen) return [chunks - 1, chunks]
  const end = Math.min(contentLen, start + Math.max(len, 1))
  return [Math.floor(start / CHUNK_LEN), Math.ceil(end / CHUNK_LEN)]
}

function checkRange(start: number, len: number): void {
  if (!Number.isSafeInteger(start) || start < 0 || !Number.isSafeInteger(len) || len < 0)
    throw new FleekError(
      'INVALID_INPUT',
      `a Bao slice needs a non-negative start and length, got ${start}, ${len}`,
    )
}

/** Writes the pre-order encoding of `tree` (k = 0) over `content`, restricted to chunks [c0, c1). */
function writeEncoding(
  tree: BlockTree,
  content: Uint8Array,
  outboard: boolean,
  c0: number,
  c1: number,
): Uint8Array {
  const pieces: Uint8Array[] = [encodeBaoHeader(content.length)]
  let size = BAO_HEADER_LEN
  const visit = (first: number, count: number): void => {
    if (first + count <= c0 || first >= c1) return
    if (count === 1) {
      if (!outboard) {
        const chunk = content.subarray(first * CHUNK_LEN, Math.min(content.length, (first + 1) * CHUNK_LEN))
        pieces.push(chunk)
        size += chunk.length
      }
      return
    }
    const l = leftBlocks(count)
    pieces.push(tree.node(subtreeRootIndex(first, l)), tree.node(subtreeRootIndex(first + l, count - l)))
    size += PARENT_LEN
    visit(first, l)
    visit(first + l, count - l)
  }
  visit(0, tree.blockCount)
  const out = new Uint8Array(size)
  let pos = 0
  for (const p of pieces) {
    out.set(p, pos)
    pos += p.length
  }
  return out
}

function checkTree(tree: BlockTree, content: Uint8Array): void {
  if (tree.log2ChunksPerBlock !== 0 || tree.blockCount !== countChunks(content.length))
    throw new FleekError('INVALID_INPUT', 'a Bao encoding needs the content and its k = 0 (1-KiB) block tree')
}

export interface BaoEncoding {
  /** The encoding, header included. */
  readonly encoding: Uint8Array
  /** The root: the BLAKE3 hash of the content. */
  readonly hash: Uint8Array
}

/** The combined Bao encoding of `content`; pass its k = 0 tree when you already have it. */
export function baoEncode(content: Uint8Array, tree?: BlockTree): BaoEncoding {
  checkBytes(content, 'content')
  const t = tree ?? buildTree(content, 0)
  checkTree(t, content)
  return { encoding: writeEncoding(t, content, false, 0, t.blockCount), hash: t.root.slice() }
}

/** The outboard Bao encoding of `content` (the tree without the chunks). */
export function baoOutboard(content: Uint8Array, tree?: BlockTree): BaoEncoding {
  checkBytes(content, 'content')
  const t = tree ?? buildTree(content, 0)
  checkTree(t, content)
  return { encoding: writeEncoding(t, content, true, 0, t.blockCount), hash: t.root.slice() }
}

/** The Bao slice of `content` for reading `len` bytes at `start` (what a server sends for a range). */
export function baoSlice(content: Uint8Array, start: number, len: number, tree?: BlockTree): Uint8Array {
  checkBytes(content, 'content')
  checkRange(start, len)
  const t = tree ?? buildTree(content, 0)
  checkTree(t, content)
  const [c0, c1] = baoSliceChunks(content.length, start, len)
  return writeEncoding(t, content, false, c0, c1)
}

/**
 * Extracts the slice for (`start`, `len`) from a combined encoding without rehashing (as Bao's
 * SliceExtractor; the reader verifies). Throws INVALID_INPUT if the encoding is too short.
 */
export function baoSliceFromEncoding(encoding: Uint8Array, start: number, len: number): Uint8Array {
  checkBytes(encoding, 'encoding')
  checkRange(start, len)
  if (encoding.length < BAO_HEADER_LEN)
    throw new FleekError('INVALID_INPUT', 'a Bao encoding starts with 8 length bytes')
  const contentLen = Number(new DataView(encoding.buffer, encoding.byteOffset, 8).getBigUint64(0, true))
  if (!Number.isSafeInteger(contentLen) || encoding.length !== baoEncodedSize(contentLen))
    throw new FleekError('INVALID_INPUT', 'the Bao encoding does not match its length header')
  const [c0, c1] = baoSliceChunks(contentLen, start, len)
  const pieces: Uint8Array[] = [encoding.subarray(0, BAO_HEADER_LEN)]
  const visit = (offset: number, firstChunk: number, nodeLen: number): void => {
    const count = countChunks(nodeLen)
    if (firstChunk + count <= c0 || firstChunk >= c1) return
    if (count === 1) {
      pieces.push(encoding.subarray(offset, offset + nodeLen))
      return
    }
    pieces.push(encoding.subarray(offset, offset + PARENT_LEN))
    const leftLen = baoLeftLen(nodeLen)
    visit(offset + PARENT_LEN, firstChunk, leftLen)
    visit(
      offset + PARENT_LEN + baoSubtreeSize(leftLen, false),
      firstChunk + leftLen / CHUNK_LEN,
      nodeLen - leftLen,
    )
  }
  visit(BAO_HEADER_LEN, 0, contentLen)
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0))
  let pos = 0
  for (const p of pieces) {
    out.set(p, pos)
    pos += p.length
  }
  return out
}
