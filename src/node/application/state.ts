import * as dagCbor from '@ipld/dag-cbor'
import type { Storage, StorageKey } from '../storage/index.ts'
import { compareKeys } from '../storage/memory-storage.ts'
import { FleekError } from '../../lib/errors.ts'

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
  'beacon',
  /** An account's secp256k1 public key (33 bytes compressed), by address, from its first transaction. */
  'accountKeys',
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

/** A write of the overlay: the value as written (a private copy), or undefined for a deletion. */
interface Write {
  table: StateTable
  key: StorageKey
  value: unknown
}

/**
 * Copy-on-write view of the state for one block: reads go to the transaction's writes, then the
 * block's, then storage; `beginTransaction` / `commitTransaction` / `rollbackTransaction` scope the
 * writes of one transaction so that a failed one leaves nothing behind. Every read returns a fresh
 * object, and a write keeps a private copy, so callers may modify what they read or wrote.
 *
 * Writes keep values, not bytes: a record rewritten by every transaction of a block (a sender's
 * nonce) is encoded once, by `changes()`, instead of encoded at each write and decoded at each read.
 */
export class StateOverlay {
  readonly #storage: Storage
  readonly #block = new Map<string, Write>()
  #tx: Map<string, Write> | undefined

  constructor(storage: Storage) {
    this.#storage = storage
  }

  get(table: StateTable, key: StorageKey): unknown {
    const id = changeId(table, key)
    const write = this.#tx?.get(id) ?? this.#block.get(id)
    if (write !== undefined) return copyValue(write.value)
    return this.#storage.table(table).get(key)
  }

  put(table: StateTable, key: StorageKey, value: unknown): void {
    if (value === undefined) throw new FleekError('INTERNAL', `state ${table}: put of undefined (use delete)`)
    this.#write({ table, key, value: copyValue(value) })
  }

  delete(table: StateTable, key: StorageKey): void {
    this.#write({ table, key, value: undefined })
  }

  /** Entries of `table` in key order, with this overlay's writes applied. */
  entries(table: StateTable, filter: RangeFilter = {}): Array<[StorageKey, unknown]> {
    const merged = new Map<StorageKey, unknown>()
    for (const [key, value] of this.#storage.table(table).entries(filter)) merged.set(key, value)
    for (const layer of [this.#block, this.#tx]) {
      for (const write of layer?.values() ?? []) {
        if (write.table !== table || !matches(write.key, filter)) continue
        if (write.value === undefined) merged.delete(write.key)
        else merged.set(write.key, copyValue(write.value))
      }
    }
    return [...merged.entries()].sort((a, b) => compareKeys(a[0], b[0]))
  }

  beginTransaction(): void {
    this.#tx = new Map()
  }

  commitTransaction(): void {
    for (const [id, write] of this.#tx ?? []) this.#block.set(id, write)
    this.#tx = undefined
  }

  rollbackTransaction(): void {
    this.#tx = undefined
  }

  /** The block's changes, encoded, sorted by table then key (deterministic). */
  changes(): StateChange[] {
    return [...this.#block.values()]
      .sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : compareKeys(a.key, b.key)))
      .map(({ table, key, value }) => ({
        table,
        key,
        bytes: value === undefined ? undefined : encode(value),
      }))
  }

  #write(write: Write): void {
    ;(this.#tx ?? this.#block).set(changeId(write.table, write.key), write)
  }
}

/** DAG-CBOR of a value; `true` (every executed digest) without the encoder. */
function encode(value: unknown): Uint8Array {
  return value === true ? Uint8Array.of(0xf5) : dagCbor.encode(value)
}

/**
 * A deep copy of a state value as DAG-CBOR would give it back: plain objects, arrays, byte arrays
 * (copied as Uint8Array), strings, numbers, booleans and null are copied directly; anything else
 * (and anything DAG-CBOR refuses, which then throws here, at the write) goes through the codec.
 */
function copyValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return dagCbor.decode(dagCbor.encode(value))
    if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol')
      return dagCbor.decode(dagCbor.encode(value))
    return value
  }
  if (value instanceof Uint8Array) return new Uint8Array(value)
  if (Array.isArray(value)) {
    const out: unknown[] = new Array(value.length)
    for (let i = 0; i < value.length; i++) {
      if (value[i] === undefined) return dagCbor.decode(dagCbor.encode(value))
      out[i] = copyValue(value[i])
    }
    return out
  }
  const proto = Object.getPrototypeOf(value) as unknown
  if (proto !== Object.prototype && proto !== null) return dagCbor.decode(dagCbor.encode(value))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) return dagCbor.decode(dagCbor.encode(value))
    out[k] = copyValue(v)
  }
  return out
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
