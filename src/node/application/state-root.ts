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
  const tree = new SparseMerkleTree(createNodeStore(merkleTable), prevRoot)
  return tree.updateMany(changes.map((c) => [computeStateKey(c.table, c.key), c.bytes]))
}

/** An encoded Merkle proof of the entry at (table, key) — membership or absence — against `root`. */
export function proveStateEntry(
  merkleTable: Table,
  root: Uint8Array,
  table: string,
  key: string | number,
): Uint8Array {
  const tree = new SparseMerkleTree(createNodeStore(merkleTable), root)
  return encodeProof(tree.prove(computeStateKey(table, key)))
}

/**
 * Nodes are content-addressed (the key is the hash of the value), so a put never needs to look first:
 * writing a node that exists rewrites the same bytes, and new nodes are the common case.
 */
function createNodeStore(table: Table): MerkleNodeStore {
  return {
    get: (hash) => table.getBytes(toHex(hash)),
    put: (hash, node) => table.putBytes(toHex(hash), node),
  }
}
