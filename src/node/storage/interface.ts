/**
 * The node's embedded database: named tables of DAG-CBOR values with synchronous reads and one atomic
 * write transaction at a time. Keys are strings or non-negative integers; within one table use one key
 * type (integers sort numerically, strings by their UTF-8 bytes).
 */
export type StorageKey = string | number

export interface RangeOptions {
  /** Inclusive lower bound. */
  start?: StorageKey
  /** Exclusive upper bound. */
  end?: StorageKey
  /** Only string keys beginning with this prefix (combines with start/end). */
  prefix?: string
  limit?: number
}

export interface Table {
  readonly name: string
  /** The decoded value, or undefined. */
  get(key: StorageKey): unknown
  /** The stored DAG-CBOR bytes, or undefined. */
  getBytes(key: StorageKey): Uint8Array | undefined
  /** Writes a value (encoded with deterministic DAG-CBOR). Only inside `storage.transaction`. */
  put(key: StorageKey, value: unknown): void
  /** Writes already-encoded DAG-CBOR bytes. Only inside `storage.transaction`. */
  putBytes(key: StorageKey, bytes: Uint8Array): void
  /** Only inside `storage.transaction`. */
  delete(key: StorageKey): void
  /** Entries in key order, decoded. */
  entries(options?: RangeOptions): Iterable<[StorageKey, unknown]>
}

/** A table as a read view saw it: reads only. */
export interface ReadTable {
  readonly name: string
  /** The decoded value, or undefined. */
  get(key: StorageKey): unknown
  /** The stored DAG-CBOR bytes, or undefined. */
  getBytes(key: StorageKey): Uint8Array | undefined
  /** How many entries the table holds. */
  count(): number
  /** Every entry in key order, with its stored DAG-CBOR bytes (nothing decoded). */
  entryBytes(): Iterable<[StorageKey, Uint8Array]>
}

/**
 * A consistent, read-only view of some tables as last committed when it was taken: later commits do
 * not change what it reads, however long it is read for (a state snapshot written out in the
 * background). An lmdb view holds a read transaction, which keeps the pages it sees from being
 * reused: close it as soon as it is read.
 */
export interface ReadView {
  /** One of the tables named when the view was taken (INTERNAL for any other). */
  table(name: string): ReadTable
  /** Ends the view. Idempotent; reads afterwards (or after the storage closes) throw UNAVAILABLE. */
  close(): void
}

export interface Storage {
  table(name: string): Table
  /**
   * A view of `tables` as committed now. Synchronous: take it exactly where the state it must show
   * has just committed. Refused (INTERNAL) inside a transaction, whose writes it could not show.
   */
  readView(tables: readonly string[]): ReadView
  /**
   * Runs `fn` in one write transaction: every put and delete inside commits atomically when `fn`
   * returns, and none does when it throws (the error is rethrown). Reads inside see the writes.
   */
  transaction<T>(fn: () => T): T
  /** Idempotent. */
  close(): Promise<void>
}
