/**
 * The state snapshots a node keeps to serve late nodes: `<dir>/epoch-<E>.cbor` holds the snapshot of
 * the state right after the block that ended epoch E (the state the checkpoint of E signs). Written
 * atomically; only the latest `keep` are kept.
 */
import { closeSync, fstatSync, mkdirSync, openSync, readSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

import { FleekError, fromSystemError } from '../../lib/errors.ts'
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts'

const NAME = /^epoch-(\d+)\.cbor$/

export class SnapshotStore {
  readonly dir: string
  readonly #keep: number

  constructor(options: { dir: string; keep: number }) {
    this.dir = options.dir
    this.#keep = Math.max(1, options.keep)
  }

  /** Saves the snapshot of epoch `epoch`'s end, then drops all but the latest `keep`. */
  save(epoch: number, bytes: Uint8Array): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    writeFileAtomic(join(this.dir, `epoch-${epoch}.cbor`), bytes, { mode: 0o600 })
    for (const old of this.epochs().slice(0, -this.#keep))
      rmSync(join(this.dir, `epoch-${old}.cbor`), { force: true })
  }

  /** The epochs held, ascending. */
  epochs(): number[] {
    let names: string[]
    try {
      names = readdirSync(this.dir)
    } catch {
      return []
    }
    return names
      .map((n) => NAME.exec(n))
      .filter((m) => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b)
  }

  /** Up to `length` bytes of epoch `epoch`'s snapshot from `offset`, and its whole size. NOT_FOUND when not held. */
  read(epoch: number, offset: number, length: number): { total: number; bytes: Uint8Array } {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0)
      throw new FleekError('INVALID_INPUT', 'the snapshot offset and length must be non-negative integers')
    const path = join(this.dir, `epoch-${epoch}.cbor`)
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new FleekError('NOT_FOUND', `no snapshot of epoch ${epoch} here`)
      throw fromSystemError(err, 'read the snapshot', path)
    }
    try {
      const total = fstatSync(fd).size
      if (offset > total)
        throw new FleekError('INVALID_INPUT', `offset ${offset} is past the snapshot's ${total} bytes`)
      const bytes = new Uint8Array(Math.min(length, total - offset))
      let done = 0
      while (done < bytes.length) {
        const n = readSync(fd, bytes, done, bytes.length - done, offset + done)
        if (n === 0) break
        done += n
      }
      return { total, bytes: bytes.subarray(0, done) }
    } finally {
      closeSync(fd)
    }
  }
}
