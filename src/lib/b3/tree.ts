/**
 * Block trees (DESIGN §3.1): content split into blocks of 2^k chunks (k = 0…8; the network uses k = 8,
 * 256 KiB); block i is a BLAKE3 subtree at chunk counter i·2^k; the tree is the array of 2n−1 32-byte
 * nodes in post-order (leaf i at index 2i − popcount(i)); its last node is the root, the BLAKE3 hash.
 */
import type { B3Backend } from './backend.ts'
import { FleekError } from '../errors.ts'
import { CHUNK_LEN, IV } from './constants.ts'
import { getEngine } from './engine.ts'
import { checkBytes } from './mode.ts'
import { parentOutput } from './output.ts'
import { popcount } from './subtree.ts'
import { toHex } from './hex.ts'

/** log2 of the chunks per block the network uses: 256 chunks = 256 KiB. */
export const NETWORK_BLOCK_LOG2 = 8
/** Largest supported block: 2^8 chunks. */
export const MAX_BLOCK_LOG2 = 8

/** Checks k and returns the block size in bytes. */
export function blockSizeBytes(log2ChunksPerBlock: number): number {
  if (!Number.isInteger(log2ChunksPerBlock) || log2ChunksPerBlock < 0 || log2ChunksPerBlock > MAX_BLOCK_LOG2)
    throw new FleekError(
      'INVALID_INPUT',
      `block size must be 2^k chunks with k in 0…8, got k = ${log2ChunksPerBlock}`,
    )
  return CHUNK_LEN << log2ChunksPerBlock
}

/** Number of blocks of `contentLength` bytes (the empty content is one empty block). */
export function countBlocks(contentLength: number, log2ChunksPerBlock = NETWORK_BLOCK_LOG2): number {
  const size = blockSizeBytes(log2ChunksPerBlock)
  return contentLength === 0 ? 1 : Math.ceil(contentLength / size)
}

/** Post-order index of leaf (block) `i`: 2i − popcount(i). */
export function leafIndex(i: number): number {
  return 2 * i - popcount(i)
}

/** Post-order index of the node covering the `count` blocks starting at block `first` (a tree node). */
export function subtreeRootIndex(first: number, count: number): number {
  return leafIndex(first) + 2 * count - 2
}

/** Blocks in the left subtree of a node over `count` ≥ 2 blocks: the largest power of two below `count`. */
export function leftBlocks(count: number): number {
  let p = 1
  while (p * 2 < count) p *= 2
  return p
}

/** A block tree: `nodes` holds 2n−1 32-byte hashes in post-order. Immutable by convention. */
export class BlockTree {
  readonly log2ChunksPerBlock: number
  readonly blockCount: number
  readonly nodes: Uint8Array

  constructor(nodes: Uint8Array, log2ChunksPerBlock = NETWORK_BLOCK_LOG2) {
    checkBytes(nodes, 'tree nodes')
    blockSizeBytes(log2ChunksPerBlock)
    const count = nodes.length / 32
    if (!Number.isInteger(count) || count % 2 !== 1)
      throw new FleekError(
        'INVALID_INPUT',
        `a block tree is an odd number of 32-byte nodes, got ${nodes.length} bytes`,
      )
    this.nodes = nodes
    this.log2ChunksPerBlock = log2ChunksPerBlock
    this.blockCount = (count + 1) / 2
  }

  /** Number of nodes (2n − 1). */
  get nodeCount(): number {
    return 2 * this.blockCount - 1
  }

  /** The node at post-order index `index` (a view, 32 bytes). */
  node(index: number): Uint8Array {
    if (!Number.isInteger(index) || index < 0 || index >= this.nodeCount)
      throw new FleekError('INVALID_INPUT', `tree node ${index} out of range (0…${this.nodeCount - 1})`)
    return this.nodes.subarray(index * 32, index * 32 + 32)
  }

  /** The root: the BLAKE3 hash of the content. */
  get root(): Uint8Array {
    return this.node(this.nodeCount - 1)
  }

  /** The hash of block `i` (its non-root chaining value, or the root for a single-block content). */
  blockHash(i: number): Uint8Array {
    if (!Number.isInteger(i) || i < 0 || i >= this.blockCount)
      throw new FleekError('INVALID_INPUT', `block ${i} out of range (0…${this.blockCount - 1})`)
    return this.node(leafIndex(i))
  }

  /** The nodes as hex strings (post-order). */
  toHexArray(): string[] {
    return Array.from({ length: this.nodeCount }, (_, i) => toHex(this.node(i)))
  }
}

/**
 * Builds a block tree incrementally from bytes fed in any slicing. Holds at most one block in memory
 * (the last one must wait: only the end of the content tells whether it is the root).
 */
export class TreeBuilder {
  readonly #log2: number
  readonly #blockSize: number
  readonly #engine: B3Backend
  readonly #pending: Uint8Array
  #pendingLen = 0
  #blocks = 0
  #length = 0
  /** Post-order nodes so far, grown by doubling. */
  #nodes = new Uint8Array(32 * 64)
  #nodeCount = 0
  /** CVs of the completed subtrees on the right edge, with their sizes in blocks. */
  readonly #stack: Uint8Array[] = []
  readonly #stackBlocks: number[] = []
  #finished = false

