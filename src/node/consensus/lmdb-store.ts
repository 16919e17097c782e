/**
 * A DagStore on lmdb. Writes are queued and committed asynchronously in call order, many to one
 * commit (lmdb's write batching): a synchronous commit costs an fsync (~5 ms here) on the event loop,
 * and the DAG writes a dozen records a round. What must be durable before it is acted on — a vote
 * before it is sent, our header before it is broadcast — is awaited by the caller with `flush()`.
 * Until its commit, a record is served from memory, so reads see every write at once. A crash loses
 * only writes not yet flushed, newest first (commits are ordered): certificates and batches are then
 * fetched from peers again, a sub-DAG whose state was not saved is handed over again.
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
  /** Rounds below this are deleted (their removal may not be committed yet: reads skip them). */
  #deletedBelow = 0

  putBatch(digest: string, round: number, encodedBatch: Uint8Array): void {
    if (this.#pendingBatches.has(digest) || this.#batchRounds.get(digest) !== undefined) return
    this.#pendingBatches.set(digest, { round, bytes: encodedBatch })
    void this.#batches.put([round, digest], encodedBatch)
    this.#track(this.#batchRounds.put(digest, round), () => this.#pendingBatches.delete(digest))
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
    void this.#certificates.put([round, digest], encodedCertificate)
    this.#track(this.#certificateRounds.put(digest, round), () => this.#pendingCertificates.delete(digest))
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
    this.#track(this.#votes.put([round, author], digest))
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
    this.#track(
      this.#root.transaction(() => {
        for (const key of this.#certificates.getKeys({ end: [round] })) {
          this.#certificates.removeSync(key)
          this.#certificateRounds.removeSync(key[1])
        }
        for (const key of this.#batches.getKeys({ end: [round] })) {
          this.#batches.removeSync(key)
          this.#batchRounds.removeSync(key[1])
        }
        for (const key of this.#votes.getKeys({ end: [round] })) this.#votes.removeSync(key)
      }),
    )
  }

  async flush(): Promise<void> {
    await this.#root.flushed
    if (this.#writeError !== undefined)
      throw fromSystemError(this.#writeError, 'write the consensus store at', this.#path)
    if (this.#closed) throw new FleekError('UNAVAILABLE', 'the consensus store is closed')
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#root.flushed
    await this.#root.close()
  }

  #putMeta(key: string, bytes: Uint8Array): void {
    this.#pendingMeta.set(key, bytes)
    this.#track(this.#meta.put(key, bytes), () => {
      if (this.#pendingMeta.get(key) === bytes) this.#pendingMeta.delete(key)
    })
  }

  /** Keeps the first failed write (`flush` reports it); `done` runs once the write is committed. */
  #track(write: Promise<unknown>, done?: () => void): void {
    write.then(
      () => done?.(),
      (err: unknown) => {
        this.#writeError ??= err
      },
    )
  }
}

function copy(value: Uint8Array | undefined): Uint8Array | undefined {
  return value === undefined ? undefined : new Uint8Array(value)
}
