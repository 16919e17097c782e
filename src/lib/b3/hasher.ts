/** The streaming BLAKE3 hasher: feed bytes in any slicing, read any number of output bytes. */
import type { B3Backend } from './backend.ts'
import { chunkCvWords, chunkOutput } from './chunk.ts'
import { CHUNK_LEN } from './constants.ts'
import { checkBytes, checkOutLen, type HashMode } from './mode.ts'
import { mergeParentWords, type NodeOutput, parentOutputWords } from './output.ts'
import { popcount } from './subtree.ts'
import { loadCvWords } from './words.ts'

/** Below this many whole chunks, an aligned run of input is hashed chunk by chunk rather than by the engine. */
const ENGINE_MIN_CHUNKS = 4

/**
 * An incremental BLAKE3 hasher (the reference's lazily merged CV stack). Whole power-of-two subtrees
 * of large updates go to the engine; the last chunk is always kept, so `digest` can ROOT-finalise it.
 * `digest` does not end the hasher: more `update`s may follow.
 */
export class Blake3Hasher {
  readonly #mode: HashMode
  readonly #engine: B3Backend
  readonly #chunk = new Uint8Array(CHUNK_LEN)
  #chunkLen = 0
  /** Index of the chunk being filled. */
  #chunkCounter = 0
  readonly #stack = new Uint32Array(8 * 64)
  #stackSize = 0
  readonly #cv = new Uint32Array(8)
  readonly #block = new Uint32Array(16)
  readonly #cvBytes = new Uint8Array(32)

  constructor(mode: HashMode, engine: B3Backend) {
    this.#mode = mode
    this.#engine = engine
  }

  /** Total bytes fed so far. */
  get length(): number {
    return this.#chunkCounter * CHUNK_LEN + this.#chunkLen
  }

  #mergeTo(keep: number): void {
    const { key, flags } = this.#mode
    for (; this.#stackSize > keep; this.#stackSize--)
      mergeParentWords(this.#stack, (this.#stackSize - 2) * 8, key, flags)
  }

  /** Pushes the CV in `#cv` of the subtree starting at chunk `counter`. */
  #pushCv(counter: number): void {
    this.#mergeTo(popcount(counter))
    this.#stack.set(this.#cv, this.#stackSize * 8)
    this.#stackSize++
  }

  #pushEngineCv(input: Uint8Array, counter: number): void {
    const { key, flags } = this.#mode
    this.#engine.subtreeCv(input, counter, key, flags, false, this.#cvBytes, 0)
    loadCvWords(this.#cvBytes, 0, this.#cv, 0)
    this.#pushCv(counter)
  }

  /** Feeds `input` (not retained, not modified). */
  update(input: Uint8Array): this {
    checkBytes(input, 'input')
    const { key, flags } = this.#mode
    let pos = 0
    while (pos < input.length) {
      if (this.#chunkLen === CHUNK_LEN) {
        chunkCvWords(
          this.#chunk,
          undefined,
          0,
          CHUNK_LEN,
          this.#chunkCounter,
          key,
          flags,
          this.#cv,
          this.#block,
          this.#cv,
          0,
        )
        this.#pushCv(this.#chunkCounter)
        this.#chunkCounter++
        this.#chunkLen = 0
      }
      const remaining = input.length - pos
      if (this.#chunkLen === 0 && remaining > CHUNK_LEN) {
        // A whole subtree aligned to the counter, never the last bytes of the input seen so far.
        let chunks = 1
        while (chunks * 2 * CHUNK_LEN <= remaining) chunks *= 2
        while (this.#chunkCounter % chunks !== 0) chunks /= 2
        if (chunks < ENGINE_MIN_CHUNKS) {
          chunks = 1
          chunkCvWords(
            input,
            undefined,
            pos,
            CHUNK_LEN,
            this.#chunkCounter,
            key,
            flags,
            this.#cv,
            this.#block,
            this.#cv,
            0,
          )
          this.#pushCv(this.#chunkCounter)
        } else {
          // Push both halves, so that a subtree covering everything can still become the root.
          const half = (chunks / 2) * CHUNK_LEN
          this.#pushEngineCv(input.subarray(pos, pos + half), this.#chunkCounter)
          this.#pushEngineCv(input.subarray(pos + half, pos + 2 * half), this.#chunkCounter + chunks / 2)
        }
        this.#chunkCounter += chunks
        pos += chunks * CHUNK_LEN
        continue
      }
      const take = Math.min(CHUNK_LEN - this.#chunkLen, remaining)
      this.#chunk.set(input.subarray(pos, pos + take), this.#chunkLen)
      this.#chunkLen += take
      pos += take
    }
    return this
  }

  /** The un-finalised root node of everything fed so far. */
  rootNode(): NodeOutput {
    const { key, flags } = this.#mode
    if (this.#stackSize === 0)
      return chunkOutput(this.#chunk, 0, this.#chunkLen, this.#chunkCounter, key, flags)
    const stack = new Uint32Array((this.#stackSize + 1) * 8)
    stack.set(this.#stack.subarray(0, this.#stackSize * 8))
    let size = this.#stackSize
    const merge = (keep: number): void => {
      for (; size > keep; size--) mergeParentWords(stack, (size - 2) * 8, key, flags)
    }
    if (this.#chunkLen > 0) {
      merge(popcount(this.#chunkCounter))
      chunkOutput(this.#chunk, 0, this.#chunkLen, this.#chunkCounter, key, flags).toCvWords(stack, size * 8)
      size++
    }
    merge(2)
    return parentOutputWords(stack, 0, stack, 8, key, flags)
  }

  /** `outLen` (default 32) bytes of output for everything fed so far. */
  digest(outLen = 32): Uint8Array {
    checkOutLen(outLen)
    return this.rootNode().toRootBytes(outLen)
  }
}
