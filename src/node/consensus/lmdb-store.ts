/**
 * A DagStore on lmdb. Writes are queued and committed together, in call order, in one synchronous
 * lmdb transaction (one fsync, ~5 ms here) — at the next turn of the event loop, or at once when the
 * caller needs them durable (`flush()`: a vote before it is sent, our header before it is broadcast).
 * One commit per write cost a dozen fsyncs a round on the event loop. Until its commit a record is
 * served from memory, so reads see every write at once. A crash loses only writes not yet committed,
 * newest first: certificates and batches are then fetched from peers again, a sub-DAG whose state was
 * not saved is handed over again. (lmdb's asynchronous writes were tried first; under load they
 * corrupted the free list of another environment of the process: MDB_BAD_TXN.)
 *
 * Layout (one lmdb environment, named databases):
 *   certificates  [round, digest] → encoded certificate     certificate-rounds  digest → round
 *   batches       [round, digest] → encoded batch           batch-rounds        digest → round
 *   votes         [round, author] → header digest (hex)
 *   meta          'own-header' | 'state' → bytes
 */
import { open, type Database, type RootDatabase } from 'lmdb'

import { FleekError, fromSystemError } from '../../lib/errors.ts'
import type { DagStore } from './interface.ts'

type RoundKey = [number, string]

export class LmdbDagStore implements DagStore {
  readonly #root: RootDatabase
  readonly #certificates: Database<Uint8Array, RoundKey>
  readonly #certificateRounds: Database<number, string>
  readonly #batches: Database<Uint8Array, RoundKey>
  readonly #batchRounds: Database<number, string>
  readonly #votes: Database<string, [number, number]>
  readonly #meta: Database<Uint8Array, string>
  readonly #path: string
  #closed = false

  /** Opens (creating if needed) the store in directory `path`. */
  constructor(path: string) {
    this.#path = path
    try {
      this.#root = open({ path, maxDbs: 8 })
    } catch (err) {
      throw fromSystemError(err, 'open the consensus store at', path)
    }
    this.#certificates = this.#root.openDB('certificates', { encoding: 'binary' })
    this.#certificateRounds = this.#root.openDB('certificate-rounds', { encoding: 'msgpack' })
    this.#batches = this.#root.openDB('batches', { encoding: 'binary' })
    this.#batchRounds = this.#root.openDB('batch-rounds', { encoding: 'msgpack' })
    this.#votes = this.#root.openDB('votes', { encoding: 'string' })
    this.#meta = this.#root.openDB('meta', { encoding: 'binary' })
  }

  /** Written but not committed yet: served from here meanwhile. */
  readonly #pendingBatches = new Map<string, { round: number; bytes: Uint8Array }>()
  readonly #pendingCertificates = new Map<string, { round: number; bytes: Uint8Array }>()
  readonly #pendingMeta = new Map<string, Uint8Array>()
  /** Votes of this process ("round:author" → digest), so a vote queued is seen before its commit. */
  readonly #recentVotes = new Map<string, { round: number; digest: string }>()
  #writeError: unknown
  /** Writes waiting for the next commit, and what to do once it is done. */
  #queue: Array<{ write: () => void; done?: () => void }> = []
  #commitScheduled = false
  /** Rounds below this are deleted (their removal may not be committed yet: reads skip them). */
  #deletedBelow = 0

  putBatch(digest: string, round: number, encodedBatch: Uint8Array): void {
    if (this.#pendingBatches.has(digest) || this.#batchRounds.get(digest) !== undefined) return
    this.#pendingBatches.set(digest, { round, bytes: encodedBatch })
    this.#enqueue(
      () => {
        this.#batches.putSync([round, digest], encodedBatch)
        this.#batchRounds.putSync(digest, round)
      },
      () => this.#pendingBatches.delete(digest),
    )
  }

  getBatch(digest: string): Uint8Array | undefined {
    const pending = this.#pendingBatches.get(digest)
    if (pending !== undefined) return pending.bytes
    const round = this.#batchRounds.get(digest)
    return round === undefined || round < this.#deletedBelow
      ? undefined
      : copy(this.#batches.get([round, digest]))
  }

  putCertificate(digest: string, round: number, encodedCertificate: Uint8Array): void {
    this.#pendingCertificates.set(digest, { round, bytes: encodedCertificate })
    this.#enqueue(
      () => {
        this.#certificates.putSync([round, digest], encodedCertificate)
        this.#certificateRounds.putSync(digest, round)
      },
      () => this.#pendingCertificates.delete(digest),
    )
  }

