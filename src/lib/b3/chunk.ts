/** Chunk (leaf) hashing: the chaining value or the un-finalised output of one ≤ 1024-byte chunk. */
import { compress } from './compress.ts'
import { BLOCK_LEN, CHUNK_END, CHUNK_START } from './constants.ts'
import { NodeOutput } from './output.ts'
import { loadBlockWords } from './words.ts'

const TWO_32 = 0x1_0000_0000

/**
 * Compresses every block of the chunk `bytes[pos..pos+len]` (len 0…1024) except the last, chaining
 * through `cv` (8 words, starts as the key). `words`, when given, is a little-endian word view of
 * `bytes` (see viewWords) and `pos` is then a multiple of 4. Leaves the last block's words in `block`
 * and returns its length.
 */
function compressLeadingBlocks(
  bytes: Uint8Array,
  words: Uint32Array | undefined,
  pos: number,
  len: number,
  lo: number,
  hi: number,
  flags: number,
  cv: Uint32Array,
  block: Uint32Array,
): number {
  const blocks = len === 0 ? 1 : Math.ceil(len / BLOCK_LEN)
  let start = CHUNK_START
  for (let b = 0; b < blocks - 1; b++) {
    const p = pos + b * BLOCK_LEN
    if (words !== undefined) compress(cv, 0, words, p >>> 2, lo, hi, BLOCK_LEN, flags | start, cv, 0, false)
    else {
      loadBlockWords(bytes, p, BLOCK_LEN, block, 0)
      compress(cv, 0, block, 0, lo, hi, BLOCK_LEN, flags | start, cv, 0, false)
    }
    start = 0
  }
  const lastLen = len - (blocks - 1) * BLOCK_LEN
  loadBlockWords(bytes, pos + (blocks - 1) * BLOCK_LEN, lastLen, block, 0)
  return lastLen
}

/**
 * Writes the non-root chaining value of the chunk `bytes[pos..pos+len]` at chunk index `counter` to
 * `out[outOff..+8]`. `cv` and `block` are scratch (8 and 16 words); `words` as in compressLeadingBlocks.
 */
export function chunkCvWords(
  bytes: Uint8Array,
  words: Uint32Array | undefined,
  pos: number,
  len: number,
  counter: number,
  key: Uint32Array,
  flags: number,
  cv: Uint32Array,
  block: Uint32Array,
  out: Uint32Array,
  outOff: number,
): void {
  const lo = counter >>> 0
  const hi = Math.floor(counter / TWO_32)
  cv.set(key.subarray(0, 8))
  const lastLen = compressLeadingBlocks(bytes, words, pos, len, lo, hi, flags, cv, block)
  const start = len <= BLOCK_LEN ? CHUNK_START : 0
  compress(cv, 0, block, 0, lo, hi, lastLen, flags | start | CHUNK_END, out, outOff, false)
}

/** The un-finalised output of the chunk `bytes[pos..pos+len]` at chunk index `counter`. */
export function chunkOutput(
  bytes: Uint8Array,
  pos: number,
  len: number,
  counter: number,
  key: Uint32Array,
  flags: number,
): NodeOutput {
  const cv = key.slice(0, 8)
  const block = new Uint32Array(16)
  const lastLen = compressLeadingBlocks(
    bytes,
    undefined,
    pos,
    len,
    counter >>> 0,
    Math.floor(counter / TWO_32),
    flags,
    cv,
    block,
  )
  const start = len <= BLOCK_LEN ? CHUNK_START : 0
  return new NodeOutput(cv, block, counter, lastLen, flags | start | CHUNK_END)
}
