/** The pure-TypeScript BLAKE3 engine: the fallback where WebAssembly SIMD is unavailable. */
import type { B3Backend } from './backend.ts'
import { FleekError } from '../errors.ts'
import { subtreeCvWords, subtreeOutput } from './subtree.ts'
import { storeWords } from './words.ts'

/** Checks the arguments every engine shares (see B3Backend.subtreeCv). */
export function checkSubtreeArgs(
  input: Uint8Array,
  chunkCounter: number,
  key: Uint32Array,
  root: boolean,
  out: Uint8Array,
  outOffset: number,
): void {
  if (!(input instanceof Uint8Array))
    throw new FleekError('INVALID_INPUT', 'subtreeCv: input must be a Uint8Array')
  if (!Number.isSafeInteger(chunkCounter) || chunkCounter < 0)
    throw new FleekError(
      'INVALID_INPUT',
      `subtreeCv: chunk counter must be a non-negative integer, got ${chunkCounter}`,
    )
  if (!(key instanceof Uint32Array) || key.length !== 8)
    throw new FleekError('INVALID_INPUT', 'subtreeCv: key must be 8 words (Uint32Array)')
  if (root && chunkCounter !== 0)
    throw new FleekError('INVALID_INPUT', 'subtreeCv: a root node starts at chunk 0')
  if (!root && input.length === 0)
    throw new FleekError('INVALID_INPUT', 'subtreeCv: the empty input is valid only as the root')
  if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + 32 > out.length)
    throw new FleekError('INVALID_INPUT', 'subtreeCv: out has no room for 32 bytes at outOffset')
}

export const tsBackend: B3Backend = {
  name: 'ts',
  subtreeCv(input, chunkCounter, key, flags, root, out, outOffset) {
    checkSubtreeArgs(input, chunkCounter, key, root, out, outOffset)
    if (root) {
      out.set(subtreeOutput(input, 0, key, flags).toRootBytes(32), outOffset)
    } else {
      const words = new Uint32Array(8)
      subtreeCvWords(input, chunkCounter, key, flags, words, 0)
      storeWords(words, 0, 8, out, outOffset)
    }
    return out
  },
}
