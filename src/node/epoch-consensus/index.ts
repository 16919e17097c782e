/**
 * Consensus across epochs: each epoch's committee runs its own Narwhal + Bullshark DAG (in
 * <dir>/epoch-N). This component runs the current epoch's consensus while this node is a member; when a
 * block completes the epoch change it stops the old one, points the network at the new committee and
 * starts the new one (if the node is still a member), resubmitting the transactions the pool admitted
 * and did not see executed, so none is lost at the boundary; replay protection makes a repeat harmless.
 *
 * Consensus messages of the next epoch (from members that switched first) are kept, within a count
 * and byte budget, and replayed once this node is there; others of another epoch are dropped quietly.
 */
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

import { toHex } from '../../lib/bytes.ts'
import { FleekError } from '../../lib/errors.ts'
import type { Application } from '../application/index.ts'
import type { Block } from '../chain/execution.ts'
import {
  Consensus,
  type ConsensusMetrics,
  type ConsensusNetwork,
  type ConsensusOptions,
} from '../consensus/index.ts'
import { LmdbDagStore } from '../consensus/lmdb-store.ts'
import type { Logger } from '../logger.ts'

export interface EpochConsensusOptions {
  /** Where each epoch's DAG lives. */
  dir: string
  consensus: Partial<ConsensusOptions>
  /** Budget of messages kept for the next epoch. */
  maxEarlyMessages: number
  maxEarlyBytes: number
}

export const defaultEpochConsensusOptions: Omit<EpochConsensusOptions, 'dir'> = {
  consensus: {},
  maxEarlyMessages: 10_000,
  maxEarlyBytes: 64 * 1024 * 1024,
}

export interface EpochConsensusNetwork extends ConsensusNetwork {
  attachConsensus(handler: {
    handleMessage(from: string, bytes: Uint8Array): Promise<void>
    handleRequest(from: string, bytes: Uint8Array): Promise<Uint8Array>
  }): void
  /** Consensus traffic is taken from these members only. */
  setCommittee(publicKeys: Uint8Array[]): Promise<void>
}

export interface EpochConsensusDeps {
  chain: Pick<Application, 'epochInfo'>
  network: EpochConsensusNetwork
  nodeKey: { secret: Uint8Array; publicKey: Uint8Array }
  /** Executes a committed sub-DAG. */
  execute(block: Block): void
  /** What to submit to a new epoch's consensus: the transactions admitted and not executed yet. */
  pending(): Iterable<Uint8Array>
  /** This node was a member and is not any more (it hands what it holds to the new members). */
  onLeftCommittee(): void
  /** The next epoch could not start: the node cannot go on. */
  onFatal(err: unknown): void
  logger: Logger
  metrics?: ConsensusMetrics
}

interface Running {
  epoch: number
  consensus: Consensus
  store: LmdbDagStore
}

/** The epoch of a message refused for belonging to another epoch (undefined for any other fault). */
const epochOf = (err: unknown): number | undefined => {
  const e = (err as FleekError | undefined)?.details?.messageEpoch
  return typeof e === 'number' ? e : undefined
}

export class EpochConsensus {
  readonly #options: EpochConsensusOptions
  readonly #deps: EpochConsensusDeps
  readonly #me: string
  #running: Running | undefined
  readonly #early: Array<{ epoch: number; from: string; bytes: Uint8Array }> = []
  #earlyBytes = 0
  #switching: Promise<void> | undefined
  #signal: AbortSignal = new AbortController().signal

  constructor(options: Partial<EpochConsensusOptions> & { dir: string }, deps: EpochConsensusDeps) {
    this.#options = { ...defaultEpochConsensusOptions, ...options }
    this.#deps = deps
    this.#me = toHex(deps.nodeKey.publicKey)
  }

  /** True while this node is on the current epoch's committee. */
  isMember(): boolean {
    return this.#deps.chain.epochInfo().committee.some((m) => toHex(m) === this.#me)
  }

  /** The round this member last proposed in (undefined off the committee). */
  round(): number | undefined {
    return this.#running?.consensus.round
  }

