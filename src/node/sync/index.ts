/**
 * Catching up (`[sync]`): in mode checkpoint, a node that is behind restores the latest checkpoint its
 * peers can prove instead of replaying every block — at start, and while running when it finds a
 * member's head more than an epoch past its own. The state, both parcel heads and the chain of
 * checkpoints are imported in one transaction; then the node follows the parcels after it. In mode
 * full (or when no peer proves a checkpoint past this node) the node replays the parcels.
 */
import { createDeadline } from '../../lib/abort.ts'
import type { CheckpointService, RestoredCheckpoint } from '../checkpoint/index.ts'
import type { Logger } from '../logger.ts'
import { type ParcelHead, writeFollowerHead, writeProducerHead } from '../parcels/index.ts'
import type { ParcelService } from '../parcels/index.ts'
import type { Storage } from '../storage/index.ts'

export interface CatchUpOptions {
  mode: 'checkpoint' | 'full'
  /** The whole restore: checkpoints, snapshot, import. */
  restoreTimeoutMs: number
  /** After a restore that found nothing to restore, how long the node replays before it tries again. */
  retryAfterMs: number
}

export const defaultCatchUpOptions: CatchUpOptions = {
  mode: 'checkpoint',
  restoreTimeoutMs: 120_000,
  retryAfterMs: 60_000,
}

export interface CatchUpDeps {
  storage: Storage
  checkpoints: Pick<CheckpointService, 'restore'>
  parcels: Pick<ParcelService, 'resetHeads' | 'pollHead'>
  /** After a restore while running: the epoch may have changed (committee, consensus). */
  onRestored(): void | Promise<void>
  logger: Logger
}

export class CatchUp {
  readonly #options: CatchUpOptions
  readonly #deps: CatchUpDeps
  #restored: RestoredCheckpoint | undefined
  #running: Promise<void> | undefined
  #noRestoreUntilMs = 0
  #signal: AbortSignal = new AbortController().signal

  constructor(options: Partial<CatchUpOptions>, deps: CatchUpDeps) {
    this.#options = { ...defaultCatchUpOptions, ...options }
    this.#deps = deps
  }

  /** The checkpoint this node restored last, if any. */
  get restored(): RestoredCheckpoint | undefined {
    return this.#restored
  }

  /** True while a restore runs: the parcels wait (their blocks may be replaced by the checkpoint's state). */
  get restoring(): boolean {
    return this.#running !== undefined
  }

  get mode(): 'checkpoint' | 'full' {
    return this.#options.mode
  }

  /** At start: restores a checkpoint when the node is behind by one (mode checkpoint). */
  async start(signal: AbortSignal): Promise<boolean> {
    this.#signal = signal
    return this.#options.mode === 'checkpoint' && (await this.#restore())
  }

  /**
   * A member's head is in `epoch`, more than one past this node's: true when a restore runs (or is
   * already running) instead of following block by block.
   */
  onFarBehind(epoch: number): boolean {
    if (this.#options.mode !== 'checkpoint' || Date.now() < this.#noRestoreUntilMs) return false
    if (this.#running !== undefined) return true
    this.#deps.logger.info({ epoch }, 'far behind; restoring a checkpoint')
    this.#running = this.#restore()
      .then(async (restored) => {
        if (restored) await this.#deps.onRestored()
        else this.#noRestoreUntilMs = Date.now() + this.#options.retryAfterMs
        // The parcels after the checkpoint (or, with none restored, every one since the head).
        this.#deps.parcels.pollHead()
      })
      .catch((err: unknown) => this.#deps.logger.warn({ err }, 'could not start after a restore'))
      .finally(() => (this.#running = undefined))
    return true
  }

  /** Waits for a restore under way (after the signal aborted). */
  async close(): Promise<void> {
    await this.#running
  }

  async #restore(): Promise<boolean> {
    const { storage, logger } = this.#deps
    const deadline = createDeadline(this.#options.restoreTimeoutMs, this.#signal)
    try {
      let head: ParcelHead | undefined
      const restored = await this.#deps.checkpoints.restore((h) => {
        head = h
        writeFollowerHead(storage, h)
        writeProducerHead(storage, h)
      }, deadline.signal)
      if (restored === undefined || head === undefined) return false
      this.#restored = restored
      this.#deps.parcels.resetHeads(head)
      return true
    } catch (err) {
      if (this.#signal.aborted) throw err
      logger.warn({ err: (err as Error).message }, 'checkpoint sync failed; following the parcels instead')
      return false
    } finally {
      deadline.clear()
    }
  }
}
