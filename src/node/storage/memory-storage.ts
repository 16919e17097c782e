import * as dagCbor from '@ipld/dag-cbor'
import { FleekError } from '../../lib/errors.ts'
import type { RangeOptions, ReadTable, ReadView, Storage, StorageKey, Table } from './interface.ts'

/**
 * An in-memory Storage with the same semantics as the lmdb one (atomic transactions, key order:
 * integers before strings, integers numerically, strings by code unit). For tests and tools.
 */
export class MemoryStorage implements Storage {
  readonly #data = new Map<string, Map<StorageKey, Uint8Array>>()
  readonly #tables = new Map<string, MemoryTable>()
  /** Pending writes of the open transaction: table → key → bytes (undefined = delete). */
  #pending: Map<string, Map<StorageKey, Uint8Array | undefined>> | undefined
  #closed = false

  table(name: string): Table {
    this.#checkOpen()
    let table = this.#tables.get(name)
    if (table === undefined) {
      table = new MemoryTable(name, this)
      this.#tables.set(name, table)
    }
    return table
  }

  transaction<T>(fn: () => T): T {
    this.#checkOpen()
    // A transaction inside another joins it: one commit for both, and a throw aborts both.
    if (this.#pending !== undefined) return fn()
    this.#pending = new Map()
    try {
      const result = fn()
      for (const [name, writes] of this.#pending) {
        const committed = this.#committed(name)
        for (const [key, bytes] of writes) {
          if (bytes === undefined) committed.delete(key)
          else committed.set(key, bytes)
        }
      }
      return result
    } finally {
      this.#pending = undefined
    }
  }

  readView(tables: readonly string[]): ReadView {
    this.#checkOpen()
    if (this.#pending !== undefined)
      throw new FleekError(
        'INTERNAL',
        'a read view is taken outside a transaction (it shows committed state)',
      )
    // Committed bytes are never changed in place (a write replaces them), so copies of the key maps
    // are a consistent view.
    const copies = new Map(tables.map((name) => [name, new Map(this.#data.get(name))]))
    return new MemoryReadView(copies, () => this.#closed)
  }

  async close(): Promise<void> {
    this.#closed = true
  }

  /** @internal */
  readBytes(name: string, key: StorageKey): Uint8Array | undefined {
    this.#checkOpen()
    const pending = this.#pending?.get(name)
    if (pending?.has(key)) return pending.get(key)
    return this.#data.get(name)?.get(key)
  }

  /** @internal */
  writeBytes(name: string, key: StorageKey, bytes: Uint8Array | undefined): void {
    this.#checkOpen()
    if (this.#pending === undefined)
      throw new FleekError('INTERNAL', `write to table ${name} outside a transaction`)
    let writes = this.#pending.get(name)
    if (writes === undefined) this.#pending.set(name, (writes = new Map()))
    writes.set(key, bytes === undefined ? undefined : Uint8Array.from(bytes))
  }

  /** @internal */
  sortedKeys(name: string): StorageKey[] {
    const keys = new Set<StorageKey>(this.#data.get(name)?.keys() ?? [])
    for (const [key, bytes] of this.#pending?.get(name) ?? []) {
      if (bytes === undefined) keys.delete(key)
      else keys.add(key)
    }
    return [...keys].sort(compareKeys)
  }

  #committed(name: string): Map<StorageKey, Uint8Array> {
    let table = this.#data.get(name)
    if (table === undefined) this.#data.set(name, (table = new Map()))
    return table
  }

  #checkOpen(): void {
    if (this.#closed) throw new FleekError('UNAVAILABLE', 'the database is closed')
  }
}

export function compareKeys(a: StorageKey, b: StorageKey): number {
  if (typeof a !== typeof b) return typeof a === 'number' ? -1 : 1
  return a < b ? -1 : a > b ? 1 : 0
}

class MemoryTable implements Table {
  readonly name: string
  readonly #storage: MemoryStorage

  constructor(name: string, storage: MemoryStorage) {
    this.name = name
    this.#storage = storage
  }

  get(key: StorageKey): unknown {
    const bytes = this.getBytes(key)
    return bytes === undefined ? undefined : dagCbor.decode(bytes)
  }

  getBytes(key: StorageKey): Uint8Array | undefined {
    return this.#storage.readBytes(this.name, key)
  }

  put(key: StorageKey, value: unknown): void {
    this.#storage.writeBytes(this.name, key, dagCbor.encode(value))
  }

  putBytes(key: StorageKey, bytes: Uint8Array): void {
    this.#storage.writeBytes(this.name, key, bytes)
  }

  delete(key: StorageKey): void {
    this.#storage.writeBytes(this.name, key, undefined)
  }

  *entries(options: RangeOptions = {}): Iterable<[StorageKey, unknown]> {
    const { start, end, prefix, limit } = options
    let count = 0
    for (const key of this.#storage.sortedKeys(this.name)) {
      if (limit !== undefined && count >= limit) return
      if (start !== undefined && compareKeys(key, start) < 0) continue
      if (end !== undefined && compareKeys(key, end) >= 0) continue
      if (prefix !== undefined && !(typeof key === 'string' && key.startsWith(prefix))) continue
      const bytes = this.getBytes(key)
      if (bytes === undefined) continue
      count++
      yield [key, dagCbor.decode(bytes)]
    }
  }
}

class MemoryReadView implements ReadView {
  readonly #data: Map<string, Map<StorageKey, Uint8Array>>
  readonly #storageClosed: () => boolean
  readonly #tables = new Map<string, ReadTable>()
  #closed = false

  constructor(data: Map<string, Map<StorageKey, Uint8Array>>, storageClosed: () => boolean) {
    this.#data = data
    this.#storageClosed = storageClosed
  }

  table(name: string): ReadTable {
    this.#checkOpen()
    const known = this.#tables.get(name)
    if (known !== undefined) return known
    const data = this.#data.get(name)
    if (data === undefined) throw new FleekError('INTERNAL', `table ${name} is not in this read view`)
    const check = (): void => this.#checkOpen()
    const table: ReadTable = {
      name,
      getBytes(key) {
        check()
        return data.get(key)
      },
      get(key) {
        const bytes = this.getBytes(key)
        return bytes === undefined ? undefined : dagCbor.decode(bytes)
      },
      count() {
        check()
        return data.size
      },
      *entryBytes() {
        check()
        for (const key of [...data.keys()].sort(compareKeys)) {
          yield [key, data.get(key) as Uint8Array]
          check()
        }
      },
    }
    this.#tables.set(name, table)
    return table
  }

  close(): void {
    this.#closed = true
  }

  #checkOpen(): void {
    if (this.#closed || this.#storageClosed()) throw new FleekError('UNAVAILABLE', 'the read view is closed')
  }
}
