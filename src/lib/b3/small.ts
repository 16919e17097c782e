/**
 * The one-chunk fast path: BLAKE3 of an input of at most one chunk (1024 bytes) with at most 64 output
 * bytes, which is a chain of ≤ 16 compressions whose last is ROOT-finalised. No hasher object, no
 * engine dispatch, no NodeOutput: the word buffers below are reused by every call (a call never
 * re-enters, and each worker thread has its own module instance). Only the returned bytes are new.
 * The state root (64-byte node hashes) and transaction digests are hashed here.
 */
import { compress } from './compress.ts'
import { BLOCK_LEN, CHUNK_END, CHUNK_LEN, CHUNK_START, ROOT } from './constants.ts'
import { loadBlockWords, loadCvWords } from './words.ts'

/** Longest input of the fast path. */
export const SMALL_MAX_INPUT = CHUNK_LEN
/** Longest output of the fast path (one ROOT compression's extended output). */
export const SMALL_MAX_OUTPUT = BLOCK_LEN

const cvWords = new Uint32Array(8)
const blockWords = new Uint32Array(16)
const outWords = new Uint32Array(16)
const keyWords = new Uint32Array(8)

/**
 * `outLen` (≤ 64) bytes of BLAKE3 output of `input` (≤ 1024 bytes) in the mode (`key` words, `flags`).
 * The caller has checked the arguments.
 */
export function hashOneChunk(input: Uint8Array, key: Uint32Array, flags: number, outLen: number): Uint8Array {
  const len = input.length
  const last = len === 0 ? 0 : (len - 1) >>> 6
  let cv = key
  let start = CHUNK_START
  for (let b = 0; b < last; b++) {
    loadBlockWords(input, b * BLOCK_LEN, BLOCK_LEN, blockWords, 0)
    compress(cv, 0, blockWords, 0, 0, 0, BLOCK_LEN, flags | start, cvWords, 0, false)
    cv = cvWords
    start = 0
  }
  const lastLen = len - last * BLOCK_LEN
  loadBlockWords(input, last * BLOCK_LEN, lastLen, blockWords, 0)
  const lastFlags = flags | start | CHUNK_END | ROOT
  compress(cv, 0, blockWords, 0, 0, 0, lastLen, lastFlags, outWords, 0, outLen > 32)
  const out = new Uint8Array(outLen)
  const whole = outLen >>> 2
  for (let i = 0; i < whole; i++) {
    const w = outWords[i]
    const p = 4 * i
    out[p] = w
    out[p + 1] = w >>> 8
    out[p + 2] = w >>> 16
    out[p + 3] = w >>> 24
  }
  for (let p = 4 * whole; p < outLen; p++) out[p] = outWords[p >>> 2] >>> (8 * (p & 3))
  return out
}

/** As hashOneChunk, in keyed-hash mode under the 32-byte `key` (checked by the caller). */
export function keyedHashOneChunk(
  key: Uint8Array,
  input: Uint8Array,
  flags: number,
  outLen: number,
): Uint8Array {
  loadCvWords(key, 0, keyWords, 0)
  return hashOneChunk(input, keyWords, flags, outLen)
}
