import { mkdirSync } from 'node:fs'
import * as dagCbor from '@ipld/dag-cbor'
import { open, type Database, type RootDatabase, type Transaction } from 'lmdb'
import { FleekError, fromSystemError } from '../../lib/errors.ts'
import type { RangeOptions, ReadTable, ReadView, Storage, StorageKey, Table } from './interface.ts'

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
    // overlappingSync off: each commit is durable when transactionSync returns, and lmdb's classic
    // free-list handling is used — with it on, a stream of small synchronous commits under load failed
    // with MDB_BAD_TXN ("reserved freelist had a data entry with zero-size").
    root = open({
      path: `${path}/data.mdb`,
      maxDbs: options.maxTables ?? 64,
      compression: false,
      overlappingSync: false,
    })
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
  readonly #views = new Set<LmdbReadView>()
  #inTransaction = false
  #closed = false

  constructor(root: RootDatabase) {
    this.#root = root
  }

  table(name: string): LmdbTable {
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
    // A transaction inside another joins it: one commit for both, and a throw aborts both.
    if (this.#inTransaction) return fn()
    this.#inTransaction = true
    try {
      return this.#root.transactionSync(fn)
    } finally {
      this.#inTransaction = false
    }
  }

  readView(tables: readonly string[]): ReadView {
    if (this.#inTransaction)
      throw new FleekError(
        'INTERNAL',
        'a read view is taken outside a transaction (it shows committed state)',
      )
    // A table opened after a read transaction began is out of that transaction's reach: open first.
    const dbs = new Map(tables.map((name) => [name, this.table(name).db]))
    const view = new LmdbReadView(dbs, this.#root.useReadTransaction(), () => this.#views.delete(view))
    this.#views.add(view)
    return view
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const view of [...this.#views]) view.close()
    await this.#root.close()
  }

  #checkOpen(): void {
    if (this.#closed) throw new FleekError('UNAVAILABLE', 'the database is closed')
  }
}

class LmdbTable implements Table {
  readonly name: string
  /** The lmdb table itself (for read views). */
  readonly db: Database<Buffer, StorageKey>
  readonly #inTransaction: () => boolean

  constructor(name: string, db: Database<Buffer, StorageKey>, inTransaction: () => boolean) {
    this.name = name
    this.db = db
    this.#inTransaction = inTransaction
  }

  get(key: StorageKey): unknown {
    const bytes = this.getBytes(key)
    return bytes === undefined ? undefined : dagCbor.decode(bytes)
  }

  getBytes(key: StorageKey): Uint8Array | undefined {
    const value = this.db.get(key)
    return value === undefined ? undefined : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  }

  put(key: StorageKey, value: unknown): void {
    this.putBytes(key, dagCbor.encode(value))
  }

  putBytes(key: StorageKey, bytes: Uint8Array): void {
    this.#checkWritable()
    // lmdb writes any Uint8Array as is (inside the transaction it is copied before putSync returns).
    this.db.putSync(key, bytes as Buffer)
  }

  delete(key: StorageKey): void {
    this.#checkWritable()
    this.db.removeSync(key)
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
    for (const { key, value } of this.db.getRange({ start, end, limit })) {
      if (prefix !== undefined && !(typeof key === 'string' && key.startsWith(prefix))) continue
      yield [key, dagCbor.decode(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))]
    }
  }

  #checkWritable(): void {
    if (!this.#inTransaction())
      throw new FleekError('INTERNAL', `write to table ${this.name} outside a transaction`)
  }
}

const asBytes = (value: Buffer): Uint8Array =>
  new Uint8Array(value.buffer, value.byteOffset, value.byteLength)

/** A read transaction of lmdb and the tables opened before it began. */
class LmdbReadView implements ReadView {
  readonly #dbs: Map<string, Database<Buffer, StorageKey>>
  readonly #txn: Transaction
  readonly #onClose: () => void
  readonly #tables = new Map<string, ReadTable>()
  #closed = false

  constructor(dbs: Map<string, Database<Buffer, StorageKey>>, txn: Transaction, onClose: () => void) {
    this.#dbs = dbs
    this.#txn = txn
    this.#onClose = onClose
  }

  table(name: string): ReadTable {
    this.#checkOpen()
    const known = this.#tables.get(name)
    if (known !== undefined) return known
    const db = this.#dbs.get(name)
    if (db === undefined) throw new FleekError('INTERNAL', `table ${name} is not in this read view`)
    const transaction = this.#txn
    const check = (): void => this.#checkOpen()
    const table: ReadTable = {
      name,
      getBytes(key) {
        check()
        const value = db.get(key, { transaction })
        return value === undefined ? undefined : asBytes(value)
      },
      get(key) {
        const bytes = this.getBytes(key)
        return bytes === undefined ? undefined : dagCbor.decode(bytes)
      },
      count() {
        check()
        return db.getCount({ transaction })
      },
      *entryBytes() {
        check()
        for (const { key, value } of db.getRange({ transaction })) {
          yield [key, asBytes(value)]
          check() // the view may have been closed while the caller held the iterator
        }
      },
    }
    this.#tables.set(name, table)
    return table
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#txn.done()
    this.#onClose()
  }

  #checkOpen(): void {
    if (this.#closed) throw new FleekError('UNAVAILABLE', 'the read view is closed')
  }
}
