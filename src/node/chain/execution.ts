/**
 * Block execution: where both paths to the chain meet. A committee member executes each sub-DAG its
 * consensus commits (recording the parcel first, then gossiping it with its attestation); every other
 * node executes parcels the committee attested. A block executed already — delivered again after a
 * crash, or by both paths — is skipped. After each block the transaction pool hears what left it, and
 * after the block that changes the epoch, `onEpochEnded` runs.
 */
import { Counter, Histogram, type Registry } from 'prom-client'

import { toHex } from '../../lib/bytes.ts'
import type { Application, BlockSequence, ExecuteBlockResult, Receipt } from '../application/index.ts'
import type { EndedEpoch } from '../checkpoint/service.ts'
import type { Logger } from '../logger.ts'
import type { ParcelService, ProducedParcel } from '../parcels/index.ts'
import type { Storage } from '../storage/index.ts'

export interface Block {
  sequence: BlockSequence
  timestampMs: number
  transactions: Uint8Array[]
}

export interface BlockExecutionDeps {
  chain: Pick<Application, 'executeBlock' | 'hasExecuted' | 'epochInfo'>
  /** The chain's storage: the parcel, the block and the parcel heads commit in one transaction. */
  storage: Pick<Storage, 'transaction'>
  parcels: Pick<ParcelService, 'produce' | 'publish' | 'executed' | 'advanceProducerHead'>
  txpool: {
    isVerified(bytes: Uint8Array): boolean
    onExecuted(transactions: readonly Uint8Array[], receipts: readonly Receipt[]): void
  }
  /** After the block that changed the epoch (the next epoch's consensus starts from here). */
  onEpochEnded(ended: EndedEpoch): void
  /** Execution failed: the node cannot go on. */
  onFatal(err: unknown): void
  logger: Logger
  registry?: Registry
}

const RECENT_RECEIPTS = 32
const RATE_WINDOW_MS = 5000

export class BlockExecution {
  readonly #deps: BlockExecutionDeps
  readonly #recent: Receipt[] = []
  readonly #executedAt: Array<{ atMs: number; count: number }> = []
  readonly #transactions: Counter<'status'> | undefined
  readonly #blocks: Counter<'path'> | undefined
  readonly #duration: Histogram | undefined

  constructor(deps: BlockExecutionDeps) {
    this.#deps = deps
    const registers = deps.registry !== undefined ? [deps.registry] : []
    if (registers.length > 0) {
      this.#transactions = new Counter({
        name: 'fleek_application_transactions_total',
        help: 'Executed transactions by receipt status (success, failed, rejected); its rate is tx/s.',
        labelNames: ['status'],
        registers,
      })
      this.#blocks = new Counter({
        name: 'fleek_application_blocks_total',
        help: 'Executed blocks by path: ordered by this member (consensus) or followed (attested parcels).',
        labelNames: ['path'],
        registers,
      })
      this.#duration = new Histogram({
        name: 'fleek_application_block_execution_seconds',
        help: 'Time to execute and commit one block.',
        buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers,
      })
    }
  }

  /**
   * Executes one block: a committed sub-DAG (committee members; it becomes a parcel) or a parcel
   * attested by the committee (`parcelDigest`).
   */
  execute(block: Block, parcelDigest?: Uint8Array): void {
    const { chain, parcels, logger } = this.#deps
    // A sub-DAG of an epoch that has ended (committed after the epoch-changing block) is not executed:
    // every member stops at the same block, and its transactions are resubmitted to the next epoch.
    if (block.sequence.epoch !== chain.epochInfo().epoch) return
    if (chain.hasExecuted(block.sequence)) {
      if (parcelDigest !== undefined) parcels.advanceProducerHead({ digest: parcelDigest, ...block.sequence })
      return
    }
    const startedMs = performance.now()
    let result: ExecuteBlockResult
    let produced: ProducedParcel | undefined
    try {
      // The parcel, the block and both parcel heads commit together (one commit, one fsync): after a
      // crash either all are there or none, and the sub-DAG delivered again produces the same parcel.
      result = this.#deps.storage.transaction(() => {
        if (parcelDigest === undefined) produced = parcels.produce(block)
        const digest = parcelDigest ?? produced!.digest
        const executed = chain.executeBlock({
          ...block,
          digest,
          isVerified: (bytes) => this.#deps.txpool.isVerified(bytes),
        })
        parcels.executed({ digest, ...block.sequence }, produced !== undefined)
        return executed
      })
    } catch (err) {
      logger.fatal({ err, sequence: block.sequence }, 'block execution failed; stopping')
      this.#deps.onFatal(err)
      throw err
    }
    this.#duration?.observe((performance.now() - startedMs) / 1000)
    this.#blocks?.inc({ path: produced !== undefined ? 'ordered' : 'followed' })
    if (produced !== undefined) parcels.publish(produced)
    this.#deps.txpool.onExecuted(block.transactions, result.receipts)
    this.#record(result.receipts)
    logger.debug(
      { height: result.height, txs: result.receipts.length, stateRoot: toHex(result.stateRoot) },
      'block executed',
    )
    if (result.newEpoch !== undefined) {
      logger.info({ epoch: result.newEpoch }, 'epoch changed')
      this.#deps.onEpochEnded({
        epoch: block.sequence.epoch,
        index: block.sequence.index,
        height: result.height,
        stateRoot: result.stateRoot,
        parcel: parcelDigest ?? produced!.digest,
      })
    }
  }

  /** The latest receipts, oldest first. */
  recentReceipts(): readonly Receipt[] {
    return this.#recent
  }

  /** Transactions executed per second over the last few seconds. */
  txPerSecond(nowMs: number = Date.now()): number {
    let count = 0
    for (const e of this.#executedAt) if (nowMs - e.atMs <= RATE_WINDOW_MS) count += e.count
    return count / (RATE_WINDOW_MS / 1000)
  }

  #record(receipts: readonly Receipt[]): void {
    const now = Date.now()
    this.#executedAt.push({ atMs: now, count: receipts.length })
    while (this.#executedAt.length > 0 && now - this.#executedAt[0].atMs > 2 * RATE_WINDOW_MS)
      this.#executedAt.shift()
    for (const receipt of receipts) {
      this.#transactions?.inc({ status: receipt.status })
      this.#recent.push(receipt)
    }
    if (this.#recent.length > RECENT_RECEIPTS) this.#recent.splice(0, this.#recent.length - RECENT_RECEIPTS)
  }
}
