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

export interface Storage {
  table(name: string): Table
  /**
   * Runs `fn` in one write transaction: every put and delete inside commits atomically when `fn`
   * returns, and none does when it throws (the error is rethrown). Reads inside see the writes.
   */
  transaction<T>(fn: () => T): T
  /** Idempotent. */
  close(): Promise<void>
}
