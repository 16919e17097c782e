/**
 * One-way frames to one peer on one protocol, in order, over one long-lived stream. Best effort: the
 * queue is bounded in bytes (past it, new frames are dropped); while the peer is not connected the
 * frames are held up to `holdMs` (the committee is being redialed); a broken stream is reopened once;
 * a peer that stays unreachable has its queue dropped (consensus recovers lost messages by sync).
 */
import type { Stream } from '@libp2p/interface'

import { createDeadline } from '../../lib/abort.ts'
import type { NetworkLogger } from './interface.ts'

export interface OutboxDeps {
  /** Opens a stream on the protocol, on an existing connection only; rejects when there is none. */
  openStream: (signal: AbortSignal) => Promise<Stream>
  isConnected: () => boolean
  /** Resolves when the peer connects, or when `signal` aborts. */
  waitForConnection: (signal: AbortSignal) => Promise<void>
  /** How long frames wait for a peer that is not connected before they are dropped. */
  holdMs: number
  /** Aborts when the network closes. */
  signal: AbortSignal
  logger: NetworkLogger
  maxQueuedBytes: number
  sendTimeoutMs: number
  /** Called with each frame's size once the stream took it. */
  onSent?: (bytes: number) => void
}

export class Outbox {
  readonly #deps: OutboxDeps
  #queue: Uint8Array[] = []
  #queuedBytes = 0
  #stream: Stream | undefined
  #pumping = false

  constructor(deps: OutboxDeps) {
    this.#deps = deps
  }

  /** Queues an encoded frame; false when it was dropped (queue full or network closed). */
  push(frame: Uint8Array): boolean {
    if (this.#deps.signal.aborted) return false
    if (this.#queuedBytes + frame.length > this.#deps.maxQueuedBytes) {
      this.#deps.logger.debug({ queuedBytes: this.#queuedBytes }, 'outbound queue full, frame dropped')
      return false
    }
    this.#queue.push(frame)
    this.#queuedBytes += frame.length
    if (!this.#pumping) void this.#pump()
    return true
  }

  get queuedBytes(): number {
    return this.#queuedBytes
  }

  /** Drops the queue and aborts the stream. */
  close(): void {
    this.#clear()
    this.#stream?.abort(new Error('network closed'))
    this.#stream = undefined
  }

  async #pump(): Promise<void> {
    this.#pumping = true
    let failures = 0
    try {
      while (this.#queue.length > 0 && !this.#deps.signal.aborted) {
        if (!this.#deps.isConnected()) {
          // The committee connection manager is (re)dialing: hold the frames a while rather than lose them.
          const hold = createDeadline(this.#deps.holdMs, this.#deps.signal)
          await this.#deps.waitForConnection(hold.signal).finally(() => hold.clear())
          if (!this.#deps.isConnected()) {
            this.#deps.logger.debug(
              { droppedFrames: this.#queue.length },
              'peer not connected, outbound queue dropped',
            )
            this.#clear()
            break
          }
        }
        const frame = this.#queue[0]
        let stream: Stream | undefined
        try {
          stream = await this.#openOrReuse()
          const accepted = stream.send(frame)
          this.#queue.shift()
          this.#queuedBytes -= frame.length
          this.#deps.onSent?.(frame.length)
          failures = 0
          if (!accepted) {
            const drain = createDeadline(this.#deps.sendTimeoutMs, this.#deps.signal)
            await stream.onDrain({ signal: drain.signal }).finally(() => drain.clear())
          }
        } catch (err) {
          if (stream !== undefined) this.#dropStream(stream, err)
          failures++
          if (failures >= 2 || this.#deps.signal.aborted) {
            this.#deps.logger.debug(
              { err: errorMessage(err), droppedFrames: this.#queue.length },
              'peer unreachable, outbound queue dropped',
            )
            this.#clear()
          }
        }
      }
    } finally {
      this.#pumping = false
    }
  }

  async #openOrReuse(): Promise<Stream> {
    const current = this.#stream
    if (current !== undefined && current.status === 'open' && current.writeStatus === 'writable')
      return current
    if (current !== undefined) this.#dropStream(current, new Error('stream no longer writable'))
    const stream = await this.#deps.openStream(this.#deps.signal)
    stream.addEventListener(
      'close',
      () => {
        if (this.#stream === stream) this.#stream = undefined
      },
      { once: true },
    )
    this.#stream = stream
    return stream
  }

  #dropStream(stream: Stream, err: unknown): void {
    if (this.#stream === stream) this.#stream = undefined
    if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)))
  }

  #clear(): void {
    this.#queue = []
    this.#queuedBytes = 0
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
