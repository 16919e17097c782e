/** The root node of a whole input, with the two top subtrees hashed by an engine (fast for big inputs). */
import type { B3Backend } from './backend.ts'
import { CHUNK_LEN } from './constants.ts'
import { NodeOutput, parentOutput } from './output.ts'
import { countChunks, subtreeOutput } from './subtree.ts'

/** Inputs up to this size are hashed in TypeScript directly (an engine call does not pay off). */
export const SMALL_INPUT_BYTES = 8 * CHUNK_LEN

/** Largest power of two strictly below `n` (n ≥ 2): the chunk count of a BLAKE3 left subtree. */
export function leftSubtreeChunks(n: number): number {
  let p = 1
  while (p * 2 < n) p *= 2
  return p
}

/**
 * The un-finalised root node of the whole `input` in the mode (`key`, `flags`): the chunk itself for
 * ≤ 1 chunk, else the parent of the left (power-of-two) and right subtrees, whose CVs `engine` computes.
 */
export function rootOutput(
  input: Uint8Array,
  key: Uint32Array,
  flags: number,
  engine: B3Backend,
): NodeOutput {
  if (input.length <= SMALL_INPUT_BYTES) return subtreeOutput(input, 0, key, flags)
  const leftBytes = leftSubtreeChunks(countChunks(input.length)) * CHUNK_LEN
  const left = engine.subtreeCv(input.subarray(0, leftBytes), 0, key, flags, false, new Uint8Array(32), 0)
  const right = engine.subtreeCv(
    input.subarray(leftBytes),
    leftBytes / CHUNK_LEN,
    key,
    flags,
    false,
    new Uint8Array(32),
    0,
  )
  return parentOutput(left, right, key, flags)
}
