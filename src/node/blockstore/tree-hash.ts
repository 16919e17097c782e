/**
 * The blockstore's use of the b3 library: block chaining values, the tree of a stream of bytes, and
 * the check of a stored tree against its root. All hashing and tree code is src/lib/b3's.
 */
import { getEngine, HASH_MODE } from '../../lib/b3/index.ts'
import { BlockTree, TreeBuilder, treeFromBlockHashes } from '../../lib/b3/tree.ts'
import { FleekError } from '../../lib/errors.ts'
import {
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

/** Builds a blob's block tree from bytes fed in any slicing (b3's TreeBuilder: one block in memory). */
export class BlockTreeBuilder {
  readonly #builder = new TreeBuilder(LOG2_CHUNKS_PER_BLOCK)

  get sizeBytes(): number {
    return this.#builder.length
  }

  update(bytes: Uint8Array): void {
    this.#builder.update(bytes)
  }

  /** The root (the BLAKE3 hash) and the tree. The builder cannot be fed afterwards. */
  finish(): { root: Uint8Array; tree: StoredTree } {
    const sizeBytes = this.#builder.length
    const tree = this.#builder.finish()
    return { root: tree.root, tree: { sizeBytes, blocks: tree.blockCount, nodes: tree.nodes } }
  }
}

/** The stored tree as b3's BlockTree (for proofs). */
export function toBlockTree(tree: StoredTree): BlockTree {
  return new BlockTree(tree.nodes, LOG2_CHUNKS_PER_BLOCK)
}

/**
 * Checks every parent of a stored tree against its leaves and the top against `root` (the blob's
 * hash): the tree rebuilt from its leaves must be the stored one, node for node. Leaves are checked
 * later, block by block, as the bytes are read.
 */
export function checkTreeAgainstRoot(tree: StoredTree, root: Uint8Array, what: string): void {
  const damaged = (why: string): FleekError =>
    new FleekError(
      'INTEGRITY',
      `the block tree of ${what} is damaged on disk (${why}); remove the blob and put it again`,
    )
  if (tree.blocks !== countBlocks(tree.sizeBytes)) throw damaged('block count')
  const leaves = Array.from({ length: tree.blocks }, (_, i) => treeNode(tree, leafIndex(i)))
  const rebuilt = treeFromBlockHashes(leaves, LOG2_CHUNKS_PER_BLOCK)
  if (!equalBytes(rebuilt.nodes, tree.nodes)) throw damaged('a parent does not match its children')
  if (!equalBytes(rebuilt.root, root)) throw damaged('it does not lead to the hash')
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
