/** BLAKE3's three modes as (key words, flags) pairs. */
import { FleekError } from '../errors.ts'
import { DERIVE_KEY_CONTEXT, DERIVE_KEY_MATERIAL, IV, KEYED_HASH, KEY_LEN } from './constants.ts'
import { subtreeOutput } from './subtree.ts'
import { loadCvWords } from './words.ts'

/** A hashing mode: the 8 key words and the mode flag. Treat as immutable. */
export interface HashMode {
  readonly key: Uint32Array
  readonly flags: number
}

/** The plain hash mode (key = IV, no flag). */
export const HASH_MODE: HashMode = { key: IV, flags: 0 }

/** Checks a byte-array argument. */
export function checkBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new FleekError('INVALID_INPUT', `${what} must be a Uint8Array`)
}

/** Checks an output length (a non-negative safe integer). */
export function checkOutLen(outLen: unknown): asserts outLen is number {
  if (typeof outLen !== 'number' || !Number.isSafeInteger(outLen) || outLen < 0)
    throw new FleekError(
      'INVALID_INPUT',
      `output length must be a non-negative integer, got ${String(outLen)}`,
    )
}

/** Checks a keyed-hash key (32 bytes). */
export function checkKey(key: unknown): asserts key is Uint8Array {
  checkBytes(key, 'key')
  if (key.length !== KEY_LEN)
    throw new FleekError('INVALID_INPUT', `a BLAKE3 key is 32 bytes, got ${key.length}`)
}

/** The keyed-hash mode for a 32-byte key. */
export function keyedMode(key: Uint8Array): HashMode {
  checkKey(key)
  const words = new Uint32Array(8)
  loadCvWords(key, 0, words, 0)
  return { key: words, flags: KEYED_HASH }
}

/** Contexts are hard-coded strings, so few: their modes are kept (cleared if a caller makes many). */
const MAX_CACHED_CONTEXTS = 256
const contextModes = new Map<string, HashMode>()

/**
 * The derive-key mode for a context string: key = hash of the UTF-8 context in DERIVE_KEY_CONTEXT mode.
 * Computed once per context and shared: treat the returned mode as immutable.
 */
export function deriveKeyMode(context: string): HashMode {
  if (typeof context !== 'string')
    throw new FleekError('INVALID_INPUT', 'derive-key context must be a string')
  let mode = contextModes.get(context)
  if (mode === undefined) {
    if (contextModes.size >= MAX_CACHED_CONTEXTS) contextModes.clear()
    mode = computeDeriveKeyMode(context)
    contextModes.set(context, mode)
  }
  return mode
}

function computeDeriveKeyMode(context: string): HashMode {
  const contextKey = subtreeOutput(new TextEncoder().encode(context), 0, IV, DERIVE_KEY_CONTEXT).toRootBytes(
    32,
  )
  const words = new Uint32Array(8)
  loadCvWords(contextKey, 0, words, 0)
  return { key: words, flags: DERIVE_KEY_MATERIAL }
}
