/** Pure-TypeScript subtree hashing: the chaining value or top node of a whole BLAKE3 subtree. */
import { chunkCvWords, chunkOutput } from './chunk.ts'
import { CHUNK_LEN } from './constants.ts'
import { mergeParentWords, NodeOutput, parentOutputWords } from './output.ts'
import { viewWords } from './words.ts'

/** Number of chunks covering `len` bytes (the empty input is one empty chunk). */
export function countChunks(len: number): number {
  return len === 0 ? 1 : Math.ceil(len / CHUNK_LEN)
}

/** Number of set bits of a non-negative safe integer. */
export function popcount(n: number): number {
  let c = 0
  while (n > 0) {
    const lo = n % 0x1_0000_0000
    let x = lo - ((lo >>> 1) & 0x55555555)
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333)
    c += (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24
    n = Math.floor(n / 0x1_0000_0000)
  }
  return c
}

interface CvStack {
  stack: Uint32Array
  size: number
}

/**
 * Hashes chunks 0…n−2 of `bytes` (n = countChunks) onto a lazily merged CV stack, as BLAKE3's
 * reference hasher does: before pushing chunk j, merge down to popcount(j) entries. The last chunk
 * is left to the caller.
 */
function pushLeadingChunks(
  bytes: Uint8Array,
  chunkCounter: number,
  key: Uint32Array,
  flags: number,
): CvStack {
  const n = countChunks(bytes.length)
  const stack = new Uint32Array(8 * 64)
  const cv = new Uint32Array(8)
  const block = new Uint32Array(16)
  const words = viewWords(bytes)
  let size = 0
  for (let j = 0; j < n - 1; j++) {
    for (const keep = popcount(j); size > keep; size--) mergeParentWords(stack, (size - 2) * 8, key, flags)
    chunkCvWords(
      bytes,
      words,
      j * CHUNK_LEN,
      CHUNK_LEN,
      chunkCounter + j,
      key,
      flags,
      cv,
      block,
      stack,
      size * 8,
    )
    size++
  }
  if (n > 1)
    for (const keep = popcount(n - 1); size > keep; size--)
      mergeParentWords(stack, (size - 2) * 8, key, flags)
  return { stack, size }
}

/** Writes the non-root chaining value of the subtree `bytes` (first chunk `chunkCounter`) to `out[outOff..+8]`. */
export function subtreeCvWords(
  bytes: Uint8Array,
  chunkCounter: number,
  key: Uint32Array,
  flags: number,
  out: Uint32Array,
  outOff: number,
): void {
  const n = countChunks(bytes.length)
  const { stack, size: pushed } = pushLeadingChunks(bytes, chunkCounter, key, flags)
  let size = pushed
  const lastPos = (n - 1) * CHUNK_LEN
  chunkCvWords(
    bytes,
    viewWords(bytes),
    lastPos,
    bytes.length - lastPos,
    chunkCounter + n - 1,
    key,
    flags,
    new Uint32Array(8),
    new Uint32Array(16),
    stack,
    size * 8,
  )
  size++
  for (; size > 1; size--) mergeParentWords(stack, (size - 2) * 8, key, flags)
  out.set(stack.subarray(0, 8), outOff)
}

/** The un-finalised top node of the subtree `bytes` (first chunk `chunkCounter`): a chunk or a parent. */
export function subtreeOutput(
  bytes: Uint8Array,
  chunkCounter: number,
  key: Uint32Array,
  flags: number,
): NodeOutput {
  const n = countChunks(bytes.length)
  const { stack, size: pushed } = pushLeadingChunks(bytes, chunkCounter, key, flags)
  let size = pushed
  const lastPos = (n - 1) * CHUNK_LEN
  const last = chunkOutput(bytes, lastPos, bytes.length - lastPos, chunkCounter + n - 1, key, flags)
  if (size === 0) return last
  last.toCvWords(stack, size * 8)
  size++
  for (; size > 2; size--) mergeParentWords(stack, (size - 2) * 8, key, flags)
  return parentOutputWords(stack, 0, stack, 8, key, flags)
}
