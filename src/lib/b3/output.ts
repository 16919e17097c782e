/** The top node of a BLAKE3 (sub)tree, kept un-compressed so it can be finalised as a CV or as the root. */
import { compress } from './compress.ts'
import { BLOCK_LEN, PARENT, ROOT } from './constants.ts'
import { loadCvWords, storeWords } from './words.ts'

const TWO_32 = 0x1_0000_0000

/**
 * The inputs of a node's compression: the input chaining value, the 16 message words, the counter,
 * the block length and the flags. `toCv` gives the node's (non-root) chaining value; `toRootBytes`
 * ROOT-finalises it into any number of output bytes (BLAKE3's extended output).
 */
export class NodeOutput {
  readonly cv: Uint32Array
  readonly block: Uint32Array
  readonly counter: number
  readonly blockLen: number
  readonly flags: number

  constructor(cv: Uint32Array, block: Uint32Array, counter: number, blockLen: number, flags: number) {
    this.cv = cv
    this.block = block
    this.counter = counter
    this.blockLen = blockLen
    this.flags = flags
  }

  /** Writes the node's non-root chaining value (8 words) to `out[outOff..]`. */
  toCvWords(out: Uint32Array, outOff: number): void {
    const c = this.counter
    compress(
      this.cv,
      0,
      this.block,
      0,
      c >>> 0,
      Math.floor(c / TWO_32),
      this.blockLen,
      this.flags,
      out,
      outOff,
      false,
    )
  }

  /** The node's non-root chaining value as 32 bytes. */
  toCv(): Uint8Array {
    const w = new Uint32Array(8)
    this.toCvWords(w, 0)
    const out = new Uint8Array(32)
    storeWords(w, 0, 8, out, 0)
    return out
  }

  /** ROOT-finalises the node: `outLen` bytes of output starting at output byte `seek` (a multiple of 64 is fastest). */
  toRootBytes(outLen: number, seek = 0): Uint8Array {
    const out = new Uint8Array(outLen)
    const words = new Uint32Array(16)
    const bytes = new Uint8Array(BLOCK_LEN)
    let blockIndex = Math.floor(seek / BLOCK_LEN)
    let skip = seek - blockIndex * BLOCK_LEN
    let pos = 0
    while (pos < outLen) {
      compress(
        this.cv,
        0,
        this.block,
        0,
        blockIndex >>> 0,
        Math.floor(blockIndex / TWO_32),
        this.blockLen,
        this.flags | ROOT,
        words,
        0,
        true,
      )
      storeWords(words, 0, 16, bytes, 0)
      const take = Math.min(BLOCK_LEN - skip, outLen - pos)
      out.set(skip === 0 && take === BLOCK_LEN ? bytes : bytes.subarray(skip, skip + take), pos)
      pos += take
      skip = 0
      blockIndex++
    }
    return out
  }
}

/** The (un-finalised) parent node over two 8-word chaining values. */
export function parentOutputWords(
  left: Uint32Array,
  leftOff: number,
  right: Uint32Array,
  rightOff: number,
  key: Uint32Array,
  flags: number,
): NodeOutput {
  const block = new Uint32Array(16)
  block.set(left.subarray(leftOff, leftOff + 8), 0)
  block.set(right.subarray(rightOff, rightOff + 8), 8)
  return new NodeOutput(key.slice(0, 8), block, 0, BLOCK_LEN, flags | PARENT)
}

/** The (un-finalised) parent node over two 32-byte chaining values. */
export function parentOutput(
  left: Uint8Array,
  right: Uint8Array,
  key: Uint32Array,
  flags: number,
): NodeOutput {
  const block = new Uint32Array(16)
  loadCvWords(left, 0, block, 0)
  loadCvWords(right, 0, block, 8)
  return new NodeOutput(key.slice(0, 8), block, 0, BLOCK_LEN, flags | PARENT)
}

/**
 * Parent merge in place on a CV stack: reads the CVs at `stack[leftOff..+8]` and `stack[leftOff+8..+8]`
 * (adjacent) and writes the parent's non-root CV to `stack[leftOff..+8]`.
 */
export function mergeParentWords(stack: Uint32Array, leftOff: number, key: Uint32Array, flags: number): void {
  compress(key, 0, stack, leftOff, 0, 0, BLOCK_LEN, flags | PARENT, stack, leftOff, false)
}
