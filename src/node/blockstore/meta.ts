/**
 * The blockstore's metadata: one lmdb record per blob (size, kind, pin, times), keyed by the hex hash.
 * lmdb commits are durable and atomic, and several processes may open the same store at once.
 */
import { open, type RootDatabase } from 'lmdb'

import { fromSystemError } from '../../lib/errors.ts'

/** What a blob's bytes are: a plain file, or a deterministic tar of a directory (see dir-tar.ts). */
export type BlobKind = 'file' | 'directory'

export interface BlobRecord {
  sizeBytes: number
  kind: BlobKind
  pinned: boolean
  addedAtMs: number
  accessedAtMs: number
}

export class MetaStore {
  readonly #db: RootDatabase<BlobRecord, string>

  constructor(path: string) {
    try {
      this.#db = open<BlobRecord, string>({ path, compression: false })
    } catch (err) {
      throw fromSystemError(err, 'open the blockstore index', path)
    }
  }

  get(hex: string): BlobRecord | undefined {
    return this.#db.get(hex)
  }

  put(hex: string, record: BlobRecord): void {
    this.#db.transactionSync(() => this.#db.putSync(hex, record))
  }

  /** Applies `change` to the record, if there is one, in one transaction; returns the new record. */
  update(hex: string, change: (record: BlobRecord) => BlobRecord): BlobRecord | undefined {
    return this.#db.transactionSync(() => {
      const old = this.#db.get(hex)
      if (old === undefined) return undefined
      const next = change(old)
      this.#db.putSync(hex, next)
      return next
    })
  }

  remove(hex: string): void {
    this.#db.transactionSync(() => this.#db.removeSync(hex))
  }

  entries(): Array<[string, BlobRecord]> {
    return Array.from(this.#db.getRange({}), ({ key, value }) => [key, value] as [string, BlobRecord])
  }

  async close(): Promise<void> {
    await this.#db.close()
  }
}
