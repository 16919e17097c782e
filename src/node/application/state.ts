import * as dagCbor from '@ipld/dag-cbor'
import type { Storage, StorageKey } from '../storage/index.ts'
import { compareKeys } from '../storage/memory-storage.ts'

/**
 * The state tables of the application. Every one of them is committed to by the state root; the
 * other tables (blocks, receipts, merkle nodes, chain metadata) are bookkeeping outside the root.
 */
export const STATE_TABLES = [
  'meta',
  'accounts',
  'nodes',
  'consensusKeys',
  'committees',
  'params',
  'reputation',
  'measurements',
  'submissions',
  'latencies',
  'served',
  'totalServed',
  'serviceRevenue',
  'services',
  'executedDigests',
  'content',
  'nodeContent',
] as const
export type StateTable = (typeof STATE_TABLES)[number]

export interface StateChange {
  table: StateTable
  key: StorageKey
  /** Encoded DAG-CBOR, or undefined for a deletion. */
  bytes: Uint8Array | undefined
}

interface RangeFilter {
  prefix?: string
  start?: StorageKey
  end?: StorageKey
}

/**
 * Copy-on-write view of the state for one block: reads go to the transaction's writes, then the
 * block's, then storage; `beginTransaction` / `commitTransaction` / `rollbackTransaction` scope the
 * writes of one transaction so that a failed one leaves nothing behind. Values are stored encoded, so
 * every read returns a fresh object.
 */
export class StateOverlay {
  readonly #storage: Storage
  readonly #block = new Map<string, StateChange>()
  #tx: Map<string, StateChange> | undefined

  constructor(storage: Storage) {
    this.#storage = storage
  }

  get(table: StateTable, key: StorageKey): unknown {
    const id = changeId(table, key)
    const change = this.#tx?.get(id) ?? this.#block.get(id)
    if (change !== undefined) return change.bytes === undefined ? undefined : dagCbor.decode(change.bytes)
    return this.#storage.table(table).get(key)
  }

  put(table: StateTable, key: StorageKey, value: unknown): void {
    this.#write({ table, key, bytes: dagCbor.encode(value) })
  }

  delete(table: StateTable, key: StorageKey): void {
    this.#write({ table, key, bytes: undefined })
  }

  /** Entries of `table` in key order, with this overlay's writes applied. */
  entries(table: StateTable, filter: RangeFilter = {}): Array<[StorageKey, unknown]> {
    const merged = new Map<StorageKey, unknown>()
    for (const [key, value] of this.#storage.table(table).entries(filter)) merged.set(key, value)
    for (const layer of [this.#block, this.#tx]) {
      for (const change of layer?.values() ?? []) {
        if (change.table !== table || !matches(change.key, filter)) continue
        if (change.bytes === undefined) merged.delete(change.key)
        else merged.set(change.key, dagCbor.decode(change.bytes))
      }
    }
    return [...merged.entries()].sort((a, b) => compareKeys(a[0], b[0]))
  }

  beginTransaction(): void {
    this.#tx = new Map()
  }

  commitTransaction(): void {
    for (const [id, change] of this.#tx ?? []) this.#block.set(id, change)
    this.#tx = undefined
  }

  rollbackTransaction(): void {
    this.#tx = undefined
  }

  /** The block's changes, sorted by table then key (deterministic). */
  changes(): StateChange[] {
    return [...this.#block.values()].sort((a, b) =>
      a.table < b.table ? -1 : a.table > b.table ? 1 : compareKeys(a.key, b.key),
    )
  }

  #write(change: StateChange): void {
    ;(this.#tx ?? this.#block).set(changeId(change.table, change.key), change)
  }
}

function changeId(table: string, key: StorageKey): string {
  return `${table}\u0000${typeof key === 'number' ? 'n' : 's'}${key}`
}

function matches(key: StorageKey, filter: RangeFilter): boolean {
  if (filter.prefix !== undefined && !(typeof key === 'string' && key.startsWith(filter.prefix))) return false
  if (filter.start !== undefined && compareKeys(key, filter.start) < 0) return false
  if (filter.end !== undefined && compareKeys(key, filter.end) >= 0) return false
  return true
}