  /** Takes consensus traffic from the network and starts the current epoch's consensus. */
  start(signal: AbortSignal): void {
    this.#signal = signal
    this.#deps.network.attachConsensus({
      handleMessage: (from, bytes) => this.#handleMessage(from, bytes),
      handleRequest: async (from, bytes) => {
        const running = this.#running
        if (running === undefined)
          throw new FleekError('UNAVAILABLE', 'consensus is not running on this node')
        return running.consensus.handleRequest(from, bytes)
      },
    })
    this.#start()
  }

  /** Hands an admitted transaction to the running consensus (none between epochs: the pool keeps it). */
  submit(bytes: Uint8Array): void {
    this.#running?.consensus.submit(bytes)
  }

  /** After the block that changed the epoch (or a restored checkpoint): the next epoch's consensus. */
  switchEpoch(): void {
    this.#switching ??= (async () => {
      const old = this.#running
      this.#running = undefined
      if (old !== undefined) {
        await old.consensus.close()
        await old.store.close()
      }
      await this.#deps.network.setCommittee(this.#deps.chain.epochInfo().committee)
      if (this.#signal.aborted) return
      this.#start()
      if (old !== undefined && !this.isMember()) this.#deps.onLeftCommittee()
    })()
      .catch((err: unknown) => {
        this.#deps.logger.fatal({ err }, 'could not start the next epoch; stopping')
        this.#deps.onFatal(err)
      })
      .finally(() => {
        this.#switching = undefined
      })
  }

  /** Stops the running consensus (after the signal aborted). */
  async close(): Promise<void> {
    await this.#switching
    const running = this.#running
    this.#running = undefined
    await running?.consensus.close()
    await running?.store.close()
  }

  async #handleMessage(from: string, bytes: Uint8Array): Promise<void> {
    const running = this.#running
    if (running === undefined) return
    try {
      await running.consensus.handleMessage(from, bytes)
    } catch (err) {
      const epoch = epochOf(err)
      if (epoch === undefined) throw err // a real fault: the network records it
      // Kept for the next epoch only, within a count and byte budget (a member cannot make us hoard).
      if (
        epoch === running.epoch + 1 &&
        this.#early.length < this.#options.maxEarlyMessages &&
        this.#earlyBytes + bytes.length <= this.#options.maxEarlyBytes
      ) {
        this.#early.push({ epoch, from, bytes })
        this.#earlyBytes += bytes.length
      }
    }
  }

  /** Starts consensus for the current epoch when this node is on its committee. */
  #start(): void {
    const info = this.#deps.chain.epochInfo()
    const early = this.#early.splice(0)
    this.#earlyBytes = 0
    if (!this.isMember()) {
      this.#deps.logger.info(
        { epoch: info.epoch },
        'not on the committee this epoch; forwarding transactions',
      )
      return
    }
    const root = this.#options.dir
    const store = new LmdbDagStore(join(root, `epoch-${info.epoch}`))
    const committee = { epoch: info.epoch, members: info.committee.map((publicKey) => ({ publicKey })) }
    const consensus = new Consensus(this.#options.consensus, {
      committee,
      keys: { secretKey: this.#deps.nodeKey.secret, publicKey: this.#deps.nodeKey.publicKey },
      store,
      network: this.#deps.network,
      logger: this.#deps.logger.child({ epoch: info.epoch }),
      ...(this.#deps.metrics !== undefined && { metrics: this.#deps.metrics }),
    })
    consensus.onCommit(async (sub, transactions) => {
      this.#deps.execute({
        sequence: { epoch: committee.epoch, index: sub.index },
        timestampMs: sub.timestampMs,
        transactions,
      })
    })
    consensus.start(this.#signal)
    this.#running = { epoch: info.epoch, consensus, store }
    // Older epochs' DAGs are of no further use.
    for (const name of readdirSync(root)) {
      const m = /^epoch-(\d+)$/.exec(name)
      if (m && Number(m[1]) < info.epoch) rmSync(join(root, name), { recursive: true, force: true })
    }
    for (const bytes of this.#deps.pending()) consensus.submit(bytes)
    for (const m of early)
      if (m.epoch === info.epoch) void consensus.handleMessage(m.from, m.bytes).catch(() => undefined)
  }
}
