/**
 * Read and rebuild the whole state, for checkpoint snapshots (src/node/checkpoint): every entry of
 * the state tables as stored bytes, and the inverse that replaces the state with given entries,
 * rebuilds the Merkle tree and refuses (INTEGRITY, nothing written) when the root differs.
 */
import { FleekError } from '../../lib/errors.ts'
import { EMPTY_ROOT } from '../../lib/merkle/index.ts'
import type { Storage, StorageKey } from '../storage/index.ts'
import { BOOKKEEPING_TABLES } from './application.ts'
import { toHex } from './records.ts'
import { STATE_TABLES, type StateChange, type StateTable } from './state.ts'
import { updateStateRoot } from './state-root.ts'
import type { BlockSequence } from './types.ts'

export interface StateTableEntries {
  table: StateTable
  /** In key order: the key and the stored DAG-CBOR bytes. */
  entries: Array<[StorageKey, Uint8Array]>
}

/** Every state table's entries, tables in STATE_TABLES order, keys in storage order (deterministic). */
export function readStateEntries(storage: Storage): StateTableEntries[] {
  return STATE_TABLES.map((table) => {
    const t = storage.table(table)
    const entries: Array<[StorageKey, Uint8Array]> = []
    for (const [key] of t.entries()) entries.push([key, t.getBytes(key) as Uint8Array])
    return { table, entries }
  })
}

/** The committed state root and genesis hash of `storage` (undefined when it holds no chain yet). */
export function readChainRoots(storage: Storage): { stateRoot?: Uint8Array; genesisHash?: Uint8Array } {
  const chain = storage.table(BOOKKEEPING_TABLES.chain)
  const stateRoot = chain.get('stateRoot') as Uint8Array | undefined
  const genesisHash = chain.get('genesisHash') as Uint8Array | undefined
  return { ...(stateRoot !== undefined && { stateRoot }), ...(genesisHash !== undefined && { genesisHash }) }
}

/**
 * Replaces every state table with `tables` (absent tables become empty), rebuilds the Merkle tree
 * from scratch and, in the same transaction, refuses with INTEGRITY unless its root is
 * `expectedRoot`. Blocks and receipts already stored stay. `lastSequence`, when given, becomes the
 * last executed consensus position (blocks at or before it are then skipped as executed). `also`
 * runs inside the same transaction (other writes that must land with the state, or not at all).
 */
export function restoreState(
  storage: Storage,
  tables: readonly StateTableEntries[],
  expectedRoot: Uint8Array,
  options: { genesisHash: Uint8Array; lastSequence?: BlockSequence; also?: () => void },
): Uint8Array {
  const changes: StateChange[] = []
  const seen = new Set<string>()
  for (const { table, entries } of tables) {
    if (!(STATE_TABLES as readonly string[]).includes(table) || seen.has(table))
      throw new FleekError('INVALID_INPUT', `the snapshot names an unknown or repeated state table ${table}`)
    seen.add(table)
    for (const [key, bytes] of entries) changes.push({ table, key, bytes })
  }
  return storage.transaction(() => {
    const chain = storage.table(BOOKKEEPING_TABLES.chain)
    const stored = chain.get('genesisHash') as Uint8Array | undefined
    if (stored !== undefined && toHex(stored) !== toHex(options.genesisHash))
      throw new FleekError('INVALID_INPUT', 'the snapshot is of another chain (its genesis differs)')
    // Merkle nodes are content-addressed: the old ones stay (unreachable garbage), the new root's are added.
    for (const table of STATE_TABLES) clearTable(storage, table)
    for (const c of changes) storage.table(c.table).putBytes(c.key, c.bytes as Uint8Array)
    const root = updateStateRoot(storage.table(BOOKKEEPING_TABLES.merkle), EMPTY_ROOT, changes)
    if (toHex(root) !== toHex(expectedRoot))
      throw new FleekError(
        'INTEGRITY',
        `the snapshot's state root ${toHex(root).slice(0, 16)}… is not the expected ${toHex(expectedRoot).slice(0, 16)}…`,
      )
    chain.put('stateRoot', root)
    chain.put('genesisHash', options.genesisHash)
    if (options.lastSequence !== undefined)
      chain.put('lastSequence', [options.lastSequence.epoch, options.lastSequence.index])
    options.also?.()
    return root
  })
}

function clearTable(storage: Storage, name: string): void {
  const table = storage.table(name)
  const keys = [...table.entries()].map(([key]) => key)
  for (const key of keys) table.delete(key)
}
