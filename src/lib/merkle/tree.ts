/**
 * A binary sparse Merkle tree over 256-bit keys with path compression (the binary form of Diem's
 * Jellyfish tree): a key's leaf sits at the shallowest depth where it is alone in its subtree, an empty
 * subtree is the 32 zero bytes, and an internal node always has at least two leaves below it. That form
 * is a function of the set of entries alone, so the root does not depend on the order of updates; a tree
 * of n random keys has about 2n nodes, and an update rewrites about log2(n) of them.
 *
 * The leaf of `key` commits to key ‖ BLAKE3(value bytes): the caller keeps the value itself (in its
 * table) and the tree keeps only its hash, which is what `get` returns. See hash.ts for the node hashes.
 */
import { FleekError } from '../errors.ts'
import { compareBytes, equalBytes, getBit, isZero } from './bytes.ts'
import { EMPTY_ROOT, HASH_BYTES, hashInternal, hashLeaf, hashValue } from './hash.ts'
import { encodeInternalNode, encodeLeafNode, loadNode, type MerkleNodeStore } from './node.ts'
import type { MerkleProof } from './proof.ts'

interface Leaf {
  key: Uint8Array
  valueHash: Uint8Array
}

interface Change {
  key: Uint8Array
  /** undefined deletes */
  valueHash: Uint8Array | undefined
}

/** A subtree after a change: its hash, and what kind of node that is when known without a read. */
interface Subtree {
  hash: Uint8Array
  kind?: 'empty' | 'leaf' | 'internal'
}

const emptySubtree: Subtree = { hash: EMPTY_ROOT, kind: 'empty' }

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== HASH_BYTES) {
    throw new FleekError('INVALID_INPUT', `merkle key must be ${HASH_BYTES} bytes (a BLAKE3 hash)`)
  }
}

export class SparseMerkleTree {
  readonly #store: MerkleNodeStore
  #root: Uint8Array

  /** Opens the tree with `root` (default: the empty tree) whose nodes are in `store`. */
  constructor(store: MerkleNodeStore, root: Uint8Array = EMPTY_ROOT) {
    if (!(root instanceof Uint8Array) || root.length !== HASH_BYTES) {
      throw new FleekError('INVALID_INPUT', `merkle root must be ${HASH_BYTES} bytes`)
    }
    if (!isZero(root) && store.get(root) === undefined) {
      throw new FleekError('NOT_FOUND', 'merkle root not found in the node store')
    }
    this.#store = store
    this.#root = root.slice()
  }

  /** The current root (32 zero bytes for the empty tree). */
  get root(): Uint8Array {
    return this.#root.slice()
  }

