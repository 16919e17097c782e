/**
 * What consensus needs from the rest of the node: a network that carries opaque bytes between
 * committee members, a store for the DAG, a clock and a logger. All passed in at construction.
 */

/** A peer is named by the lowercase hex of its ed25519 public key (the node key). */
export type PeerKey = string

/**
 * Carries consensus bytes between committee members. The network layer knows the committee (it is
 * given the same one) and bounds message sizes and rates before calling `Consensus.handleMessage`.
 */
export interface ConsensusNetwork {
  /** Best effort delivery to every other committee member (`Consensus.handleMessage` at each). */
  broadcast(message: Uint8Array): void
  /** Best effort delivery to one member. */
  send(peer: PeerKey, message: Uint8Array): void
  /** Asks one member (`Consensus.handleRequest` there) and resolves with its answer; rejects on failure. */
  request(peer: PeerKey, request: Uint8Array, signal: AbortSignal): Promise<Uint8Array>
}

/**
 * Durable storage of the DAG. Reads see every earlier write at once; writes become durable in call
 * order, at the latest when `flush()` resolves (the lmdb implementation commits the writes queued
 * since its last commit together, at the next turn of the event loop or at `flush()`). A vote is recorded and flushed before it is sent, our header before it is
 * broadcast. Keys are lowercase hex digests.
 */
export interface DagStore {
  putBatch(digest: string, round: number, encodedBatch: Uint8Array): void
  getBatch(digest: string): Uint8Array | undefined
  putCertificate(digest: string, round: number, encodedCertificate: Uint8Array): void
  getCertificate(digest: string): Uint8Array | undefined
  /** Every stored certificate of round ≥ `fromRound`, by round. */
  listCertificates(fromRound: number): Uint8Array[]
  /**
   * Records that this node votes for header `digest` of (author, round), unless a vote for that
   * (author, round) is already recorded; returns the digest recorded (the earlier one if any).
   */
  recordVote(author: number, round: number, digest: string): string
  /** The latest header this node proposed (so a restart never proposes twice for one round). */
  putOwnHeader(round: number, encodedHeader: Uint8Array): void
  getLastOwnHeader(): Uint8Array | undefined
  /** Ordering state (opaque bytes) saved after each handled commit. */
  putState(encodedState: Uint8Array): void
  getState(): Uint8Array | undefined
  /** Drops batches, certificates and votes of rounds below `round`. */
  deleteBelowRound(round: number): void
  /** Resolves once every earlier write is durable; rejects if one failed. */
  flush(): Promise<void>
  close(): Promise<void>
}

export interface ConsensusClock {
  now(): number
  setTimeout(callback: () => void, delayMs: number): unknown
  clearTimeout(handle: unknown): void
}

/** pino-compatible: constant message, variables in the context object. */
export interface ConsensusLogger {
  debug(context: object, message: string): void
  info(context: object, message: string): void
  warn(context: object, message: string): void
  error(context: object, message: string): void
}

/**
 * What consensus reports for Prometheus (`fleek_consensus_<what>_<unit>`); `createConsensusMetrics` in
 * metrics.ts is the prom-client implementation. Optional: without it nothing is counted.
 */
export interface ConsensusMetrics {
  /** The round this node just proposed a header for. */
  observeRound(round: number): void
  /** A certificate entered the DAG: `own` when formed here from the votes for our header. */
  certificateAdded(own: boolean): void
  /** A sub-DAG was committed (its certificates are ordered). */
  subDagCommitted(certificates: number, batches: number): void
  /** Seconds from a batch of ours sealed (its first transaction in) to the commit of its certificate. */
  observeCommitLatency(seconds: number): void
}

export const noMetrics: ConsensusMetrics = {
  observeRound: () => {},
  certificateAdded: () => {},
  subDagCommitted: () => {},
  observeCommitLatency: () => {},
}

export const systemClock: ConsensusClock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

export const silentLogger: ConsensusLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
}
