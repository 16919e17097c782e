import { SparseMerkleTree, encodeProof, type MerkleNodeStore } from '../../lib/merkle/index.ts'
import { computeStateKey } from '../../lib/tx/index.ts'
import type { Table } from '../storage/index.ts'
import { toHex } from './records.ts'
import type { StateChange } from './state.ts'

/**
 * The state root: a sparse Merkle tree (src/lib/merkle) over every entry of the state tables, keyed by
 * computeStateKey(table, key), each leaf committing to BLAKE3 of the entry's DAG-CBOR bytes. Tree nodes
 * live in the `merkle` table, written in the same database transaction as the block's state.
 */
export function updateStateRoot(
  merkleTable: Table,
  prevRoot: Uint8Array,
  changes: StateChange[],
): Uint8Array {
  const tree = new SparseMerkleTree(createNodeStore(merkleTable, getNodeCache(merkleTable)), prevRoot)
  return tree.updateMany(changes.map((c) => [computeStateKey(c.table, c.key), c.bytes]))
}

/** An encoded Merkle proof of the entry at (table, key) — membership or absence — against `root`. */
export function proveStateEntry(
  merkleTable: Table,
  root: Uint8Array,
  table: string,
  key: string | number,
): Uint8Array {
  const tree = new SparseMerkleTree(createNodeStore(merkleTable, getNodeCache(merkleTable)), root)
  return encodeProof(tree.prove(computeStateKey(table, key)))
}

/** Nodes kept in memory per node table: about 16 blocks of 500 transactions' worth of new nodes. */
const CACHED_NODES = 64 * 1024

/**
 * Recently written and read nodes, by hash. Nodes are content-addressed and immutable, so a cached node
 * is never stale, whatever happened to the transaction that wrote it: the tree only asks for nodes
 * reachable from a committed root. Each block rewrites the top of the tree and reads it back in the
 * next, so most reads hit. Oldest first out (a Map keeps insertion order).
 */
class NodeCache {
  readonly #nodes = new Map<string, Uint8Array>()

  get(id: string): Uint8Array | undefined {
    return this.#nodes.get(id)
  }

  set(id: string, node: Uint8Array): void {
    if (this.#nodes.size >= CACHED_NODES) {
      const oldest = this.#nodes.keys().next()
      if (oldest.done !== true) this.#nodes.delete(oldest.value)
    }
    this.#nodes.set(id, node)
  }
}

/**
 * One cache per node table, living as long as the table object (a memo of immutable data, weakly
 * held; the application could own it instead once it passes one in).
 */
const nodeCaches = new WeakMap<Table, NodeCache>()

function getNodeCache(table: Table): NodeCache {
  let cache = nodeCaches.get(table)
  if (cache === undefined) nodeCaches.set(table, (cache = new NodeCache()))
  return cache
}

/**
 * Nodes are content-addressed (the key is the hash of the value), so a put never needs to look first:
 * writing a node that exists rewrites the same bytes, and new nodes are the common case.
 */
function createNodeStore(table: Table, cache: NodeCache): MerkleNodeStore {
  return {
    get: (hash) => {
      const id = toHex(hash)
      let node = cache.get(id)
      if (node === undefined) {
        node = table.getBytes(id)
        if (node !== undefined) cache.set(id, node)
      }
      return node
    },
    put: (hash, node) => {
      const id = toHex(hash)
      table.putBytes(id, node)
      cache.set(id, node)
    },
  }
}