  /** The BLAKE3 hash of the value stored at `key`, or undefined when the key is absent. */
  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key)
    let hash = this.#root
    for (let depth = 0; !isZero(hash); depth++) {
      const node = loadNode(this.#store, hash)
      if (node.kind === 'leaf') return equalBytes(node.key, key) ? node.valueHash.slice() : undefined
      hash = getBit(key, depth) === 0 ? node.left : node.right
    }
    return undefined
  }

  /** Sets `key` to `value` (undefined deletes it) and returns the new root. */
  update(key: Uint8Array, value: Uint8Array | undefined): Uint8Array {
    return this.updateMany([[key, value]])
  }

  /**
   * Applies all entries at once (a later entry for the same key wins, as if applied one by one) and
   * returns the new root. Each touched node is rewritten once, however many entries fall below it.
   */
  updateMany(entries: Array<[Uint8Array, Uint8Array | undefined]>): Uint8Array {
    const changes: Change[] = entries.map(([key, value]) => {
      checkKey(key)
      if (value !== undefined && !(value instanceof Uint8Array)) {
        throw new FleekError('INVALID_INPUT', 'merkle value must be bytes or undefined')
      }
      return { key, valueHash: value === undefined ? undefined : hashValue(value) }
    })
    // Stable sort by key, then keep the last change of each key.
    changes.sort((a, b) => compareBytes(a.key, b.key))
    const unique = changes.filter(
      (c, i) => i + 1 === changes.length || !equalBytes(c.key, changes[i + 1].key),
    )
    if (unique.length === 0) return this.root
    this.#root = this.#apply(this.#root, 0, unique, 0, unique.length).hash
    return this.root
  }

  /** A proof that `key` holds its current value, or that it is absent. */
  prove(key: Uint8Array): MerkleProof {
    checkKey(key)
    const siblings: Uint8Array[] = []
    let hash = this.#root
    for (let depth = 0; !isZero(hash); depth++) {
      const node = loadNode(this.#store, hash)
      if (node.kind === 'leaf') {
        return { siblings, leaf: { key: node.key.slice(), valueHash: node.valueHash.slice() } }
      }
      const right = getBit(key, depth) === 1
      siblings.push((right ? node.left : node.right).slice())
      hash = right ? node.right : node.left
    }
    return { siblings }
  }

  /** Applies changes[lo, hi) (sorted, unique, all below this subtree) to the subtree `hash` at `depth`. */
  #apply(hash: Uint8Array, depth: number, changes: Change[], lo: number, hi: number): Subtree {
    if (lo === hi) return isZero(hash) ? emptySubtree : { hash }
    if (isZero(hash)) return this.#build(depth, this.#merge(undefined, changes, lo, hi))
    const node = loadNode(this.#store, hash)
    if (node.kind === 'leaf') return this.#build(depth, this.#merge(node, changes, lo, hi))
    const mid = splitIndex(changes, depth, lo, hi)
    const left = this.#apply(node.left, depth + 1, changes, lo, mid)
    const right = this.#apply(node.right, depth + 1, changes, mid, hi)
    if (equalBytes(left.hash, node.left) && equalBytes(right.hash, node.right))
      return { hash, kind: 'internal' }
    return this.#join(left, right)
  }

  /** The leaves of a subtree that held at most `existing`, after changes[lo, hi), in key order. */
  #merge(existing: Leaf | undefined, changes: Change[], lo: number, hi: number): Leaf[] {
    const leaves: Leaf[] = []
    let pending = existing
    for (let i = lo; i < hi; i++) {
      const { key, valueHash } = changes[i]
      if (pending !== undefined) {
        const order = compareBytes(pending.key, key)
        if (order < 0) leaves.push(pending)
        if (order <= 0) pending = undefined
      }
      if (valueHash !== undefined) leaves.push({ key, valueHash })
    }
    if (pending !== undefined) leaves.push(pending)
    return leaves
  }

  /** Writes the canonical subtree at `depth` holding exactly `leaves` (sorted, unique). */
  #build(depth: number, leaves: Leaf[], lo = 0, hi = leaves.length): Subtree {
    if (lo === hi) return emptySubtree
    if (hi - lo === 1) return this.#putLeaf(leaves[lo])
    const mid = splitIndex(leaves, depth, lo, hi)
    const left = this.#build(depth + 1, leaves, lo, mid)
    const right = this.#build(depth + 1, leaves, mid, hi)
    return this.#putInternal(left.hash, right.hash)
  }

  /** The parent of two changed subtrees, lifting a leaf whose sibling became empty. */
  #join(left: Subtree, right: Subtree): Subtree {
    const leftEmpty = isZero(left.hash)
    const rightEmpty = isZero(right.hash)
    if (leftEmpty && rightEmpty) return emptySubtree
    if (leftEmpty && this.#isLeaf(right)) return right
    if (rightEmpty && this.#isLeaf(left)) return left
    return this.#putInternal(left.hash, right.hash)
  }

  #isLeaf(subtree: Subtree): boolean {
    if (subtree.kind !== undefined) return subtree.kind === 'leaf'
    return loadNode(this.#store, subtree.hash).kind === 'leaf'
  }

  #putLeaf(leaf: Leaf): Subtree {
    const hash = hashLeaf(leaf.key, leaf.valueHash)
    this.#store.put(hash, encodeLeafNode(leaf.key, leaf.valueHash))
    return { hash, kind: 'leaf' }
  }

  #putInternal(left: Uint8Array, right: Uint8Array): Subtree {
    const hash = hashInternal(left, right)
    this.#store.put(hash, encodeInternalNode(left, right))
    return { hash, kind: 'internal' }
  }
}

/** The first index in [lo, hi) of key-sorted items whose key has bit `depth` set. */
function splitIndex(items: Array<{ key: Uint8Array }>, depth: number, lo: number, hi: number): number {
  let a = lo
  let b = hi
  while (a < b) {
    const m = (a + b) >>> 1
    if (getBit(items[m].key, depth) === 0) a = m + 1
    else b = m
  }
  return a
}
