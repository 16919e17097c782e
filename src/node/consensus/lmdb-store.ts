/**
 * A DagStore on lmdb: every write is committed (putSync) before the call returns, so a vote recorded
 * here survives `kill -9` and a restarted node never votes twice for one (author, round).
 *
 * Layout (one lmdb environment, named databases):
 *   certificates  [round, digest] → encoded certificate     certificate-rounds  digest → round
 *   batches       [round, digest] → encoded batch           batch-rounds        digest → round
 *   votes         [round, author] → header digest (hex)
 *   meta          'own-header' | 'state' → bytes
 */
import { open, type Database, type RootDatabase } from 'lmdb'

import { fromSystemError } from '../../lib/errors.ts'
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
  #closed = false

  /** Opens (creating if needed) the store in directory `path`. */
  constructor(path: string) {
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

  putBatch(digest: string, round: number, encodedBatch: Uint8Array): void {
    if (this.#batchRounds.get(digest) !== undefined) return
    this.#root.transactionSync(() => {
      this.#batches.putSync([round, digest], encodedBatch)
      this.#batchRounds.putSync(digest, round)
    })
  }

  getBatch(digest: string): Uint8Array | undefined {
    const round = this.#batchRounds.get(digest)
    return round === undefined ? undefined : copy(this.#batches.get([round, digest]))
  }

  putCertificate(digest: string, round: number, encodedCertificate: Uint8Array): void {
    this.#root.transactionSync(() => {
      this.#certificates.putSync([round, digest], encodedCertificate)
      this.#certificateRounds.putSync(digest, round)
    })
  }

  getCertificate(digest: string): Uint8Array | undefined {
    const round = this.#certificateRounds.get(digest)
    return round === undefined ? undefined : copy(this.#certificates.get([round, digest]))
  }

  listCertificates(fromRound: number): Uint8Array[] {
    const out: Uint8Array[] = []
    for (const { value } of this.#certificates.getRange({ start: [fromRound] }))
      out.push(copy(value) as Uint8Array)
    return out
  }

  recordVote(author: number, round: number, digest: string): string {
    return this.#root.transactionSync(() => {
      const earlier = this.#votes.get([round, author])
      if (earlier !== undefined) return earlier
      this.#votes.putSync([round, author], digest)
      return digest
    })
  }

  /** Headers are proposed in increasing rounds, so the last one written is the latest. */
  putOwnHeader(_round: number, encodedHeader: Uint8Array): void {
    this.#meta.putSync('own-header', encodedHeader)
  }

  getLastOwnHeader(): Uint8Array | undefined {
    return copy(this.#meta.get('own-header'))
  }

  putState(encodedState: Uint8Array): void {
    this.#meta.putSync('state', encodedState)
  }

  getState(): Uint8Array | undefined {
    return copy(this.#meta.get('state'))
  }

  deleteBelowRound(round: number): void {
    this.#root.transactionSync(() => {
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

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#root.close()
  }
}

function copy(value: Uint8Array | undefined): Uint8Array | undefined {
  return value === undefined ? undefined : new Uint8Array(value)
}
