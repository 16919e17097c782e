// Long file: the Narwhal primary is one event-driven state machine (rounds, votes, certificates, parent waits, re-proposals, GC) whose invariants span all of it; split, its parts would share every field.
/**
 * The Narwhal primary as an event-driven state machine, with Bullshark ordering on top.
 *
 * Inputs: transactions (`submit`), peer messages (`handleMessage`), peer requests (`handleRequest`)
 * and timers. Outputs: messages through `ConsensusNetwork`, writes to `DagStore`, and committed
 * sub-DAGs handed to the commit handler one at a time, in order. A committee of one runs exactly
 * this code: its own vote is a quorum, so it certifies its own headers.
 */
import type { KeyObject } from 'node:crypto'

import * as dagCbor from '@ipld/dag-cbor'

import { createDeadline } from '../../lib/abort.ts'
import { FleekError, isFleekError } from '../../lib/errors.ts'
import {
  Bullshark,
  createInitialBullsharkState,
  leaderOf,
  type BullsharkState,
  type CommittedSubDag,
  type DagVertex,
} from './bullshark.ts'
import { toHex } from './committee.ts'
import type {
  ConsensusClock,
  ConsensusLogger,
  ConsensusMetrics,
  ConsensusNetwork,
  DagStore,
  PeerKey,
} from './interface.ts'
import {
  computeBatchDigest,
  computeCertificateDigest,
  computeHeaderDigest,
  decodeBatch,
  decodeCertificate,
  decodeConsensusMessage,
  decodeConsensusRequest,
  decodeConsensusResponse,
  decodeHeader,
  encodeBatch,
  encodeCertificate,
  encodeConsensusMessage,
  encodeConsensusRequest,
  encodeConsensusResponse,
  encodeHeader,
  signHeader,
  signVote,
  verifyCertificate,
  verifyHeader,
  verifyVote,
  type Batch,
  type Certificate,
  type CommitteeContext,
  type ConsensusRequest,
  type ConsensusResponse,
  type Header,
  type Vote,
} from './messages.ts'

export interface ConsensusOptions {
  /** A batch is sealed when its transactions reach this size… */
  maxBatchBytes: number
  /** …or this long after its first transaction. */
  maxBatchDelayMs: number
  /** A header is proposed as soon as this many batches wait (and the parents are there)… */
  headerBatches: number
  /** …or when this long passed since the last header (empty headers keep the DAG going). */
  maxHeaderDelayMs: number
  /** At most this many batch digests in one header. */
  maxHeaderBatches: number
  /**
   * Once the previous round has its quorum, wait at most this long for the rest of it: our own
   * header's certificate, and the certificates of the members that had one in the round before. A
   * certificate that the next round does not reference commits rounds later (through its author's
   * next one) or not at all (its batches are proposed again), so a short wait here cuts the tail.
   */
  maxParentWaitMs: number
  /** Rounds kept below the last committed round. */
  gcDepth: number
  /**
   * Rounds of certificates and batches kept in the store below the last committed round (at least
   * `gcDepth`): a member that was down fetches the history it missed from these, parent by parent.
   */
  retainRounds: number
  /** Attempts to fetch a missing certificate or batch (each from the next peer). */
  syncRetries: number
  /** Time allowed for one fetch attempt. */
  syncTimeoutMs: number
  /** Hand sub-DAGs without transactions to the commit handler too. */
  deliverEmptySubDags: boolean
}

export const defaultConsensusOptions: ConsensusOptions = {
  maxBatchBytes: 512 * 1024,
  maxBatchDelayMs: 50,
  headerBatches: 1,
  maxHeaderDelayMs: 200,
  maxHeaderBatches: 1000,
  maxParentWaitMs: 50,
  gcDepth: 50,
  retainRounds: 1000,
  syncRetries: 3,
  syncTimeoutMs: 2000,
  deliverEmptySubDags: false,
}

export type CommitHandler = (
  sub: CommittedSubDag<DagCertificate>,
  transactions: Uint8Array[],
) => Promise<void>

/** A certificate as the DAG holds it. */
export interface DagCertificate extends DagVertex {
  certificate: Certificate
}

export interface CoreDeps {
  ctx: CommitteeContext
  /** This node's index in the committee. */
  me: number
  secretKey: KeyObject
  store: DagStore
  network: ConsensusNetwork
  clock: ConsensusClock
  logger: ConsensusLogger
  metrics: ConsensusMetrics
}

/** The longest wait between two sends of an uncertified header of ours. */
const MAX_RESEND_MS = 4000

/** Where the time of one of our batches went (clock ms; 0 = not yet). Debug logs and metrics read it. */
interface BatchTrace {
  transactions: number
  /** Its first transaction arrived. */
  openedAtMs: number
  sealedAtMs: number
  /** First put into a header of ours. */
  proposedAtMs: number
  /** Round of the last header of ours that carried it, and how many did. */
  round: number
  proposals: number
  /** The header that carried it was certified. */
  certifiedAtMs: number
}

