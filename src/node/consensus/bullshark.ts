/**
 * Bullshark ordering over a Narwhal DAG of certificates. Pure: no I/O, no clock, no crypto.
 *
 * The anchor (leader) of each even round r ≥ 2 is `leaderOf(r, n)`. It commits as soon as the
 * certificates of round r+1 that reference it reach the validity threshold f+1. Earlier uncommitted
 * anchors that the committed anchor reaches by a path commit first, oldest first. Each committed
 * anchor's causal history (minus what is already committed) is emitted by round, then author.
 * Rounds more than `gcDepth` below the last committed round are dropped.
 *
 * Mirrors `consensus/src/bullshark.rs` of MystenLabs/narwhal (same skip rule: a certificate whose
 * author already has a committed certificate of the same or a later round is not emitted).
 */
import { FleekError } from '../../lib/errors.ts'
import { computeValidityThreshold } from './committee.ts'

/** What the ordering needs to know of a certificate. `digest` and `parents` are any stable ids (hex). */
export interface DagVertex {
  readonly digest: string
  readonly round: number
  /** Index of the author in the committee. */
  readonly author: number
  readonly parents: readonly string[]
  readonly timestampMs: number
  readonly batchDigests: readonly Uint8Array[]
}

export interface CommittedSubDag<T extends DagVertex = DagVertex> {
  /** Sequence number of this sub-DAG, 0, 1, 2, … without gaps. */
  index: number
  anchorRound: number
  /** Committee index of the anchor's author. */
  leader: number
  /** The anchor's causal history not committed before, by round then author; the anchor is last. */
  certificates: T[]
  /** Deterministic: the anchor header's timestamp, raised to the previous sub-DAG's if lower. */
  timestampMs: number
  /** The batch digests of `certificates`, in order. */
  batchDigests: Uint8Array[]
}

/** The state to persist so that ordering resumes after a restart. */
export interface BullsharkState {
  /** Per committee index: round of its last committed certificate (0 = none). */
  lastCommittedRounds: number[]
  /** Index the next committed sub-DAG gets. */
  nextIndex: number
  /** Timestamp of the last committed sub-DAG (0 = none). */
  lastTimestampMs: number
}

export interface BullsharkOptions {
  /** Rounds kept below the last committed round. */
  gcDepth: number
}

/** The anchor of even round `round` in a committee of `committeeSize`: round-robin. */
export function leaderOf(round: number, committeeSize: number): number {
  return Math.floor(round / 2) % committeeSize
}

export function createInitialBullsharkState(committeeSize: number): BullsharkState {
  return { lastCommittedRounds: new Array<number>(committeeSize).fill(0), nextIndex: 0, lastTimestampMs: 0 }
}

export class Bullshark<T extends DagVertex = DagVertex> {
  readonly #committeeSize: number
  readonly #validity: number
  readonly #gcDepth: number
  readonly #lastCommitted: number[]
  #nextIndex: number
  #lastTimestampMs: number
  /** round → author → certificate */
  readonly #dag = new Map<number, Map<number, T>>()
  readonly #byDigest = new Map<string, T>()

  constructor(committeeSize: number, options: BullsharkOptions, state?: BullsharkState) {
    if (!Number.isInteger(committeeSize) || committeeSize < 1) {
      throw new FleekError('INVALID_INPUT', `committee size must be a positive integer, got ${committeeSize}`)
    }
    if (!Number.isInteger(options.gcDepth) || options.gcDepth < 2) {
      throw new FleekError('INVALID_INPUT', `gcDepth must be an integer ≥ 2, got ${options.gcDepth}`)
    }
    const initial = state ?? createInitialBullsharkState(committeeSize)
    if (initial.lastCommittedRounds.length !== committeeSize) {
      throw new FleekError('INVALID_INPUT', 'stored consensus state does not match the committee size')
    }
    this.#committeeSize = committeeSize
    this.#validity = computeValidityThreshold(committeeSize)
    this.#gcDepth = options.gcDepth
    this.#lastCommitted = [...initial.lastCommittedRounds]
    this.#nextIndex = initial.nextIndex
    this.#lastTimestampMs = initial.lastTimestampMs
  }

