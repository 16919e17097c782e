/**
 * Content-addressed blobs (BLAKE3) with their block trees, in one folder:
 *
 *   blobs/<hh>/<hash>        the bytes           (hh = the hash's first two hex digits)
 *   blobs/<hh>/<hash>.tree   the block tree      (tree-file.ts)
 *   tmp/<pid>-<random>.*     writes in progress  (never visible; a dead process's are removed at open)
 *   meta.mdb                 lmdb: size, kind, pin and access time per blob (meta.ts)
 *
 * A put streams into tmp/ while it builds the tree, fsyncs, records the blob, then renames the tree and
 * then the bytes into place: the bytes file appearing is the commit. A blob is present when it has
 * both a record and its bytes file; a record left by a crash between the two is dropped when seen.
 * Reads check every block against the tree, and the tree against the hash, before handing bytes out.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { join } from 'node:path'

import { Counter, Gauge, type Registry } from 'prom-client'

import { fromHex, toHex } from '../../lib/b3/index.ts'
import { newProof, resumeProof } from '../../lib/b3/proof.ts'
import { FleekError, fromSystemError } from '../../lib/errors.ts'
import { syncDir } from '../../lib/fs/atomic-write.ts'
import { createFileWriter, type CreateFileWriter, type FileWriter } from './file-writer.ts'
import { type BlobKind, type BlobRecord, MetaStore } from './meta.ts'
import { BlockTreeBuilder, checkBlock, checkTreeAgainstRoot, toBlockTree } from './tree-hash.ts'
import { BLOCK_BYTES, decodeTreeFile, encodeTreeFile, type StoredTree } from './tree-file.ts'

export interface BlockstoreOptions {
  /** The blockstore folder (absolute). */
  dir: string
  /** Size budget in bytes of blob contents; 0 = none. Past it, LRU unpinned blobs are evicted after a put. */
  maxSizeBytes: number
}

export const defaultBlockstoreOptions = { maxSizeBytes: 0 } as const

/** Optional seams: the file writer (to inject ENOSPC) and the clock (for access times). */
export interface BlockstoreDeps {
  createWriter?: CreateFileWriter
  nowMs?: () => number
  /** Where the blockstore's metrics go (a running node's registry). */
  registry?: Registry
}

/** A content hash: 32 bytes, or 64 hex digits. */
export type ContentHash = Uint8Array | string

export interface BlobInfo {
  hash: string
  sizeBytes: number
  kind: BlobKind
  pinned: boolean
  addedAtMs: number
  accessedAtMs: number
}

export interface PutOptions {
  /** Refuse (INTEGRITY, nothing stored) unless the bytes hash to this. */
  expectedHash?: ContentHash
  kind?: BlobKind
  signal?: AbortSignal
  /** Called with the byte count of each piece as it is stored (for progress). */
  onBytes?: (bytes: number) => void
}

export interface PutResult {
  hash: string
  sizeBytes: number
  blocks: number
  kind: BlobKind
  /** True when the blob was already stored (nothing was written). */
  existed: boolean
  /** Blobs evicted by the size budget after this put. */
  evicted: string[]
}

export interface ReadOptions {
  signal?: AbortSignal
  /** Record the read as an access (for LRU); default true. */
  touch?: boolean
  /** Called with each verified block's byte count (for progress). */
  onBytes?: (bytes: number) => void
  /**
   * Reuse the read buffers (less garbage, lower peak memory): only for a consumer that is done with a
   * block's bytes when it asks for the next block (e.g. it awaits each file write).
   */
  reuseBuffers?: boolean
}

/**
 * One block of a blob, for the network: its bytes (already checked against the stored tree) and the
 * Fleek ProofBuf to send before it — `new` for the first block of the stream, `resume` after — so a
 * peer's verifier (b3 BlockVerifier) can check it against the hash alone.
 */
export interface BlobBlock {
  index: number
  proof: Uint8Array
  bytes: Uint8Array
}

const TMP_DIR = 'tmp'
/** Blocks read from disk at once (4 MiB); the next group is read while one is checked. */
const READ_GROUP_BLOCKS = 16
const BLOBS_DIR = 'blobs'

