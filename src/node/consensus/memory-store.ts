/**
 * An in-memory DagStore: for tests and for a node that does not need to survive a restart.
 */
import type { DagStore } from './interface.ts'

interface Entry {
  round: number
  bytes: Uint8Array
}

export class MemoryDagStore implements DagStore {
  readonly #batches = new Map<string, Entry>()
  readonly #certificates = new Map<string, Entry>()
  readonly #votes = new Map<string, { round: number; digest: string }>()
  #ownHeader: Uint8Array | undefined
  #ownHeaderRound = 0
  #state: Uint8Array | undefined

  putBatch(digest: string, round: number, encodedBatch: Uint8Array): void {
    if (!this.#batches.has(digest)) this.#batches.set(digest, { round, bytes: encodedBatch })
  }

  getBatch(digest: string): Uint8Array | undefined {
    return this.#batches.get(digest)?.bytes
  }

  putCertificate(digest: string, round: number, encodedCertificate: Uint8Array): void {
    this.#certificates.set(digest, { round, bytes: encodedCertificate })
  }

  getCertificate(digest: string): Uint8Array | undefined {
    return this.#certificates.get(digest)?.bytes
  }

  listCertificates(fromRound: number): Uint8Array[] {
    return [...this.#certificates.values()]
      .filter((e) => e.round >= fromRound)
      .sort((a, b) => a.round - b.round)
      .map((e) => e.bytes)
  }

  recordVote(author: number, round: number, digest: string): string {
    const key = `${author}:${round}`
    const earlier = this.#votes.get(key)
    if (earlier !== undefined) return earlier.digest
    this.#votes.set(key, { round, digest })
    return digest
  }

  putOwnHeader(round: number, encodedHeader: Uint8Array): void {
    if (round < this.#ownHeaderRound) return
    this.#ownHeaderRound = round
    this.#ownHeader = encodedHeader
  }

  getLastOwnHeader(): Uint8Array | undefined {
    return this.#ownHeader
  }

  putState(encodedState: Uint8Array): void {
    this.#state = encodedState
  }

  getState(): Uint8Array | undefined {
    return this.#state
  }

  deleteBelowRound(round: number): void {
    for (const map of [this.#batches, this.#certificates, this.#votes]) {
      for (const [key, entry] of map) if (entry.round < round) map.delete(key)
    }
  }

  async flush(): Promise<void> {}

  async close(): Promise<void> {}
}
