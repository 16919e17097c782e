import { mkdirSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { open, type Database, type RootDatabase } from 'lmdb'
import { FleekError, fromSystemError } from '../../lib/errors.ts'
import type { RangeOptions, Storage, StorageKey, Table } from './interface.ts'

export interface LmdbStorageOptions {
  /** Maximum number of named tables. */
  maxTables?: number
}

/** Opens (creating if needed) an lmdb environment in the folder `path`. */
export function openLmdbStorage(path: string, options: LmdbStorageOptions = {}): Storage {
  try {
    mkdirSync(path, { recursive: true })
  } catch (err) {
    throw fromSystemError(err, 'create the database folder', path)
  }
  let root: RootDatabase
  try {
    root = open({ path: `${path}/data.mdb`, maxDbs: options.maxTables ?? 64, compression: false })
  } catch (err) {
    throw new FleekError('IO', `cannot open the database in ${path}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  return new LmdbStorage(root)
}

class LmdbStorage implements Storage {
  readonly #root: RootDatabase
  readonly #tables = new Map<string, LmdbTable>()
  #inTransaction = false
  #closed = false

  constructor(root: RootDatabase) {
    this.#root = root
  }

  table(name: string): Table {
    this.#checkOpen()
    let table = this.#tables.get(name)
    if (table === undefined) {
      const db = this.#root.openDB<Buffer, StorageKey>(name, {
        encoding: 'binary',
        keyEncoding: 'ordered-binary',
      })
      table = new LmdbTable(name, db, () => this.#inTransaction)
      this.#tables.set(name, table)
    }
    return table
  }

  transaction<T>(fn: () => T): T {
    this.#checkOpen()
    if (this.#inTransaction) throw new FleekError('INTERNAL', 'storage transactions do not nest')
    this.#inTransaction = true
    try {
      return this.#root.transactionSync(fn)
    } finally {
      this.#inTransaction = false
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#root.close()
  }

  #checkOpen(): void {
    if (this.#closed) throw new FleekError('UNAVAILABLE', 'the database is closed')
  }
}

class LmdbTable implements Table {
  readonly name: string
  readonly #db: Database<Buffer, StorageKey>
  readonly #inTransaction: () => boolean

  constructor(name: string, db: Database<Buffer, StorageKey>, inTransaction: () => boolean) {
    this.name = name
    this.#db = db
    this.#inTransaction = inTransaction
  }

  get(key: StorageKey): unknown {
    const bytes = this.getBytes(key)
    return bytes === undefined ? undefined : dagCbor.decode(bytes)
  }

  getBytes(key: StorageKey): Uint8Array | undefined {
    const value = this.#db.get(key)
    return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  }

  put(key: StorageKey, value: unknown): void {
    this.putBytes(key, dagCbor.encode(value))
  }

  putBytes(key: StorageKey, bytes: Uint8Array): void {
    this.#checkWritable()
    // lmdb writes any Uint8Array as is (inside the transaction it is copied before putSync returns).
    this.#db.putSync(key, bytes as Buffer)
  }

  delete(key: StorageKey): void {
    this.#checkWritable()
    this.#db.removeSync(key)
  }

  *entries(options: RangeOptions = {}): Iterable<[StorageKey, unknown]> {
    const { prefix, limit } = options
    let { start, end } = options
    if (prefix !== undefined) {
      const low = prefix
      const high = prefix + '\uffff'
      if (start === undefined || String(start) < low) start = low
      if (end === undefined || String(end) > high) end = high
    }
    for (const { key, value } of this.#db.getRange({ start, end, limit })) {
      if (prefix !== undefined && !(typeof key === 'string' && key.startsWith(prefix))) continue
      yield [key, dagCbor.decode(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))]
    }
  }

  #checkWritable(): void {
    if (!this.#inTransaction())
      throw new FleekError('INTERNAL', `write to table ${this.name} outside a transaction`)
  }
}