  constructor(log2ChunksPerBlock = NETWORK_BLOCK_LOG2, engine: B3Backend = getEngine()) {
    this.#blockSize = blockSizeBytes(log2ChunksPerBlock)
    this.#log2 = log2ChunksPerBlock
    this.#engine = engine
    this.#pending = new Uint8Array(this.#blockSize)
  }

  /** Content bytes fed so far. */
  get length(): number {
    return this.#length
  }

  #appendNode(hash: Uint8Array): void {
    if ((this.#nodeCount + 1) * 32 > this.#nodes.length) {
      const grown = new Uint8Array(this.#nodes.length * 2)
      grown.set(this.#nodes)
      this.#nodes = grown
    }
    this.#nodes.set(hash, this.#nodeCount * 32)
    this.#nodeCount++
  }

  /** Adds a block known not to be the last: its leaf and the parents it completes. */
  #addInnerBlock(block: Uint8Array): void {
    const cv = this.#engine.subtreeCv(
      block,
      this.#blocks * 2 ** this.#log2,
      IV,
      0,
      false,
      new Uint8Array(32),
      0,
    )
    this.#appendNode(cv)
    this.#stack.push(cv)
    this.#stackBlocks.push(1)
    this.#blocks++
    while (this.#stack.length >= 2 && this.#stackBlocks.at(-1) === this.#stackBlocks.at(-2)) {
      const right = this.#stack.pop() as Uint8Array
      const left = this.#stack.pop() as Uint8Array
      const blocks = (this.#stackBlocks.pop() as number) * 2
      this.#stackBlocks.pop()
      const parent = parentOutput(left, right, IV, 0).toCv()
      this.#appendNode(parent)
      this.#stack.push(parent)
      this.#stackBlocks.push(blocks)
    }
  }

  /** Feeds content bytes (not retained, not modified). */
  update(bytes: Uint8Array): this {
    checkBytes(bytes, 'content')
    if (this.#finished) throw new FleekError('INVALID_INPUT', 'TreeBuilder: update after finish')
    const size = this.#blockSize
    let pos = 0
    while (pos < bytes.length) {
      if (this.#pendingLen === size) {
        this.#addInnerBlock(this.#pending)
        this.#pendingLen = 0
      }
      if (this.#pendingLen === 0 && bytes.length - pos > size) {
        this.#addInnerBlock(bytes.subarray(pos, pos + size))
        pos += size
        continue
      }
      const take = Math.min(size - this.#pendingLen, bytes.length - pos)
      this.#pending.set(bytes.subarray(pos, pos + take), this.#pendingLen)
      this.#pendingLen += take
      pos += take
    }
    this.#length += bytes.length
    return this
  }

  /** Ends the content and returns its tree (the builder cannot be fed afterwards). */
  finish(): BlockTree {
    if (this.#finished) throw new FleekError('INVALID_INPUT', 'TreeBuilder: finish called twice')
    this.#finished = true
    const last = this.#pending.subarray(0, this.#pendingLen)
    if (this.#blocks === 0) {
      const root = this.#engine.subtreeCv(last, 0, IV, 0, true, new Uint8Array(32), 0)
      return new BlockTree(root, this.#log2)
    }
    let cv = this.#engine.subtreeCv(last, this.#blocks * 2 ** this.#log2, IV, 0, false, new Uint8Array(32), 0)
    this.#appendNode(cv)
    this.#blocks++
    while (this.#stack.length > 0) {
      const left = this.#stack.pop() as Uint8Array
      const node = parentOutput(left, cv, IV, 0)
      cv = this.#stack.length === 0 ? node.toRootBytes(32) : node.toCv()
      this.#appendNode(cv)
    }
    return new BlockTree(this.#nodes.slice(0, this.#nodeCount * 32), this.#log2)
  }
}

/** The block tree of `content` with blocks of 2^k chunks (default 256 KiB). */
export function buildTree(
  content: Uint8Array,
  log2ChunksPerBlock = NETWORK_BLOCK_LOG2,
  engine?: B3Backend,
): BlockTree {
  return new TreeBuilder(log2ChunksPerBlock, engine).update(content).finish()
}

/**
 * Rebuilds the whole tree from its leaves (the block hashes, e.g. collected by a verifier): n − 1
 * parent merges, no content needed. A single leaf is the root itself.
 */
export function treeFromBlockHashes(
  blockHashes: readonly Uint8Array[],
  log2ChunksPerBlock = NETWORK_BLOCK_LOG2,
): BlockTree {
  const n = blockHashes.length
  if (n === 0) throw new FleekError('INVALID_INPUT', 'a block tree has at least one block')
  for (const h of blockHashes) {
    checkBytes(h, 'block hash')
    if (h.length !== 32) throw new FleekError('INVALID_INPUT', 'a block hash is 32 bytes')
  }
  const nodes = new Uint8Array((2 * n - 1) * 32)
  const fill = (first: number, count: number, isRoot: boolean): Uint8Array => {
    const at = subtreeRootIndex(first, count) * 32
    if (count === 1) nodes.set(blockHashes[first], at)
    else {
      const l = leftBlocks(count)
      const node = parentOutput(fill(first, l, false), fill(first + l, count - l, false), IV, 0)
      nodes.set(isRoot ? node.toRootBytes(32) : node.toCv(), at)
    }
    return nodes.subarray(at, at + 32)
  }
  fill(0, n, true)
  return new BlockTree(nodes, log2ChunksPerBlock)
}