  /** A copy of the state to persist (take it after the sub-DAGs returned so far are handled). */
  get state(): BullsharkState {
    return {
      lastCommittedRounds: [...this.#lastCommitted],
      nextIndex: this.#nextIndex,
      lastTimestampMs: this.#lastTimestampMs,
    }
  }

  /** Highest round of any committed certificate (0 before the first commit). */
  get lastCommittedRound(): number {
    return Math.max(0, ...this.#lastCommitted)
  }

  /**
   * Round of the last committed certificate of `author` (0: none). A certificate of `author` of this
   * round or an earlier one that is not committed yet never will be: the history walk skips it.
   */
  lastCommittedRoundOf(author: number): number {
    return this.#lastCommitted[author] ?? 0
  }

  /** Rounds below this are garbage-collected: not kept, not ordered. */
  get gcRound(): number {
    return Math.max(0, this.lastCommittedRound - this.#gcDepth)
  }

  /**
   * Adds a certificate whose parents were added before (or are below the GC round) and returns the
   * sub-DAGs this commits, in order (often none). A duplicate or a collected certificate is ignored.
   */
  insert(certificate: T): CommittedSubDag<T>[] {
    const { round, author } = certificate
    if (!Number.isInteger(author) || author < 0 || author >= this.#committeeSize) {
      throw new FleekError('INVALID_INPUT', `certificate author ${author} is not in the committee`)
    }
    if (round < this.gcRound || this.#lastCommitted[author] >= round) return []
    let byAuthor = this.#dag.get(round)
    if (byAuthor === undefined) {
      byAuthor = new Map()
      this.#dag.set(round, byAuthor)
    }
    if (byAuthor.has(author)) return []
    byAuthor.set(author, certificate)
    this.#byDigest.set(certificate.digest, certificate)

    // A certificate of round r+1 may complete the support of the anchor of round r.
    const anchorRound = round - 1
    if (anchorRound < 2 || anchorRound % 2 !== 0) return []
    if (anchorRound <= this.lastCommittedRound) return []
    const anchor = this.#anchorAt(anchorRound)
    if (anchor === undefined) return []
    let support = 0
    for (const child of byAuthor.values()) if (child.parents.includes(anchor.digest)) support++
    if (support < this.#validity) return []

    const out: CommittedSubDag<T>[] = []
    for (const linked of this.#collectLinkedAnchors(anchor).reverse()) {
      const certificates = this.#collectHistory(linked)
      for (const c of certificates) {
        if (c.round > this.#lastCommitted[c.author]) this.#lastCommitted[c.author] = c.round
      }
      const timestampMs = Math.max(this.#lastTimestampMs, linked.timestampMs)
      this.#lastTimestampMs = timestampMs
      out.push({
        index: this.#nextIndex++,
        anchorRound: linked.round,
        leader: linked.author,
        certificates,
        timestampMs,
        batchDigests: certificates.flatMap((c) => [...c.batchDigests]),
      })
    }
    this.#collectGarbage()
    return out
  }

  #anchorAt(round: number): T | undefined {
    return this.#dag.get(round)?.get(leaderOf(round, this.#committeeSize))
  }

  /** The anchor, then each earlier uncommitted anchor linked to the previous one, newest first. */
  #collectLinkedAnchors(anchor: T): T[] {
    const chain = [anchor]
    let current = anchor
    for (let r = anchor.round - 2; r > this.lastCommittedRound; r -= 2) {
      const previous = this.#anchorAt(r)
      if (previous === undefined) continue
      if (this.#isLinked(current, previous)) {
        chain.push(previous)
        current = previous
      }
    }
    return chain
  }

  /** Whether a path of parent links leads from `from` down to `to`. */
  #isLinked(from: T, to: T): boolean {
    let frontier: T[] = [from]
    for (let r = from.round; r > to.round; r--) {
      const next = new Map<string, T>()
      for (const c of frontier) {
        for (const digest of c.parents) {
          const parent = this.#byDigest.get(digest)
          if (parent !== undefined) next.set(digest, parent)
        }
      }
      frontier = [...next.values()]
      if (frontier.length === 0) return false
    }
    return frontier.some((c) => c.digest === to.digest)
  }

  /** The anchor's causal history not yet committed, by round then author (the anchor is last). */
  #collectHistory(anchor: T): T[] {
    const seen = new Set<string>([anchor.digest])
    const stack: T[] = [anchor]
    const found: T[] = []
    while (stack.length > 0) {
      const c = stack.pop() as T
      found.push(c)
      for (const digest of c.parents) {
        if (seen.has(digest)) continue
        seen.add(digest)
        const parent = this.#byDigest.get(digest)
        if (parent === undefined) continue // collected
        if (this.#lastCommitted[parent.author] >= parent.round) continue
        stack.push(parent)
      }
    }
    return found.sort((a, b) => a.round - b.round || a.author - b.author)
  }

  #collectGarbage(): void {
    const gcRound = this.gcRound
    for (const [round, byAuthor] of this.#dag) {
      if (round >= gcRound) continue
      for (const c of byAuthor.values()) this.#byDigest.delete(c.digest)
      this.#dag.delete(round)
    }
  }
}