/**
 * A member heard from within this many parent waits is worth waiting for (it is slow, not down); one
 * silent for longer (down, cut off) is not waited for.
 */
const LIVE_WAITS = 20

/** Traces kept at most (a bound, not a working limit: a trace goes when its batch commits). */
const MAX_TRACES = 100_000

interface OwnHeader {
  header: Header
  digest: string
  votes: Map<number, Uint8Array>
  certified: boolean
  /** Stored durably (sent only then). */
  durable: boolean
}

export class NarwhalCore {
  readonly #options: ConsensusOptions
  readonly #ctx: CommitteeContext
  readonly #me: number
  readonly #secretKey: KeyObject
  readonly #store: DagStore
  readonly #network: ConsensusNetwork
  readonly #clock: ConsensusClock
  readonly #log: ConsensusLogger
  readonly #metrics: ConsensusMetrics
  readonly #traces = new Map<string, BatchTrace>()
  #batchOpenedAtMs = 0
  readonly #peers: PeerKey[]
  readonly #indexOf: Map<PeerKey, number>
  /** When each member was last heard from (any message), clock ms; -Infinity: never. */
  readonly #heardAtMs: number[]
  readonly #abort = new AbortController()

  #bullshark: Bullshark<DagCertificate>
  /** Committed state as of the last sub-DAG handed to the handler (what is persisted). */
  #handledState: BullsharkState
  readonly #dag = new Map<string, DagCertificate>()
  readonly #rounds = new Map<number, Map<number, DagCertificate>>()
  readonly #accepting = new Map<string, Promise<boolean>>()
  readonly #uncommittedPayload = new Set<string>()
  /** Own certificates with batches not committed yet: digest → round and batch digests. */
  readonly #ownUncommitted = new Map<string, { round: number; batches: Uint8Array[] }>()

  #started = false
  #closed = false
  #handler: CommitHandler | undefined
  #delivery: Promise<void> = Promise.resolve()
  #failed = false

  /** Last round this node proposed a header for (0: none yet). */
  #round = 0
  #ownHeader: OwnHeader | undefined
  #pendingDigests: Uint8Array[] = []
  #headerDelayElapsed = false
  #headerTimer: unknown
  /** The parent round whose wait (`maxParentWaitMs`) is armed, and whether it ran out. */
  #parentWaitRound = 0
  #parentWaitElapsed = false
  #parentWaitTimer: unknown
  #resendTimer: unknown
  #batchTransactions: Uint8Array[] = []
  #batchBytes = 0
  #batchTimer: unknown

  constructor(options: ConsensusOptions, deps: CoreDeps) {
    this.#options = options
    this.#ctx = deps.ctx
    this.#me = deps.me
    this.#secretKey = deps.secretKey
    this.#store = deps.store
    this.#network = deps.network
    this.#clock = deps.clock
    this.#log = deps.logger
    this.#metrics = deps.metrics
    this.#peers = deps.ctx.committee.members.map((m) => toHex(m.publicKey))
    this.#indexOf = new Map(this.#peers.map((p, i) => [p, i]))
    this.#heardAtMs = this.#peers.map(() => -Infinity)
    this.#handledState = this.#loadState()
    this.#bullshark = new Bullshark(this.#ctx.size, { gcDepth: options.gcDepth }, this.#handledState)
  }

  onCommit(handler: CommitHandler): void {
    this.#handler = handler
  }

