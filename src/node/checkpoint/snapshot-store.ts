/**
 * The state snapshots a node keeps to serve late nodes: `<dir>/epoch-<E>.cbor` holds the snapshot of
 * the state right after the block that ended epoch E (the state the checkpoint of E signs). Written
 * atomically (a temporary `.epoch-<E>.cbor.<pid>-<random>.tmp` renamed into place); only the latest
 * `keep` are kept.
 */
import { randomBytes } from 'node:crypto'
import { closeSync, fstatSync, mkdirSync, openSync, readSync, readdirSync, rmSync } from 'node:fs'
import { type FileHandle, open, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'

import { createHasher } from '../../lib/b3/index.ts'
import { FleekError, fromSystemError } from '../../lib/errors.ts'
import { syncDir, writeFileAtomic } from '../../lib/fs/atomic-write.ts'
import { isProcessRunning } from '../../lib/process.ts'

const NAME = /^epoch-(\d+)\.cbor$/
/** A write in progress (or left by a process that died): the writer's pid is in the name. */
const TEMP_NAME = /^\.epoch-\d+\.cbor\.(\d+)-[0-9a-f]+\.tmp$/

export class SnapshotStore {
  readonly dir: string
  readonly #keep: number

  constructor(options: { dir: string; keep: number }) {
    this.dir = options.dir
    this.#keep = Math.max(1, options.keep)
  }

  /** Saves the snapshot of epoch `epoch`'s end, then drops all but the latest `keep`. */
  save(epoch: number, bytes: Uint8Array): void {
    this.#ensureDir()
    writeFileAtomic(join(this.dir, `epoch-${epoch}.cbor`), bytes, { mode: 0o600 })
    this.#prune()
  }

  /**
   * Saves epoch `epoch`'s snapshot from `pieces`, written one by one (each is written before the next
   * is asked for, so a producer may hand out a buffer it reuses) and hashed as they go; the file
   * appears whole, fsynced, or not at all. Then drops all but the latest `keep`. `signal` stops it
   * between pieces (the temporary file is removed, the signal's reason thrown).
   */
  async write(
    epoch: number,
    pieces: Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    signal?: AbortSignal,
  ): Promise<{ sizeBytes: number; hash: Uint8Array }> {
    if (!Number.isSafeInteger(epoch) || epoch < 0)
      throw new FleekError('INVALID_INPUT', `the snapshot epoch must be a non-negative integer, got ${epoch}`)
    signal?.throwIfAborted()
    this.#ensureDir()
    this.#removeDeadTemporaries()
    const path = join(this.dir, `epoch-${epoch}.cbor`)
    const tmp = join(this.dir, `.epoch-${epoch}.cbor.${process.pid}-${randomBytes(6).toString('hex')}.tmp`)
    const hasher = createHasher()
    let sizeBytes = 0
    let handle: FileHandle | undefined
    try {
      handle = await open(tmp, 'wx', 0o600)
      for await (const piece of pieces) {
        signal?.throwIfAborted()
        hasher.update(piece)
        let off = 0
        while (off < piece.length) off += (await handle.write(piece, off, piece.length - off)).bytesWritten
        sizeBytes += piece.length
      }
      signal?.throwIfAborted()
      await handle.sync()
      await handle.close()
      handle = undefined
      await rename(tmp, path)
    } catch (err) {
      await handle?.close().catch(() => undefined)
      await rm(tmp, { force: true })
      if (signal?.aborted && err === signal.reason) throw err
      throw fromSystemError(err, 'write the snapshot', path)
    }
    syncDir(this.dir)
    this.#prune()
    return { sizeBytes, hash: hasher.digest() }
  }

  #ensureDir(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    } catch (err) {
      throw fromSystemError(err, 'create the snapshot folder', this.dir)
    }
  }

  #prune(): void {
    for (const old of this.epochs().slice(0, -this.#keep))
      rmSync(join(this.dir, `epoch-${old}.cbor`), { force: true })
  }

  /** Temporary files of writers that died (a crash mid-write) are removed. */
  #removeDeadTemporaries(): void {
    for (const name of readdirSync(this.dir)) {
      const pid = TEMP_NAME.exec(name)?.[1]
      if (pid !== undefined && !isProcessRunning(Number(pid))) rmSync(join(this.dir, name), { force: true })
    }
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
