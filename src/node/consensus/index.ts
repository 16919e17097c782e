/**
 * Consensus: Narwhal (DAG mempool) + Bullshark (ordering) among the epoch's committee.
 *
 * ```ts
 * const consensus = new Consensus({}, { committee, keys, store: new MemoryDagStore(), network })
 * consensus.onCommit(async (sub, transactions) => app.executeBlock({ transactions, timestampMs: sub.timestampMs }))
 * consensus.start(signal)
 * consensus.submit(encodedTx)
 * ```
 * The commit handler is awaited, one sub-DAG at a time, in order. Across a crash, the sub-DAG being
 * handled may be handed over again after the restart: skip an `index` already executed.
 * A committee of one is the same code: its own vote is a quorum.
 */
import { KeyObject } from 'node:crypto'

import { FleekError } from '../../lib/errors.ts'
import { findMemberIndex, toHex, type Committee } from './committee.ts'
import { NarwhalCore, defaultConsensusOptions, type CommitHandler, type ConsensusOptions } from './core.ts'
import {
  noMetrics,
  silentLogger,
  systemClock,
  type ConsensusClock,
  type ConsensusLogger,
  type ConsensusMetrics,
  type ConsensusNetwork,
  type DagStore,
  type PeerKey,
} from './interface.ts'
import { createCommitteeContext, exportEd25519PublicKey, importEd25519SecretKey } from './messages.ts'

export {
  defaultConsensusOptions,
  type CommitHandler,
  type ConsensusOptions,
  type DagCertificate,
} from './core.ts'
export type { CommittedSubDag, BullsharkState } from './bullshark.ts'
export { leaderOf } from './bullshark.ts'
export type { Committee, CommitteeMember } from './committee.ts'
export { computeMaxFaulty, computeQuorumThreshold, computeValidityThreshold } from './committee.ts'
export type {
  ConsensusClock,
  ConsensusLogger,
  ConsensusMetrics,
  ConsensusNetwork,
  DagStore,
  PeerKey,
} from './interface.ts'
export { createConsensusMetrics } from './metrics.ts'
export { MemoryDagStore } from './memory-store.ts'
export type { Batch, Certificate, Header, Vote } from './messages.ts'

export interface ConsensusKeys {
  /** The node's ed25519 secret key: the 32-byte seed or a node:crypto KeyObject. */
  secretKey: Uint8Array | KeyObject
  /** The node's 32-byte ed25519 public key; must be a committee member. */
  publicKey: Uint8Array
}

export interface ConsensusDeps {
  committee: Committee
  keys: ConsensusKeys
  store: DagStore
  network: ConsensusNetwork
  clock?: ConsensusClock
  logger?: ConsensusLogger
  /** Prometheus metrics (`createConsensusMetrics(registry)`, one per node, shared across epochs). */
  metrics?: ConsensusMetrics
}

export class Consensus {
  readonly #core: NarwhalCore
  readonly #peerKey: PeerKey
  #closing: Promise<void> | undefined

  constructor(options: Partial<ConsensusOptions>, deps: ConsensusDeps) {
    const resolved = resolveConsensusOptions(options)
    const ctx = createCommitteeContext(deps.committee)
    const secretKey =
      deps.keys.secretKey instanceof KeyObject
        ? deps.keys.secretKey
        : importEd25519SecretKey(deps.keys.secretKey)
    if (toHex(exportEd25519PublicKey(secretKey)) !== toHex(deps.keys.publicKey)) {
      throw new FleekError('INVALID_INPUT', 'the consensus public key does not match the secret key')
    }
    const me = findMemberIndex(deps.committee, deps.keys.publicKey)
    if (me < 0) throw new FleekError('INVALID_INPUT', 'this node is not a member of the committee')
    this.#peerKey = toHex(deps.keys.publicKey)
    this.#core = new NarwhalCore(resolved, {
      ctx,
      me,
      secretKey,
      store: deps.store,
      network: deps.network,
      clock: deps.clock ?? systemClock,
      logger: deps.logger ?? silentLogger,
      metrics: deps.metrics ?? noMetrics,
    })
  }

  /** This node's name on the network: the hex of its public key. */
  get peerKey(): PeerKey {
    return this.#peerKey
  }

  /** The last round this node proposed a header for. */
  get round(): number {
    return this.#core.round
  }

  /** Recovers the DAG from the store and starts proposing; `signal` stops everything. */
  start(signal: AbortSignal): void {
    this.#core.start()
    if (signal.aborted) void this.close()
    else signal.addEventListener('abort', () => void this.close(), { once: true })
  }

  /** Adds an encoded transaction to the current batch. */
  submit(transaction: Uint8Array): void {
    this.#core.submit(transaction)
  }

  /** Registers the handler of committed sub-DAGs (before `start`). */
  onCommit(handler: CommitHandler): void {
    this.#core.onCommit(handler)
  }

  /** Bytes from a committee peer. Rejects with INVALID_INPUT when the peer misbehaved. */
  async handleMessage(from: PeerKey, bytes: Uint8Array): Promise<void> {
    await this.#core.handleMessage(from, bytes)
  }

  /** A peer's request (missing certificates or batches); resolves with the answer bytes. */
  async handleRequest(from: PeerKey, bytes: Uint8Array): Promise<Uint8Array> {
    return this.#core.handleRequest(from, bytes)
  }

  /** Resolves once every sub-DAG committed so far has been handled. */
  async flushCommits(): Promise<void> {
    await this.#core.flushCommits()
  }

  /** Stops timers and requests and waits for the commit handler; idempotent. Does not close the store. */
  async close(): Promise<void> {
    this.#closing ??= this.#core.close()
    await this.#closing
  }
}

/** Defaults overlaid with `options`, each checked. */
export function resolveConsensusOptions(options: Partial<ConsensusOptions>): ConsensusOptions {
  const resolved = { ...defaultConsensusOptions, ...options }
  for (const [key, value] of Object.entries(resolved)) {
    if (key === 'deliverEmptySubDags') {
      if (typeof value !== 'boolean')
        throw new FleekError('INVALID_INPUT', `consensus option ${key} must be a boolean`)
      continue
    }
    const min = key === 'gcDepth' ? 2 : 1
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new FleekError('INVALID_INPUT', `consensus option ${key} must be an integer ≥ ${min}`)
    }
  }
  return resolved
}