  /** Recovers the DAG from the store, then starts proposing. */
  start(): void {
    if (this.#started) throw new FleekError('USAGE', 'consensus is already started')
    if (this.#handler === undefined)
      throw new FleekError('USAGE', 'register a commit handler before starting consensus')
    this.#started = true
    this.#recover()
    this.#restartHeaderTimer()
    this.#tryPropose()
  }

  /** The highest round this node has proposed. */
  get round(): number {
    return this.#round
  }

  /** Committed state as handed to the handler so far. */
  get committedState(): BullsharkState {
    return structuredClone(this.#handledState)
  }

  /** Resolves once every sub-DAG committed so far has been handled. */
  async flushCommits(): Promise<void> {
    await this.#delivery
  }

  submit(transaction: Uint8Array): void {
    if (!(transaction instanceof Uint8Array) || transaction.length === 0) {
      throw new FleekError('INVALID_INPUT', 'a transaction must be non-empty bytes')
    }
    if (transaction.length > this.#options.maxBatchBytes) {
      throw new FleekError(
        'INVALID_INPUT',
        `transaction of ${transaction.length} bytes exceeds the batch size`,
      )
    }
    if (this.#closed) throw new FleekError('UNAVAILABLE', 'consensus is stopped')
    if (this.#batchTransactions.length === 0) this.#batchOpenedAtMs = this.#clock.now()
    this.#batchTransactions.push(transaction)
    this.#batchBytes += transaction.length
    if (this.#batchBytes >= this.#options.maxBatchBytes) this.#sealBatch()
    else if (this.#batchTimer === undefined) {
      this.#batchTimer = this.#clock.setTimeout(() => {
        this.#batchTimer = undefined
        this.#sealBatch()
      }, this.#options.maxBatchDelayMs)
    }
  }

  /** A message from a peer. Rejects with INVALID_INPUT when the peer sent something invalid. */
  async handleMessage(from: PeerKey, bytes: Uint8Array): Promise<void> {
    if (!this.#started || this.#closed) return
    const message = decodeConsensusMessage(this.#ctx, bytes)
    const index = this.#indexOf.get(from)
    if (index !== undefined) this.#heardAtMs[index] = this.#clock.now()
    switch (message.type) {
      case 'batch':
        this.#storeBatch(message.batch)
        return
      case 'header':
        await this.#processHeader(message.header, from)
        return
      case 'vote':
        await this.#processVote(message.vote)
        return
      case 'certificate':
        await this.#processCertificate(message.certificate, from, false)
        return
    }
  }

  /** A request from a peer; answers with what this node holds. */
  async handleRequest(_from: PeerKey, bytes: Uint8Array): Promise<Uint8Array> {
    const request = decodeConsensusRequest(bytes)
    if (request.type === 'get-certificates') {
      const certificates: Certificate[] = []
      for (const d of request.digests) {
        const hex = toHex(d)
        const held = this.#dag.get(hex)?.certificate
        if (held !== undefined) certificates.push(held)
        else {
          const stored = this.#store.getCertificate(hex)
          if (stored !== undefined) certificates.push(decodeCertificate(this.#ctx, stored))
        }
      }
      return encodeConsensusResponse({ type: 'certificates', certificates })
    }
    const batches: Batch[] = []
    for (const d of request.digests) {
      const stored = this.#store.getBatch(toHex(d))
      if (stored !== undefined) batches.push(decodeBatch(stored))
    }
    return encodeConsensusResponse({ type: 'batches', batches })
  }

  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#abort.abort()
    if (this.#headerTimer !== undefined) this.#clock.clearTimeout(this.#headerTimer)
    if (this.#parentWaitTimer !== undefined) this.#clock.clearTimeout(this.#parentWaitTimer)
    this.#parentWaitTimer = undefined
    if (this.#batchTimer !== undefined) this.#clock.clearTimeout(this.#batchTimer)
    if (this.#resendTimer !== undefined) this.#clock.clearTimeout(this.#resendTimer)
    this.#resendTimer = undefined
    this.#headerTimer = undefined
    this.#batchTimer = undefined
    await this.#delivery
  }

  // -------------------------------------------------------------------------------------------------
  // Batches (the worker's part)

  /** Seals the open batch (if any) and proposes when a header is due; `propose` false: seal only. */
  #sealBatch(propose = true): void {
    if (this.#batchTimer !== undefined) this.#clock.clearTimeout(this.#batchTimer)
    this.#batchTimer = undefined
    if (this.#batchTransactions.length === 0 || this.#closed) return
    const batch: Batch = { transactions: this.#batchTransactions }
    this.#batchTransactions = []
    this.#batchBytes = 0
    const digest = this.#storeBatch(batch)
    if (this.#traces.size < MAX_TRACES)
      this.#traces.set(toHex(digest), {
        transactions: batch.transactions.length,
        openedAtMs: this.#batchOpenedAtMs,
        sealedAtMs: this.#clock.now(),
        proposedAtMs: 0,
        round: 0,
        proposals: 0,
        certifiedAtMs: 0,
      })
    this.#pendingDigests.push(digest)
    if (this.#ctx.size > 1) this.#network.broadcast(encodeConsensusMessage({ type: 'batch', batch }))
    if (propose) this.#tryPropose()
  }

  #storeBatch(batch: Batch): Uint8Array {
    const digest = computeBatchDigest(batch)
    this.#store.putBatch(toHex(digest), Math.max(this.#round, this.#bullshark.gcRound), encodeBatch(batch))
    return digest
  }

  // -------------------------------------------------------------------------------------------------
  // Proposer

  #restartHeaderTimer(): void {
    if (this.#closed) return
    if (this.#headerTimer !== undefined) this.#clock.clearTimeout(this.#headerTimer)
    this.#headerDelayElapsed = false
    this.#headerTimer = this.#clock.setTimeout(() => {
      this.#headerTimer = undefined
      this.#headerDelayElapsed = true
      // A header that did not gather its quorum yet is sent again (votes are idempotent).
      const own = this.#ownHeader
      if (own !== undefined && own.durable && !own.certified && this.#ctx.size > 1) {
        this.#network.broadcast(encodeConsensusMessage({ type: 'header', header: own.header }))
        this.#armResend(own, this.#options.maxHeaderDelayMs * 2)
      }
      this.#tryPropose()
    }, this.#options.maxHeaderDelayMs)
  }

  /**
   * Until it is certified (or superseded), our header goes out again with a doubling delay (at most
   * MAX_RESEND_MS): members that dropped it — starting up, reconnecting — would otherwise never vote,
   * and with too many of them the DAG would stall.
   */
  #armResend(own: OwnHeader, delayMs: number): void {
    if (this.#resendTimer !== undefined) this.#clock.clearTimeout(this.#resendTimer)
    this.#resendTimer = this.#clock.setTimeout(() => {
      this.#resendTimer = undefined
      if (this.#closed || this.#ownHeader !== own || own.certified || !own.durable) return
      this.#network.broadcast(encodeConsensusMessage({ type: 'header', header: own.header }))
      this.#armResend(own, Math.min(delayMs * 2, MAX_RESEND_MS))
    }, delayMs)
  }

  /** Highest round with a quorum of certificates (0 when none). */
  #highestQuorumRound(): number {
    let best = 0
    for (const [round, byAuthor] of this.#rounds) {
      if (round > best && byAuthor.size >= this.#ctx.quorum) best = round
    }
    return best
  }

  #tryPropose(): void {
    if (!this.#started || this.#closed) return
    const quorumRound = this.#highestQuorumRound()
    if (this.#round > 0 && quorumRound < this.#round) return
    const next = Math.max(this.#round, quorumRound) + 1
    const parentRound = next - 1
    const parents = parentRound === 0 ? [] : [...(this.#rounds.get(parentRound)?.values() ?? [])]
    if (parentRound > 0 && parents.length < this.#ctx.quorum) return
    // Give the anchor of the previous round a chance to be referenced, until the header delay.
    if (
      parentRound >= 2 &&
      parentRound % 2 === 0 &&
      !this.#headerDelayElapsed &&
      this.#rounds.get(parentRound)?.has(leaderOf(parentRound, this.#ctx.size)) !== true
    ) {
      return
    }
    // Transactions of the open batch count: it is sealed into this header rather than waiting for
    // its own delay on top of the header's.
    const payloadReady =
      this.#pendingDigests.length >= this.#options.headerBatches ||
      this.#batchTransactions.length > 0 ||
      this.#uncommittedPayload.size > 0
    if (!payloadReady && !this.#headerDelayElapsed) return
    if (!this.#parentWaitOver(parentRound, parents)) return
    if (this.#parentWaitTimer !== undefined) this.#clock.clearTimeout(this.#parentWaitTimer)
    this.#parentWaitTimer = undefined

    this.#sealBatch(false)
    // The batches of a header of ours that never got its quorum go into this one (none are lost).
    const previous = this.#ownHeader
    if (previous !== undefined && !previous.certified) {
      this.#pendingDigests.unshift(...previous.header.batches)
      this.#log.debug(
        { round: previous.header.round, votes: previous.votes.size, next },
        'own header superseded before its quorum',
      )
    }
    const header = signHeader(this.#secretKey, {
      author: this.#me,
      round: next,
      epoch: this.#ctx.committee.epoch,
      batches: this.#pendingDigests.splice(0, this.#options.maxHeaderBatches),
      parents: parents
        .sort((a, b) => a.author - b.author)
        .map((p) => computeCertificateDigest(p.certificate)),
      timestampMs: this.#clock.now(),
    })
    this.#store.putOwnHeader(next, encodeHeader(header))
    this.#round = next
    this.#ownHeader = {
      header,
      digest: toHex(computeHeaderDigest(header)),
      votes: new Map(),
      certified: false,
      durable: false,
    }
    this.#restartHeaderTimer()
    const now = this.#clock.now()
    for (const d of header.batches) {
      const trace = this.#traces.get(toHex(d))
      if (trace === undefined) continue
      if (trace.proposedAtMs === 0) trace.proposedAtMs = now
      trace.round = next
      trace.proposals++
    }
    this.#metrics.observeRound(next)
    this.#log.debug(
      { round: next, batches: header.batches.length, parents: header.parents.length },
      'proposing header',
    )
    this.#broadcastOwnHeader(this.#ownHeader)
  }

  /**
   * Whether the rest of `parentRound` is in (or waited for long enough): our own certificate of it,
   * when our header of that round still gathers votes (proposing now would drop it, and with it the
   * link to our previous certificate), and the certificates of the members that are alive (heard from
   * lately; a member that is down is not waited for). Without this, the fastest quorum runs ahead and
   * a member whose certificates come a few milliseconds later is referenced by nobody, round after
   * round: its transactions commit late (through its turns as leader) or not at all.
   */
  #parentWaitOver(parentRound: number, parents: DagCertificate[]): boolean {
    if (parentRound === 0 || this.#ctx.size === 1) return true
    const own = this.#ownHeader
    const ownPending = own !== undefined && !own.certified && own.header.round === parentRound
    const present = new Set(parents.map((p) => p.author))
    const liveSinceMs = this.#clock.now() - LIVE_WAITS * this.#options.maxParentWaitMs
    let behind = false
    for (const [author, heardAtMs] of this.#heardAtMs.entries())
      if (author !== this.#me && heardAtMs >= liveSinceMs && !present.has(author)) behind = true
    if (!ownPending && !behind) return true
    if (this.#parentWaitRound === parentRound) return this.#parentWaitElapsed
    if (this.#parentWaitTimer !== undefined) this.#clock.clearTimeout(this.#parentWaitTimer)
    this.#parentWaitRound = parentRound
    this.#parentWaitElapsed = false
    this.#parentWaitTimer = this.#clock.setTimeout(() => {
      this.#parentWaitTimer = undefined
      if (this.#parentWaitRound !== parentRound) return
      this.#parentWaitElapsed = true
      this.#tryPropose()
    }, this.#options.maxParentWaitMs)
    return false
  }

  /** Sends our header once it is durable (a restart must never propose another for its round). */
  #broadcastOwnHeader(own: OwnHeader): void {
    const { header } = own
    this.#store
      .flush()
      .then(async () => {
        own.durable = true
        if (this.#closed) return
        if (this.#ctx.size > 1) this.#network.broadcast(encodeConsensusMessage({ type: 'header', header }))
        await this.#processHeader(header, undefined)
      })
      .catch((err: unknown) => this.#logFailure(err, 'own header failed'))
  }

  // -------------------------------------------------------------------------------------------------
  // Headers and votes

  async #processHeader(header: Header, from: PeerKey | undefined): Promise<void> {
    if (header.round < this.#bullshark.gcRound) return
    const digest = verifyHeader(this.#ctx, header)
    const hex = toHex(digest)
    if (!(await this.#ensureParents(header, from))) {
      this.#log.debug({ author: header.author, round: header.round }, 'header parents unavailable')
      return
    }
    this.#checkParentRounds(header)
    if (!(await this.#ensureBatches(header, from))) {
      this.#log.debug({ author: header.author, round: header.round }, 'header payload unavailable')
      return
    }
    if (this.#closed) return
    const recorded = this.#store.recordVote(header.author, header.round, hex)
    if (recorded !== hex) {
      // Two headers signed by one author for one round: no vote, and the sender is reported (headers
      // travel only from their author, so the sender is the equivocator).
      this.#log.warn({ author: header.author, round: header.round }, 'equivocating header: no vote')
      throw new FleekError(
        'INVALID_INPUT',
        `equivocating header: member ${header.author} signed a second header for round ${header.round}`,
      )
    }
    const vote = signVote(this.#secretKey, header, digest, this.#me)
    // Durable before it leaves: a restart must never vote for a conflicting header.
    await this.#store.flush()
    if (this.#closed) return
    if (header.author === this.#me) await this.#processVote(vote)
    else this.#network.send(this.#peers[header.author], encodeConsensusMessage({ type: 'vote', vote }))
  }

  async #processVote(vote: Vote): Promise<void> {
    const own = this.#ownHeader
    if (own === undefined || own.certified || vote.author !== this.#me) return
    if (vote.round !== own.header.round || toHex(vote.header) !== own.digest || own.votes.has(vote.voter))
      return
    if (vote.voter !== this.#me) verifyVote(this.#ctx, vote)
    own.votes.set(vote.voter, vote.signature)
    if (own.votes.size < this.#ctx.quorum) return
    own.certified = true
    const votes = [...own.votes].sort(([a], [b]) => a - b).map(([voter, signature]) => ({ voter, signature }))
    const certificate: Certificate = { header: own.header, votes }
    const now = this.#clock.now()
    for (const d of own.header.batches) {
      const trace = this.#traces.get(toHex(d))
      if (trace !== undefined) trace.certifiedAtMs = now
    }
    this.#log.debug({ round: own.header.round }, 'header certified')
    // Stored before it is sent (after a crash, a certified header is known as such), and sent
    // before our next header, which it is a parent of.
    this.#store.putCertificate(own.digest, own.header.round, encodeCertificate(certificate))
    if (own.header.batches.length > 0)
      this.#ownUncommitted.set(own.digest, { round: own.header.round, batches: own.header.batches })
    if (this.#ctx.size > 1)
      this.#network.broadcast(encodeConsensusMessage({ type: 'certificate', certificate }))
    await this.#processCertificate(certificate, undefined, true)
  }

  // -------------------------------------------------------------------------------------------------
  // Certificates and the DAG

  /** Admits a certificate into the DAG once its parents and batches are held; false if impossible. */
  async #processCertificate(
    certificate: Certificate,
    from: PeerKey | undefined,
    trusted: boolean,
  ): Promise<boolean> {
    const { round } = certificate.header
    if (round < this.#bullshark.gcRound) return false
    const digest = computeCertificateDigest(certificate)
    const hex = toHex(digest)
    if (this.#dag.has(hex)) return true
    const pending = this.#accepting.get(hex)
    if (pending !== undefined) return pending
    if (!trusted) verifyCertificate(this.#ctx, certificate)
    const admission = this.#admitCertificate(certificate, hex, from)
    this.#accepting.set(hex, admission)
    try {
      return await admission
    } finally {
      this.#accepting.delete(hex)
    }
  }

  async #admitCertificate(
    certificate: Certificate,
    hex: string,
    from: PeerKey | undefined,
  ): Promise<boolean> {
    const { header } = certificate
    if (!(await this.#ensureParents(header, from)) || !(await this.#ensureBatches(header, from))) {
      this.#log.debug({ author: header.author, round: header.round }, 'certificate history unavailable')
      return false
    }
    this.#checkParentRounds(header)
    if (this.#closed || this.#dag.has(hex)) return this.#dag.has(hex)
    this.#store.putCertificate(hex, header.round, encodeCertificate(certificate))
    this.#metrics.certificateAdded(header.author === this.#me)
    this.#insert(certificate, hex)
    this.#tryPropose()
    return true
  }

  #insert(certificate: Certificate, hex: string): void {
    const { header } = certificate
    const vertex: DagCertificate = {
      digest: hex,
      round: header.round,
      author: header.author,
      parents: header.parents.map(toHex),
      timestampMs: header.timestampMs,
      batchDigests: header.batches,
      certificate,
    }
    this.#dag.set(hex, vertex)
    let byAuthor = this.#rounds.get(header.round)
    if (byAuthor === undefined) {
      byAuthor = new Map()
      this.#rounds.set(header.round, byAuthor)
    }
    if (!byAuthor.has(header.author)) byAuthor.set(header.author, vertex)
    if (header.batches.length > 0) this.#uncommittedPayload.add(hex)
    const committed = this.#bullshark.insert(vertex)
    if (committed.length === 0) return
    for (const sub of committed) this.#enqueueCommit(sub)
    this.#reproposeSkipped()
    this.#collectGarbage()
  }

  /**
   * An own certificate that a commit went past without ordering it (a later certificate of ours is
   * committed, and this one is in no committed history: it reached the others after they had moved
   * on, and our next header, its only link, was superseded) can never commit — Bullshark skips a
   * certificate whose author has a committed one of the same or a later round. Its batches go into
   * our next header now, rather than when its round is collected `gcDepth` rounds later.
   */
  #reproposeSkipped(): void {
    const committedRound = this.#bullshark.lastCommittedRoundOf(this.#me)
    let skipped = 0
    const batches: Uint8Array[] = []
    for (const [hex, own] of this.#ownUncommitted) {
      if (own.round > committedRound) continue
      this.#ownUncommitted.delete(hex)
      this.#uncommittedPayload.delete(hex)
      batches.push(...own.batches)
      skipped++
    }
    if (skipped === 0) return
    this.#pendingDigests.unshift(...batches)
    this.#log.debug(
      { certificates: skipped, batches: batches.length, committedRound },
      'batches of a skipped own certificate proposed again',
    )
  }

  #checkParentRounds(header: Header): void {
    if (header.round === 1 || header.round - 1 < this.#bullshark.gcRound) return
    for (const p of header.parents) {
      const parent = this.#dag.get(toHex(p))
      if (parent !== undefined && parent.round !== header.round - 1) {
        throw new FleekError(
          'INVALID_INPUT',
          `header of round ${header.round} has a parent of round ${parent.round}`,
        )
      }
    }
  }

  /** Fetches and admits the missing parents of `header`; true when all are held (or collected). */
  async #ensureParents(header: Header, from: PeerKey | undefined): Promise<boolean> {
    if (header.round === 1 || header.round - 1 < this.#bullshark.gcRound) return true
    const missing = (): string[] => header.parents.map(toHex).filter((d) => !this.#dag.has(d))
    let absent = missing()
    if (absent.length === 0) return true
    await Promise.all(absent.map((d) => this.#accepting.get(d)).filter((p) => p !== undefined))
    absent = missing()
    if (absent.length === 0) return true
    const response = await this.#fetch(
      { type: 'get-certificates', digests: absent.map((d) => Buffer.from(d, 'hex')) },
      this.#candidatesFor(header.author, from),
    )
    if (response?.type !== 'certificates') return false
    const wanted = new Set(absent)
    await Promise.all(
      response.certificates.map(async (c) => {
        if (!wanted.has(toHex(computeCertificateDigest(c)))) return
        try {
          await this.#processCertificate(c, from, false)
        } catch (err) {
          this.#logFailure(err, 'fetched certificate rejected')
        }
      }),
    )
    return missing().length === 0 || header.round - 1 < this.#bullshark.gcRound
  }

  async #ensureBatches(header: Header, from: PeerKey | undefined): Promise<boolean> {
    const absent = header.batches.filter((d) => this.#store.getBatch(toHex(d)) === undefined)
    if (absent.length === 0) return true
    const response = await this.#fetch(
      { type: 'get-batches', digests: absent },
      this.#candidatesFor(header.author, from),
    )
    if (response?.type === 'batches') {
      const wanted = new Set(absent.map(toHex))
      for (const batch of response.batches) {
        const digest = computeBatchDigest(batch)
        if (wanted.has(toHex(digest))) this.#storeBatch(batch)
      }
    }
    return header.batches.every((d) => this.#store.getBatch(toHex(d)) !== undefined)
  }

  #candidatesFor(author: number, from: PeerKey | undefined): PeerKey[] {
    const me = this.#peers[this.#me]
    const order = [from, this.#peers[author], ...this.#peers]
    return [...new Set(order)].filter((p): p is PeerKey => p !== undefined && p !== me)
  }

  /** Asks up to `syncRetries` peers in turn, each bounded by `syncTimeoutMs`. */
  async #fetch(request: ConsensusRequest, peers: PeerKey[]): Promise<ConsensusResponse | undefined> {
    if (peers.length === 0) return undefined
    const bytes = encodeConsensusRequest(request)
    for (let attempt = 0; attempt < this.#options.syncRetries && !this.#closed; attempt++) {
      const peer = peers[attempt % peers.length]
      const deadline = createDeadline(this.#options.syncTimeoutMs, this.#abort.signal)
      try {
        const answer = await this.#network.request(peer, bytes, deadline.signal)
        const response = decodeConsensusResponse(this.#ctx, answer)
        const count =
          response.type === 'certificates' ? response.certificates.length : response.batches.length
        if (count > 0) return response
      } catch (err) {
        this.#log.debug({ peer, attempt, err: describe(err) }, 'sync request failed')
      } finally {
        deadline.clear()
      }
    }
    return undefined
  }

  #collectGarbage(): void {
    const gcRound = this.#bullshark.gcRound
    for (const [round, byAuthor] of this.#rounds) {
      if (round >= gcRound) continue
      for (const v of byAuthor.values()) {
        this.#dag.delete(v.digest)
        this.#uncommittedPayload.delete(v.digest)
      }
      this.#rounds.delete(round)
    }
    // Certificates of a collected round that were not the first of their (author, round) slot.
    for (const [hex, v] of this.#dag) if (v.round < gcRound) this.#dag.delete(hex)
    // An own certificate that no later certificate referenced (it arrived after the others moved on)
    // can never commit once its round is collected: its batches go into a next header (none are lost).
    let orphaned = 0
    for (const [hex, own] of this.#ownUncommitted) {
      if (own.round >= gcRound) continue
      this.#ownUncommitted.delete(hex)
      this.#pendingDigests.push(...own.batches)
      orphaned += own.batches.length
    }
    if (orphaned > 0)
      this.#log.info(
        { batches: orphaned, gcRound },
        'batches of an uncommitted own certificate proposed again',
      )
  }

  // -------------------------------------------------------------------------------------------------
  // Commits

  #enqueueCommit(sub: CommittedSubDag<DagCertificate>): void {
    const transactions: Uint8Array[] = []
    for (const d of sub.batchDigests) {
      const stored = this.#store.getBatch(toHex(d))
      if (stored === undefined) {
        this.#log.error({ index: sub.index, batch: toHex(d) }, 'committed batch missing from the store')
        continue
      }
      transactions.push(...decodeBatch(stored).transactions)
    }
    for (const c of sub.certificates) {
      this.#uncommittedPayload.delete(c.digest)
      this.#ownUncommitted.delete(c.digest)
    }
    this.#traceCommit(sub)
    const committedAtMs = this.#clock.now()
    this.#delivery = this.#delivery.then(() => this.#deliver(sub, transactions, committedAtMs))
  }

  /**
   * The commit of our batches in `sub`: where their time went (debug log, one line per batch) and the
   * commit latency metric. `lagRounds` is how many rounds the certificate waited below its anchor.
   */
  #traceCommit(sub: CommittedSubDag<DagCertificate>): void {
    this.#metrics.subDagCommitted(sub.certificates.length, sub.batchDigests.length)
    const now = this.#clock.now()
    for (const c of sub.certificates) {
      if (c.author !== this.#me) continue
      for (const d of c.batchDigests) {
        const hex = toHex(d)
        const t = this.#traces.get(hex)
        if (t === undefined) continue
        this.#traces.delete(hex)
        this.#metrics.observeCommitLatency((now - t.openedAtMs) / 1000)
        const certifiedAtMs = t.certifiedAtMs || now
        this.#log.debug(
          {
            batch: hex.slice(0, 16),
            transactions: t.transactions,
            round: c.round,
            anchorRound: sub.anchorRound,
            lagRounds: sub.anchorRound - c.round,
            proposals: t.proposals,
            sealMs: t.sealedAtMs - t.openedAtMs,
            proposeMs: t.proposedAtMs - t.sealedAtMs,
            certifyMs: certifiedAtMs - t.proposedAtMs,
            commitMs: now - certifiedAtMs,
            totalMs: now - t.openedAtMs,
          },
          'own batch committed',
        )
      }
    }
  }

  async #deliver(
    sub: CommittedSubDag<DagCertificate>,
    transactions: Uint8Array[],
    committedAtMs: number,
  ): Promise<void> {
    if (this.#failed) return
    try {
      if (this.#handler !== undefined && (transactions.length > 0 || this.#options.deliverEmptySubDags)) {
        const startMs = this.#clock.now()
        await this.#handler(sub, transactions)
        const endMs = this.#clock.now()
        this.#log.debug(
          {
            index: sub.index,
            anchorRound: sub.anchorRound,
            certificates: sub.certificates.length,
            transactions: transactions.length,
            queuedMs: startMs - committedAtMs,
            executeMs: endMs - startMs,
          },
          'sub-dag executed',
        )
      }
    } catch (err) {
      this.#failed = true
      this.#log.error(
        { index: sub.index, err: describe(err) },
        'commit handler failed: consensus stops delivering',
      )
      return
    }
    const state = this.#handledState
    for (const c of sub.certificates) {
      if (c.round > state.lastCommittedRounds[c.author]) state.lastCommittedRounds[c.author] = c.round
    }
    state.nextIndex = sub.index + 1
    state.lastTimestampMs = sub.timestampMs
    this.#store.putState(dagCbor.encode(state))
    const keepRounds = Math.max(this.#options.gcDepth, this.#options.retainRounds)
    const deleteBelow = Math.max(0, ...state.lastCommittedRounds) - keepRounds
    if (deleteBelow > 0) this.#store.deleteBelowRound(deleteBelow)
  }

  // -------------------------------------------------------------------------------------------------
  // Recovery

  #loadState(): BullsharkState {
    const fresh = createInitialBullsharkState(this.#ctx.size)
    const bytes = this.#store.getState()
    if (bytes === undefined) return fresh
    try {
      const s = dagCbor.decode(bytes) as BullsharkState
      const valid =
        Array.isArray(s.lastCommittedRounds) &&
        s.lastCommittedRounds.length === this.#ctx.size &&
        s.lastCommittedRounds.every((r) => Number.isSafeInteger(r) && r >= 0) &&
        Number.isSafeInteger(s.nextIndex) &&
        Number.isSafeInteger(s.lastTimestampMs)
      if (valid) return s
    } catch {
      // fall through
    }
    throw new FleekError('INTEGRITY', 'the stored consensus state is corrupt or from another committee')
  }

  #recover(): void {
    let restored = 0
    for (const bytes of this.#store.listCertificates(this.#bullshark.gcRound)) {
      const certificate = decodeCertificate(this.#ctx, bytes)
      const { header } = certificate
      const hex = toHex(computeCertificateDigest(certificate))
      if (this.#dag.has(hex) || header.round < this.#bullshark.gcRound) continue
      const complete =
        header.round === 1 ||
        header.round - 1 < this.#bullshark.gcRound ||
        header.parents.every((p) => this.#dag.has(toHex(p)))
      if (!complete) continue
      this.#insert(certificate, hex)
      restored++
    }
    const own = this.#store.getLastOwnHeader()
    if (own !== undefined) {
      const header = decodeHeader(this.#ctx, own)
      if (header.author === this.#me && header.round > this.#round) {
        this.#round = header.round
        const digest = toHex(computeHeaderDigest(header))
        this.#ownHeader = {
          header,
          digest,
          votes: new Map(),
          certified: this.#dag.has(digest),
          durable: true,
        }
        if (!this.#ownHeader.certified) this.#broadcastOwnHeader(this.#ownHeader)
      }
    }
    if (restored > 0 || own !== undefined)
      this.#log.info({ certificates: restored, round: this.#round }, 'consensus recovered')
  }

  #logFailure(err: unknown, message: string): void {
    if (isFleekError(err, 'INVALID_INPUT')) this.#log.warn({ err: describe(err) }, message)
    else this.#log.error({ err: describe(err) }, message)
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
