/**
 * The blockstore's use of the b3 library: block chaining values, the tree of a stream of bytes, and
 * the check of a stored tree against its root. All hashing is src/lib/b3's; this file only arranges
 * the calls (block i is the subtree at chunk i·256, parents merged left-heavy, the top ROOT-finalised).
 */
import { getEngine, HASH_MODE } from '../../lib/b3/index.ts'
import { parentOutput } from '../../lib/b3/output.ts'
import { FleekError } from '../../lib/errors.ts'
import {
  BLOCK_BYTES,
  countBlocks,
  equalBytes,
  leafIndex,
  LOG2_CHUNKS_PER_BLOCK,
  type StoredTree,
  treeNode,
} from './tree-file.ts'

/** The chaining value of block `index` (the BLAKE3 hash itself when the blob is that one block). */
export function computeBlockCv(
  bytes: Uint8Array,
  index: number,
  onlyBlock: boolean,
  target: Uint8Array = new Uint8Array(32),
): Uint8Array {
  const { key, flags } = HASH_MODE
  const chunkCounter = index * 2 ** LOG2_CHUNKS_PER_BLOCK
  return getEngine().subtreeCv(bytes, chunkCounter, key, flags, onlyBlock, target, 0)
}

function mergeParent(left: Uint8Array, right: Uint8Array, root: boolean): Uint8Array {
  const node = parentOutput(left, right, HASH_MODE.key, HASH_MODE.flags)
  return root ? node.toRootBytes(32) : node.toCv()
}

/** Largest power of two strictly below n (n ≥ 2). */
function leftBlocks(n: number): number {
  let p = 1
  while (p * 2 < n) p *= 2
  return p
}

/**
 * Writes the post-order tree over `leaves` (32-byte CVs of blocks `first…first+count−1`) into `nodes`
 * starting at node `at`, and returns the top node (ROOT-finalised when `root`).
 */
function buildSubtree(
  leaves: Uint8Array[],
  first: number,
  count: number,
  nodes: Uint8Array,
  at: number,
  root: boolean,
): Uint8Array {
  if (count === 1) {
    nodes.set(leaves[first], at * 32)
    return leaves[first]
  }
  const l = leftBlocks(count)
  const left = buildSubtree(leaves, first, l, nodes, at, false)
  const right = buildSubtree(leaves, first + l, count - l, nodes, at + 2 * l - 1, false)
  const top = mergeParent(left, right, root)
  nodes.set(top, (at + 2 * count - 2) * 32)
  return top
}

/**
 * Builds a blob's block tree from bytes fed in any slicing, keeping one block in memory. The last
 * block is hashed only at `finish` (a single-block blob's block CV is the root hash).
 */
export class BlockTreeBuilder {
  readonly #pending = new Uint8Array(BLOCK_BYTES)
  #pendingLen = 0
  readonly #leaves: Uint8Array[] = []
  #sizeBytes = 0
  #finished = false

  get sizeBytes(): number {
    return this.#sizeBytes
  }

  update(bytes: Uint8Array): void {
    if (this.#finished) throw new FleekError('INTERNAL', 'BlockTreeBuilder: update after finish')
    let pos = 0
    while (pos < bytes.length) {
      if (this.#pendingLen === BLOCK_BYTES) {
        // More bytes follow, so the full pending block is not the last one.
        this.#leaves.push(computeBlockCv(this.#pending, this.#leaves.length, false))
        this.#pendingLen = 0
      }
      const take = Math.min(BLOCK_BYTES - this.#pendingLen, bytes.length - pos)
      if (this.#pendingLen === 0 && take === BLOCK_BYTES && bytes.length - pos > BLOCK_BYTES) {
        // A whole block followed by more input: hash it in place, no copy.
        this.#leaves.push(computeBlockCv(bytes.subarray(pos, pos + BLOCK_BYTES), this.#leaves.length, false))
      } else {
        this.#pending.set(bytes.subarray(pos, pos + take), this.#pendingLen)
        this.#pendingLen += take
      }
      pos += take
    }
    this.#sizeBytes += bytes.length
  }

  /** The root (the BLAKE3 hash) and the tree. The builder cannot be fed afterwards. */
  finish(): { root: Uint8Array; tree: StoredTree } {
    this.#finished = true
    const last = this.#pending.subarray(0, this.#pendingLen)
    const only = this.#leaves.length === 0
    this.#leaves.push(computeBlockCv(last, this.#leaves.length, only))
    const blocks = this.#leaves.length
    const nodes = new Uint8Array((2 * blocks - 1) * 32)
    const root = buildSubtree(this.#leaves, 0, blocks, nodes, 0, true)
    return { root, tree: { sizeBytes: this.#sizeBytes, blocks, nodes } }
  }
}

/**
 * Checks every parent of a stored tree against its children and the top against `root` (the blob's
 * hash). Leaves are checked later, block by block, as the bytes are read.
 */
export function checkTreeAgainstRoot(tree: StoredTree, root: Uint8Array, what: string): void {
  if (tree.blocks !== countBlocks(tree.sizeBytes))
    throw new FleekError('INTEGRITY', `the block tree of ${what} is damaged on disk (block count)`)
  const check = (at: number, count: number, top: boolean): Uint8Array => {
    const stored = treeNode(tree, at + 2 * count - 2)
    if (count > 1) {
      const l = leftBlocks(count)
      const left = check(at, l, false)
      const right = check(at + 2 * l - 1, count - l, false)
      if (!equalBytes(mergeParent(left, right, top), stored))
        throw new FleekError(
          'INTEGRITY',
          `the block tree of ${what} is damaged on disk (node ${at + 2 * count - 2}); remove the blob and put it again`,
        )
    }
    return stored
  }
  const top = check(0, tree.blocks, true)
  if (!equalBytes(top, root))
    throw new FleekError(
      'INTEGRITY',
      `the block tree of ${what} does not lead to its hash; remove the blob and put it again`,
    )
}

/** Throws INTEGRITY naming block `index` unless `bytes` is that block of the tree. */
export function checkBlock(
  tree: StoredTree,
  index: number,
  bytes: Uint8Array,
  what: string,
  scratch?: Uint8Array,
): void {
  const cv = computeBlockCv(bytes, index, tree.blocks === 1, scratch)
  if (!equalBytes(cv, treeNode(tree, leafIndex(index))))
    throw new FleekError('INTEGRITY', `${what} is corrupt on disk: block ${index} does not match its hash`, {
      details: { block: index },
    })
}
