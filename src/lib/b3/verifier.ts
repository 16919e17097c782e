/**
 * The incremental verifier of a block stream (DESIGN §3.2): built from the root hash and a start block,
 * it consumes (proof, block) pairs in stream order and returns only bytes it has verified. It keeps a
 * stack of expected hashes (the root first); a proof expands the top one, a block must hash to it.
 * The content length is unknown until the last block is verified (the stack empties only then).
 */
import type { B3Backend } from './backend.ts'
import { FleekError } from '../errors.ts'
import { IV } from './constants.ts'
import { getEngine } from './engine.ts'
import { checkBytes } from './mode.ts'
import { parentOutput } from './output.ts'
import { decodeProof } from './proof.ts'
import { blockSizeBytes, NETWORK_BLOCK_LOG2 } from './tree.ts'

export interface BlockVerifierOptions {
  /** First block of the stream (default 0). */
  startBlock?: number
  /** log2 of chunks per block (default 8: 256 KiB). */
  log2ChunksPerBlock?: number
  engine?: B3Backend
}

function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = 0
  for (let i = 0; i < 32; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

export class BlockVerifier {
  readonly #blockSize: number
  readonly #log2: number
  readonly #engine: B3Backend
  /** Expected hashes, the next one last. */
  readonly #expected: Uint8Array[]
  /** True while the only expectation is the root (no proof consumed yet). */
  #atRoot = true
  #next: number
  readonly #startBlock: number
  #failed: FleekError | undefined
  #contentLength: number | undefined
  readonly #blockHashes: Uint8Array[] = []

  constructor(root: Uint8Array, options: BlockVerifierOptions = {}) {
    checkBytes(root, 'root hash')
    if (root.length !== 32)
      throw new FleekError('INVALID_INPUT', `a root hash is 32 bytes, got ${root.length}`)
    const start = options.startBlock ?? 0
    if (!Number.isSafeInteger(start) || start < 0)
      throw new FleekError('INVALID_INPUT', `start block must be a non-negative integer, got ${start}`)
    this.#log2 = options.log2ChunksPerBlock ?? NETWORK_BLOCK_LOG2
    this.#blockSize = blockSizeBytes(this.#log2)
    this.#engine = options.engine ?? getEngine()
    this.#expected = [root.slice()]
    this.#next = start
    this.#startBlock = start
  }

  /** Index of the next block expected. */
  get nextBlock(): number {
    return this.#next
  }

  /** True once the last block of the content is verified. */
  get done(): boolean {
    return this.#expected.length === 0
  }

  /** The content length, known only once the last block is verified (undefined before). */
  get contentLength(): number | undefined {
    return this.#contentLength
  }

  /**
   * The hashes of the verified blocks, in order from the start block (for a whole-content stream, the
   * leaves from which `treeFromBlockHashes` rebuilds the tree).
   */
  get blockHashes(): readonly Uint8Array[] {
    return this.#blockHashes
  }

  #fail(message: string, details: Record<string, unknown> = {}): never {
    this.#failed = new FleekError('INTEGRITY', message, { details: { block: this.#next, ...details } })
    throw this.#failed
  }

  #checkUsable(): void {
    if (this.#failed !== undefined) throw this.#failed
    if (this.done)
      throw new FleekError('INVALID_INPUT', 'the stream is complete: no more proofs or blocks expected')
  }

  /** Consumes the proof sent before the next block (an empty proof is a no-op). */
  feedProof(proof: Uint8Array): void {
    checkBytes(proof, 'proof')
    this.#checkUsable()
    if (proof.length === 0) return
    const what = `the proof before block ${this.#next}`
    let decoded
    try {
      decoded = decodeProof(proof, what)
    } catch (err) {
      this.#fail((err as Error).message)
    }
    const { hashes, isLeft } = decoded
    if (isLeft[0]) this.#fail(`${what} is malformed: its target hash is flagged as a left sibling`)
    let cv = hashes[0]
    for (let j = 1; j < hashes.length; j++) {
      const node = isLeft[j] ? parentOutput(hashes[j], cv, IV, 0) : parentOutput(cv, hashes[j], IV, 0)
      cv = this.#atRoot && j === hashes.length - 1 ? node.toRootBytes(32) : node.toCv()
    }
    if (!equalHashes(cv, this.#expected[this.#expected.length - 1]))
      this.#fail(`${what} does not match the ${this.#atRoot ? 'root hash' : 'expected tree node'}`)
    this.#expected.pop()
    for (let j = hashes.length - 1; j >= 0; j--) if (!isLeft[j]) this.#expected.push(hashes[j].slice())
    this.#atRoot = false
  }

  /** Verifies the next block against the expected hash; returns it (the same bytes) or throws INTEGRITY. */
  verifyBlock(block: Uint8Array): Uint8Array {
    checkBytes(block, 'block')
    this.#checkUsable()
    const index = this.#next
    const isRoot = this.#atRoot
    if (isRoot && index !== 0)
      this.#fail(`block ${index} arrived without the proof that a stream from it needs`)
    if (block.length > this.#blockSize || (block.length === 0 && !isRoot))
      this.#fail(`block ${index} has ${block.length} bytes (a block has 1…${this.#blockSize})`)
    const cv = this.#engine.subtreeCv(block, index * 2 ** this.#log2, IV, 0, isRoot, new Uint8Array(32), 0)
    if (!equalHashes(cv, this.#expected[this.#expected.length - 1]))
      this.#fail(`block ${index} does not match its hash: the content is corrupt`)
    this.#expected.pop()
    this.#atRoot = false
    this.#blockHashes.push(cv)
    this.#next++
    if (this.#expected.length === 0) this.#contentLength = index * this.#blockSize + block.length
    else if (block.length < this.#blockSize) this.#fail(`block ${index} is short but is not the last block`)
    return block
  }

  /** Consumes one (proof, block) pair; returns the verified block. */
  push(proof: Uint8Array, block: Uint8Array): Uint8Array {
    this.feedProof(proof)
    return this.verifyBlock(block)
  }

  /** The first block of this stream. */
  get startBlock(): number {
    return this.#startBlock
  }
}

/** A frame of a verified block stream. */
export interface BlockFrame {
  readonly proof: Uint8Array
  readonly block: Uint8Array
}

export interface VerifyStreamOptions extends BlockVerifierOptions {
  /** Stop after this block (exclusive); default: the end of the content. */
  endBlock?: number
}

/**
 * Verifies a stream of frames for blocks [startBlock, endBlock) (or to the end) and yields each block
 * once verified. Throws INTEGRITY when a frame fails, when frames follow the last block, or when the
 * stream ends early.
 */
export async function* verifyBlockStream(
  root: Uint8Array,
  frames: AsyncIterable<BlockFrame> | Iterable<BlockFrame>,
  options: VerifyStreamOptions = {},
): AsyncGenerator<Uint8Array> {
  const verifier = new BlockVerifier(root, options)
  const end = options.endBlock
  if (end !== undefined && (!Number.isSafeInteger(end) || end <= verifier.startBlock))
    throw new FleekError(
      'INVALID_INPUT',
      `end block ${end} must be after the start block ${verifier.startBlock}`,
    )
  for await (const frame of frames) {
    if (verifier.done || (end !== undefined && verifier.nextBlock >= end))
      throw new FleekError('INTEGRITY', `unexpected data after block ${verifier.nextBlock - 1}`, {
        details: { block: verifier.nextBlock },
      })
    yield verifier.push(frame.proof, frame.block)
  }
  const complete = end === undefined ? verifier.done : verifier.done || verifier.nextBlock >= end
  if (!complete)
    throw new FleekError('INTEGRITY', `the stream ended before block ${verifier.nextBlock}`, {
      details: { block: verifier.nextBlock },
    })
}
