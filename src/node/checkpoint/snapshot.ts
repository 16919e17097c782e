/**
 * State snapshots: every state table's entries, deterministic DAG-CBOR, so that a late node rebuilds
 * the state of a checkpoint's root from any peer's bytes and verifies it before anything is written.
 *
 *   {version: 1, genesisHash, tables: {<table>: [[key, bytes], …]}}  (keys in storage order)
 */
import * as dagCbor from '@ipld/dag-cbor'

import { FleekError } from '../../lib/errors.ts'
import {
  type BlockSequence,
  STATE_TABLES,
  type StateTable,
  type StateTableEntries,
  readChainRoots,
  readStateEntries,
  restoreState,
} from '../application/index.ts'
import type { Storage, StorageKey } from '../storage/index.ts'

const SNAPSHOT_VERSION = 1

/** The snapshot of the committed state in `storage` (an opened Application's storage). */
export function exportSnapshot(storage: Storage): Uint8Array {
  const { genesisHash } = readChainRoots(storage)
  if (genesisHash === undefined) throw new FleekError('NOT_FOUND', 'the storage holds no chain to snapshot')
  const tables: Record<string, Array<[StorageKey, Uint8Array]>> = {}
  for (const { table, entries } of readStateEntries(storage)) tables[table] = entries
  return dagCbor.encode({ version: SNAPSHOT_VERSION, genesisHash, tables })
}

export interface ImportedSnapshot {
  stateRoot: Uint8Array
  /** The state's height and epoch (its `meta` table). */
  height: number
  epoch: number
}

/**
 * Replaces the state in `storage` by the snapshot's, in one transaction, after checking that its
 * Merkle root is `expectedRoot` (a verified checkpoint's): INTEGRITY, and nothing written, when it is
 * not; INVALID_INPUT when the bytes are malformed or of another chain. `lastSequence` (for a
 * checkpoint: {epoch, index} of its block) marks the blocks up to it as executed; `also` runs in the
 * same transaction.
 * Reopen the Application on `storage` afterwards.
 */
export function importSnapshot(
  storage: Storage,
  bytes: Uint8Array,
  expectedRoot: Uint8Array,
  options: { lastSequence?: BlockSequence; also?: () => void } = {},
): ImportedSnapshot {
  const { genesisHash, tables } = decodeSnapshot(bytes)
  const stateRoot = restoreState(storage, tables, expectedRoot, {
    genesisHash,
    ...(options.lastSequence !== undefined && { lastSequence: options.lastSequence }),
    ...(options.also !== undefined && { also: options.also }),
  })
  const meta = new Map(tables.find((t) => t.table === 'meta')?.entries ?? [])
  const read = (key: string): number => {
    const b = meta.get(key)
    const v = b === undefined ? undefined : (dagCbor.decode(b) as unknown)
    return typeof v === 'number' ? v : 0
  }
  return { stateRoot, height: read('height'), epoch: read('epoch') }
}

function decodeSnapshot(bytes: Uint8Array): { genesisHash: Uint8Array; tables: StateTableEntries[] } {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new FleekError('INVALID_INPUT', 'the snapshot is not valid DAG-CBOR', { cause: err })
  }
  const bad = (problem: string): FleekError => new FleekError('INVALID_INPUT', `the snapshot ${problem}`)
  if (typeof value !== 'object' || value === null) throw bad('is not a map')
  const v = value as Record<string, unknown>
  if (v.version !== SNAPSHOT_VERSION)
    throw bad(`has version ${String(v.version)}; ${SNAPSHOT_VERSION} expected`)
  if (!(v.genesisHash instanceof Uint8Array) || v.genesisHash.length !== 32) throw bad('has no genesis hash')
  if (typeof v.tables !== 'object' || v.tables === null || Array.isArray(v.tables)) throw bad('has no tables')
  const tables: StateTableEntries[] = []
  for (const [table, entries] of Object.entries(v.tables as Record<string, unknown>)) {
    if (!(STATE_TABLES as readonly string[]).includes(table))
      throw bad(`names an unknown table ${table.slice(0, 40)}`)
    if (!Array.isArray(entries)) throw bad(`table ${table} is not a list`)
    for (const e of entries as unknown[]) {
      if (
        !Array.isArray(e) ||
        e.length !== 2 ||
        !(
          typeof e[0] === 'string' ||
          (typeof e[0] === 'number' && Number.isSafeInteger(e[0]) && e[0] >= 0)
        ) ||
        !(e[1] instanceof Uint8Array)
      )
        throw bad(`table ${table} has a malformed entry`)
    }
    tables.push({ table: table as StateTable, entries: entries as Array<[StorageKey, Uint8Array]> })
  }
  return { genesisHash: v.genesisHash, tables }
}