/** Normalises a hash argument to 64 lower-case hex digits (INVALID_INPUT otherwise). */
export function toHexHash(hash: ContentHash): string {
  if (hash instanceof Uint8Array) {
    if (hash.length !== 32)
      throw new FleekError('INVALID_INPUT', `a content hash is 32 bytes, got ${hash.length}`)
    return toHex(hash)
  }
  if (typeof hash === 'string' && /^[0-9a-fA-F]{64}$/.test(hash)) return hash.toLowerCase()
  throw new FleekError('INVALID_INPUT', `not a content hash: expected 64 hex digits, got "${String(hash)}"`)
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export class Blockstore {
  readonly dir: string
  readonly maxSizeBytes: number
  readonly #meta: MetaStore
  readonly #createWriter: CreateFileWriter
  readonly #nowMs: () => number
  readonly #evictions: Counter | undefined
  #closed = false

  private constructor(options: BlockstoreOptions, deps: BlockstoreDeps, meta: MetaStore) {
    this.dir = options.dir
    this.maxSizeBytes = options.maxSizeBytes
    this.#meta = meta
    this.#createWriter = deps.createWriter ?? createFileWriter
    this.#nowMs = deps.nowMs ?? Date.now
    if (deps.registry !== undefined) this.#evictions = this.#registerMetrics(deps.registry)
  }

  #registerMetrics(registry: Registry): Counter {
    const entries = (): Array<[string, { sizeBytes: number }]> => (this.#closed ? [] : this.#meta.entries())
    new Gauge({
      name: 'fleek_blockstore_blobs',
      help: 'Blobs held.',
      registers: [registry],
      collect() {
        this.set(entries().length)
      },
    })
    new Gauge({
      name: 'fleek_blockstore_bytes',
      help: 'Bytes of blob contents held.',
      registers: [registry],
      collect() {
        this.set(entries().reduce((sum, [, r]) => sum + r.sizeBytes, 0))
      },
    })
    return new Counter({
      name: 'fleek_blockstore_evictions_total',
      help: 'Blobs evicted by the size budget.',
      registers: [registry],
    })
  }

  /** Opens (creating) the store in `options.dir` and removes temporary files left by dead processes. */
  static open(options: BlockstoreOptions, deps: BlockstoreDeps = {}): Blockstore {
    if (!Number.isSafeInteger(options.maxSizeBytes) || options.maxSizeBytes < 0)
      throw new FleekError('INVALID_INPUT', `blockstore.maxSizeBytes must be a non-negative integer`)
    try {
      mkdirSync(join(options.dir, TMP_DIR), { recursive: true, mode: 0o700 })
      mkdirSync(join(options.dir, BLOBS_DIR), { recursive: true, mode: 0o700 })
    } catch (err) {
      throw fromSystemError(err, 'create the blockstore', options.dir)
    }
    Blockstore.#cleanTemporaryFiles(join(options.dir, TMP_DIR))
    return new Blockstore(options, deps, new MetaStore(join(options.dir, 'meta.mdb')))
  }

  static #cleanTemporaryFiles(tmp: string): void {
    for (const name of readdirSync(tmp)) {
      const pid = Number(/^(\d+)-/.exec(name)?.[1] ?? NaN)
      if (Number.isSafeInteger(pid) && isAlive(pid)) continue
      rmSync(join(tmp, name), { force: true, recursive: true })
    }
  }

  #blobPath(hex: string): string {
    return join(this.dir, BLOBS_DIR, hex.slice(0, 2), hex)
  }

  #treePath(hex: string): string {
    return `${this.#blobPath(hex)}.tree`
  }

  #tmpPath(suffix: string): string {
    return join(this.dir, TMP_DIR, `${process.pid}-${randomBytes(6).toString('hex')}.${suffix}`)
  }

  #checkOpen(): void {
    if (this.#closed) throw new FleekError('INTERNAL', 'the blockstore is closed')
  }

  /** The record of a present blob; a record whose bytes are gone (a crash) is dropped. */
  #record(hex: string): BlobRecord | undefined {
    const record = this.#meta.get(hex)
    if (record === undefined) return undefined
    try {
      statSync(this.#blobPath(hex))
      return record
    } catch {
      this.#meta.remove(hex)
      return undefined
    }
  }

  #require(hash: ContentHash): [string, BlobRecord] {
    this.#checkOpen()
    const hex = toHexHash(hash)
    const record = this.#record(hex)
    if (record === undefined) throw new FleekError('NOT_FOUND', `no blob ${hex} in the blockstore`)
    return [hex, record]
  }

  /**
   * Stores the bytes of `source` (streamed: one block and two pieces in memory). Returns once the blob
   * is durable. Nothing becomes visible unless the whole stream was read, written and (with
   * `expectedHash`) matched. A piece is written after the next one is requested: a source must not
   * reuse a piece's memory once it has handed it out.
   */
  async put(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: PutOptions = {},
  ): Promise<PutResult> {
    this.#checkOpen()
    const expected = options.expectedHash === undefined ? undefined : toHexHash(options.expectedHash)
    const kind = options.kind ?? 'file'
    const tmpData = this.#tmpPath('data')
    const tmpTree = this.#tmpPath('tree')
    let writer: FileWriter | undefined
    let hex: string | undefined
    let recorded = false
    try {
      options.signal?.throwIfAborted()
      writer = await this.#createWriter(tmpData)
      const builder = new BlockTreeBuilder()
      // One write in flight while the next piece is hashed.
      let writing: Promise<void> | undefined
      try {
        for await (const piece of source) {
          options.signal?.throwIfAborted()
          builder.update(piece)
          await writing
          writing = writer.write(piece)
          options.onBytes?.(piece.length)
        }
        await writing
      } finally {
        await writing?.catch(() => undefined) // never close the file under a write in flight
      }
      await writer.sync()
      await writer.close()
      writer = undefined
      const { root, tree } = builder.finish()
      hex = toHex(root)
      if (expected !== undefined && expected !== hex)
        throw new FleekError(
          'INTEGRITY',
          `the content does not match the expected hash ${expected} (it is ${hex}); nothing stored`,
          {
            details: { expected, actual: hex },
          },
        )

      const existing = this.#record(hex)
      if (existing !== undefined) {
        await rm(tmpData, { force: true })
        this.#meta.put(hex, { ...existing, accessedAtMs: this.#nowMs() })
        return {
          hash: hex,
          sizeBytes: tree.sizeBytes,
          blocks: tree.blocks,
          kind: existing.kind,
          existed: true,
          evicted: [],
        }
      }

      writer = await this.#createWriter(tmpTree)
      await writer.write(encodeTreeFile(tree))
      await writer.sync()
      await writer.close()
      writer = undefined

      const now = this.#nowMs()
      this.#meta.put(hex, {
        sizeBytes: tree.sizeBytes,
        kind,
        pinned: false,
        addedAtMs: now,
        accessedAtMs: now,
      })
      recorded = true
      const shard = join(this.dir, BLOBS_DIR, hex.slice(0, 2))
      await mkdir(shard, { recursive: true, mode: 0o700 })
      await rename(tmpTree, this.#treePath(hex))
      await rename(tmpData, this.#blobPath(hex)) // the commit: the blob is now visible
      syncDir(shard)
      const evicted = await this.#evict(hex)
      return { hash: hex, sizeBytes: tree.sizeBytes, blocks: tree.blocks, kind, existed: false, evicted }
    } catch (err) {
      await writer?.close().catch(() => undefined)
      await rm(tmpData, { force: true })
      await rm(tmpTree, { force: true })
      if (recorded && hex !== undefined) {
        await rm(this.#treePath(hex), { force: true })
        this.#meta.remove(hex)
      }
      if (err instanceof FleekError || (err as Error).name === 'AbortError') throw err
      throw fromSystemError(err, 'store the blob in', this.dir)
    }
  }

  /** Evicts least-recently-used unpinned blobs (never `keep`) until the contents fit the budget. */
  async #evict(keep: string): Promise<string[]> {
    if (this.maxSizeBytes === 0) return []
    const entries = this.#meta.entries()
    let total = entries.reduce((sum, [, r]) => sum + r.sizeBytes, 0)
    if (total <= this.maxSizeBytes) return []
    const candidates = entries
      .filter(([hex, r]) => !r.pinned && hex !== keep)
      .sort(([ha, a], [hb, b]) => a.accessedAtMs - b.accessedAtMs || (ha < hb ? -1 : 1))
    const evicted: string[] = []
    for (const [hex, record] of candidates) {
      if (total <= this.maxSizeBytes) break
      await this.#delete(hex)
      total -= record.sizeBytes
      evicted.push(hex)
      this.#evictions?.inc()
    }
    return evicted
  }

  async #delete(hex: string): Promise<void> {
    try {
      await rm(this.#blobPath(hex), { force: true }) // invisible from here on
      await rm(this.#treePath(hex), { force: true })
    } catch (err) {
      throw fromSystemError(err, 'remove', this.#blobPath(hex))
    }
    this.#meta.remove(hex)
  }

  has(hash: ContentHash): boolean {
    this.#checkOpen()
    return this.#record(toHexHash(hash)) !== undefined
  }

  /** The blob's metadata, or undefined. */
  stat(hash: ContentHash): BlobInfo | undefined {
    this.#checkOpen()
    const hex = toHexHash(hash)
    const record = this.#record(hex)
    return record === undefined ? undefined : { hash: hex, ...record }
  }

  /** Every present blob, most recently accessed first. */
  list(): BlobInfo[] {
    this.#checkOpen()
    const out: BlobInfo[] = []
    for (const [hex] of this.#meta.entries()) {
      const record = this.#record(hex)
      if (record !== undefined) out.push({ hash: hex, ...record })
    }
    return out.sort((a, b) => b.accessedAtMs - a.accessedAtMs || (a.hash < b.hash ? -1 : 1))
  }

  /** Total bytes of blob contents stored. */
  sizeBytes(): number {
    return this.list().reduce((sum, b) => sum + b.sizeBytes, 0)
  }

  /** Removes a blob (NOT_FOUND when absent; REJECTED when pinned unless `force`). */
  async remove(hash: ContentHash, options: { force?: boolean } = {}): Promise<BlobInfo> {
    const [hex, record] = this.#require(hash)
    if (record.pinned && options.force !== true)
      throw new FleekError('REJECTED', `blob ${hex} is pinned: unpin it first (or force the removal)`)
    await this.#delete(hex)
    return { hash: hex, ...record }
  }

  /** Pins a blob: the size budget never evicts it. Idempotent. */
  pin(hash: ContentHash): BlobInfo {
    return this.#setPinned(hash, true)
  }

  unpin(hash: ContentHash): BlobInfo {
    return this.#setPinned(hash, false)
  }

  #setPinned(hash: ContentHash, pinned: boolean): BlobInfo {
    const [hex] = this.#require(hash)
    const record = this.#meta.update(hex, (r) => ({ ...r, pinned }))
    if (record === undefined) throw new FleekError('NOT_FOUND', `no blob ${hex} in the blockstore`)
    return { hash: hex, ...record }
  }

  /** The blob's stored tree, checked against its hash (INTEGRITY when damaged). */
  async readTree(hash: ContentHash): Promise<StoredTree> {
    const [hex] = this.#require(hash)
    return this.#loadTree(hex)
  }

  async #loadTree(hex: string): Promise<StoredTree> {
    let bytes: Uint8Array
    try {
      bytes = await readFile(this.#treePath(hex))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new FleekError(
          'INTEGRITY',
          `the block tree of blob ${hex} is missing on disk; remove the blob and put it again`,
        )
      throw fromSystemError(err, 'read', this.#treePath(hex))
    }
    const tree = decodeTreeFile(bytes, `blob ${hex}`)
    checkTreeAgainstRoot(tree, fromHex(hex), `blob ${hex}`)
    return tree
  }

  /**
   * The blob's blocks in order from `startBlock`, each checked against the stored tree before it is
   * yielded: damaged or truncated bytes on disk end the stream with INTEGRITY naming the block, and
   * no unchecked byte is ever handed out. One block in memory at a time.
   */
  async *readBlocks(
    hash: ContentHash,
    options: ReadOptions & { startBlock?: number; endBlock?: number } = {},
  ): AsyncGenerator<BlobBlock> {
    const [hex] = this.#require(hash)
    const tree = await this.#loadTree(hex)
    const start = options.startBlock ?? 0
    const end = options.endBlock ?? tree.blocks
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      start < 0 ||
      end > tree.blocks ||
      start > end
    )
      throw new FleekError(
        'INVALID_INPUT',
        `block range ${start}…${end} is outside blob ${hex} (${tree.blocks} blocks)`,
      )
    if (options.touch !== false) this.#meta.update(hex, (r) => ({ ...r, accessedAtMs: this.#nowMs() }))
    const what = `blob ${hex}`
    let handle
    try {
      handle = await open(this.#blobPath(hex), 'r')
    } catch (err) {
      throw fromSystemError(err, 'read', this.#blobPath(hex))
    }
    try {
      const { size } = await handle.stat()
      if (size > tree.sizeBytes)
        throw new FleekError(
          'INTEGRITY',
          `${what} is corrupt on disk: ${size - tree.sizeBytes} bytes too many after the last block`,
          {
            details: { block: tree.blocks - 1 },
          },
        )
      const scratch = new Uint8Array(32)
      const blockTree = toBlockTree(tree)
      // Blocks are read a group at a time, the next group while this one is hashed and handed out.
      const pool: Uint8Array[] = []
      const readGroup = async (first: number): Promise<{ bytes: Uint8Array; got: number }> => {
        const offset = first * BLOCK_BYTES
        const length = Math.max(
          0,
          Math.min(READ_GROUP_BLOCKS * BLOCK_BYTES, (end - first) * BLOCK_BYTES, tree.sizeBytes - offset),
        )
        // With reuseBuffers, groups alternate between two buffers: the consumer is done with a group
        // once it asks for a block two groups later.
        const bytes =
          options.reuseBuffers === true
            ? (pool[((first - start) / READ_GROUP_BLOCKS) % 2] ??= new Uint8Array(
                READ_GROUP_BLOCKS * BLOCK_BYTES,
              )).subarray(0, length)
            : new Uint8Array(length)
        let got = 0
        while (got < length) {
          const { bytesRead } = await handle.read(bytes, got, length - got, offset + got)
          if (bytesRead === 0) break
          got += bytesRead
        }
        return { bytes, got }
      }
      let next: Promise<{ bytes: Uint8Array; got: number }> | undefined
      try {
        next = start < end ? readGroup(start) : undefined
        for (let first = start; first < end; first += READ_GROUP_BLOCKS) {
          const group = await (next as Promise<{ bytes: Uint8Array; got: number }>)
          next = first + READ_GROUP_BLOCKS < end ? readGroup(first + READ_GROUP_BLOCKS) : undefined
          for (let i = first; i < Math.min(first + READ_GROUP_BLOCKS, end); i++) {
            options.signal?.throwIfAborted()
            const at = (i - first) * BLOCK_BYTES
            const length = Math.min(BLOCK_BYTES, tree.sizeBytes - i * BLOCK_BYTES)
            if (group.got < at + length)
              throw new FleekError(
                'INTEGRITY',
                `${what} is truncated on disk: block ${i} is short (${i * BLOCK_BYTES + Math.max(0, group.got - at)} of ${tree.sizeBytes} bytes)`,
                { details: { block: i } },
              )
            const bytes = group.bytes.subarray(at, at + length)
            checkBlock(tree, i, bytes, what, scratch)
            const proof = i === start ? newProof(blockTree, i) : resumeProof(blockTree, i)
            options.onBytes?.(bytes.length)
            yield { index: i, proof, bytes }
          }
        }
      } finally {
        await next?.catch(() => undefined) // never close the file under a read in flight
      }
    } finally {
      await handle.close()
    }
  }

  /** The blob's bytes, every block verified before it is yielded (see readBlocks). */
  async *read(hash: ContentHash, options: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    for await (const block of this.readBlocks(hash, options)) yield block.bytes
  }

  /** Re-hashes the whole blob against its hash; throws INTEGRITY naming the first bad block. */
  async verify(
    hash: ContentHash,
    options: ReadOptions = {},
  ): Promise<{ hash: string; sizeBytes: number; blocks: number }> {
    const [hex, record] = this.#require(hash)
    let blocks = 0
    const reading = this.readBlocks(hex, { ...options, touch: options.touch ?? false, reuseBuffers: true })
    for await (const block of reading) blocks = block.index + 1
    return { hash: hex, sizeBytes: record.sizeBytes, blocks }
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#meta.close()
  }
}