  getCertificate(digest: string): Uint8Array | undefined {
    const pending = this.#pendingCertificates.get(digest)
    if (pending !== undefined) return pending.bytes
    const round = this.#certificateRounds.get(digest)
    return round === undefined || round < this.#deletedBelow
      ? undefined
      : copy(this.#certificates.get([round, digest]))
  }

  listCertificates(from: number): Uint8Array[] {
    const fromRound = Math.max(from, this.#deletedBelow)
    const found: { round: number; bytes: Uint8Array }[] = []
    const seen = new Set<string>()
    for (const { key, value } of this.#certificates.getRange({ start: [fromRound] })) {
      seen.add(key[1])
      found.push({ round: key[0], bytes: copy(value) as Uint8Array })
    }
    for (const [digest, e] of this.#pendingCertificates)
      if (e.round >= fromRound && !seen.has(digest)) found.push(e)
    return found.sort((a, b) => a.round - b.round).map((e) => e.bytes)
  }

  recordVote(author: number, round: number, digest: string): string {
    const key = `${round}:${author}`
    const recent = this.#recentVotes.get(key)
    if (recent !== undefined) return recent.digest
    const earlier = this.#votes.get([round, author])
    if (earlier !== undefined) {
      this.#recentVotes.set(key, { round, digest: earlier })
      return earlier
    }
    this.#recentVotes.set(key, { round, digest })
    this.#enqueue(() => this.#votes.putSync([round, author], digest))
    return digest
  }

  /** Headers are proposed in increasing rounds, so the last one written is the latest. */
  putOwnHeader(_round: number, encodedHeader: Uint8Array): void {
    this.#putMeta('own-header', encodedHeader)
  }

  getLastOwnHeader(): Uint8Array | undefined {
    return this.#pendingMeta.get('own-header') ?? copy(this.#meta.get('own-header'))
  }

  putState(encodedState: Uint8Array): void {
    this.#putMeta('state', encodedState)
  }

  getState(): Uint8Array | undefined {
    return this.#pendingMeta.get('state') ?? copy(this.#meta.get('state'))
  }

  deleteBelowRound(round: number): void {
    if (round <= this.#deletedBelow) return
    this.#deletedBelow = round
    for (const [key, vote] of this.#recentVotes) if (vote.round < round) this.#recentVotes.delete(key)
    for (const pending of [this.#pendingBatches, this.#pendingCertificates])
      for (const [digest, e] of pending) if (e.round < round) pending.delete(digest)
    this.#enqueue(() => {
      for (const key of this.#certificates.getKeys({ end: [round] })) {
        this.#certificates.removeSync(key)
        this.#certificateRounds.removeSync(key[1])
      }
      for (const key of this.#batches.getKeys({ end: [round] })) {
        this.#batches.removeSync(key)
        this.#batchRounds.removeSync(key[1])
      }
      for (const key of this.#votes.getKeys({ end: [round] })) this.#votes.removeSync(key)
    })
  }

  async flush(): Promise<void> {
    this.#commit()
    if (this.#writeError !== undefined)
      throw fromSystemError(this.#writeError, 'write the consensus store at', this.#path)
    if (this.#closed) throw new FleekError('UNAVAILABLE', 'the consensus store is closed')
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#commit()
    this.#closed = true
    await this.#root.close()
  }

  #putMeta(key: string, bytes: Uint8Array): void {
    this.#pendingMeta.set(key, bytes)
    this.#enqueue(
      () => this.#meta.putSync(key, bytes),
      () => {
        if (this.#pendingMeta.get(key) === bytes) this.#pendingMeta.delete(key)
      },
    )
  }

  #enqueue(write: () => void, done?: () => void): void {
    if (this.#closed) return
    this.#queue.push({ write, done })
    if (this.#commitScheduled) return
    this.#commitScheduled = true
    setImmediate(() => this.#commit())
  }

  /** Commits the queued writes in one transaction; the first failure is kept (`flush` reports it). */
  #commit(): void {
    this.#commitScheduled = false
    if (this.#queue.length === 0 || this.#closed) return
    const queue = this.#queue
    this.#queue = []
    try {
      this.#root.transactionSync(() => {
        for (const op of queue) op.write()
      })
      for (const op of queue) op.done?.()
    } catch (err) {
      this.#writeError ??= err
    }
  }
}

function copy(value: Uint8Array | undefined): Uint8Array | undefined {
  return value === undefined ? undefined : new Uint8Array(value)
}
