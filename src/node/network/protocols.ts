/**
 * The fleek stream protocols: length-prefixed frames (frame.ts), limits checked before allocation.
 * - `/fleek/consensus/1.0.0`: committee members only. MESSAGE frames on one long-lived stream per peer
 *   (order kept) go to `ConsensusHandler.handleMessage`; a REQUEST frame on its own stream goes to
 *   `ConsensusHandler.handleRequest` and is answered on that stream.
 * - `/fleek/sync/1.0.0`: requests from any peer, answered by the `SyncRequestHandler`.
 * - `/fleek/tx/1.0.0`: transactions forwarded to a committee member (MESSAGE frames).
 *
 * Inbound frames pass the peer's token buckets (scoring.ts); bad framing, unexpected frames and
 * handler refusals (FleekError INVALID_INPUT) are misbehaviours. Outbound one-way frames go through an
 * Outbox per peer and protocol; requests open a stream each.
 */
import type { Connection, Stream } from '@libp2p/interface'

import { createDeadline } from '../../lib/abort.ts'
import { FleekError, isFleekError } from '../../lib/errors.ts'
import { FRAME_HEADER_BYTES, FrameError, FrameKind, FrameReader, encodeFrame } from './frame.ts'
import type { NetworkPartDeps } from './host.ts'
import type { ConsensusHandler, SyncRequestHandler, TransactionHandler } from './interface.ts'
import type { RateLimit } from './options.ts'
import { Outbox, errorMessage } from './outbox.ts'
import { peerIdOf, peerKeyOf, type PeerKey } from './peer-key.ts'
import { sleepMs } from './timing.ts'

export const PROTOCOLS = {
  consensus: '/fleek/consensus/1.0.0',
  sync: '/fleek/sync/1.0.0',
  transaction: '/fleek/tx/1.0.0',
} as const

interface ProtocolSpec {
  protocol: string
  maxBytes: number
  rate: RateLimit
  committeeOnly: boolean
  onMessage?: (from: PeerKey, payload: Uint8Array) => Promise<void>
  onRequest?: (from: PeerKey, payload: Uint8Array, signal: AbortSignal) => Promise<Uint8Array>
}

export interface ProtocolsDeps extends NetworkPartDeps {
  committee: () => ReadonlySet<PeerKey>
  waitForConnection: (peer: PeerKey, signal: AbortSignal) => Promise<void>
}

export class Protocols {
  readonly #deps: ProtocolsDeps
  readonly #libp2p: NetworkPartDeps['libp2p']
  readonly #outboxes = new Map<string, Outbox>()
  consensus: ConsensusHandler | undefined
  sync: SyncRequestHandler | undefined
  transaction: TransactionHandler | undefined

  constructor(deps: ProtocolsDeps) {
    this.#deps = deps
    this.#libp2p = deps.libp2p
  }

  /** Registers the inbound handlers of the three protocols. */
  async register(): Promise<void> {
    for (const spec of this.#specs()) {
      await this.#libp2p.handle(
        spec.protocol,
        (stream, connection) => {
          void this.#serve(spec, stream, connection)
        },
        { maxInboundStreams: this.#deps.options.maxInboundStreams },
      )
    }
  }

  /**
   * Best effort: one MESSAGE frame to `peer` on `protocol`, queued in order behind the earlier ones
   * (connected peers only; held a while for one being redialled). False when it was dropped.
   */
  sendMessage(protocol: string, peer: PeerKey, payload: Uint8Array): boolean {
    return this.#outbox(protocol, peer).push(encodeFrame(FrameKind.MESSAGE, payload))
  }

  /** Drops what is queued for `peer` on `protocol` and its stream (a member that left the committee). */
  dropOutbox(protocol: string, peer: PeerKey): void {
    const id = `${protocol} ${peer}`
    this.#outboxes.get(id)?.close()
    this.#outboxes.delete(id)
  }

  closeOutboxes(): void {
    for (const outbox of this.#outboxes.values()) outbox.close()
    this.#outboxes.clear()
  }

  /** One request on its own stream; rejects UNAVAILABLE, TIMEOUT, INTERRUPTED, REJECTED or INVALID_INPUT. */
  async request(
    protocol: string,
    maxBytes: number,
    peer: PeerKey,
    request: Uint8Array,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const { options, metrics, scoring } = this.#deps
    if (this.#deps.signal.aborted) throw new FleekError('UNAVAILABLE', 'the network is closed')
    if (request.length > maxBytes) {
      throw new FleekError(
        'INVALID_INPUT',
        `a request of ${request.length} bytes exceeds the limit of ${maxBytes}`,
      )
    }
    const joined = createDeadline(options.requestTimeoutMs, this.#deps.signal, signal).signal
    let stream: Stream
    try {
      stream = await this.#libp2p.dialProtocol(peerIdOf(peer), protocol, { signal: joined })
    } catch (err) {
      throw requestFailure(err, joined, signal, `cannot reach peer ${peer.slice(0, 16)}…`)
    }
    const onAbort = (): void => stream.abort(new Error('request aborted'))
    joined.addEventListener('abort', onAbort, { once: true })
    try {
      const frame = encodeFrame(FrameKind.REQUEST, request)
      stream.send(frame)
      metrics.bytesSent(protocol, frame.length)
      await stream.close({ signal: joined })
      const answer = await new FrameReader(stream, maxBytes).read()
      if (answer === undefined)
        throw new FleekError('UNAVAILABLE', 'the peer closed the stream without answering')
      metrics.bytesReceived(protocol, answer.payload.length + FRAME_HEADER_BYTES)
      if (answer.kind === FrameKind.RESPONSE_OK) return answer.payload
      if (answer.kind === FrameKind.RESPONSE_ERROR) {
        throw new FleekError(
          'REJECTED',
          `the peer refused the request: ${new TextDecoder().decode(answer.payload)}`,
        )
      }
      scoring.misbehave(peer, 'unexpected-frame', { stream })
      throw new FleekError('INVALID_INPUT', 'the peer answered with an unexpected frame')
    } catch (err) {
      if (err instanceof FrameError) scoring.misbehave(peer, err.reason, { stream })
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw requestFailure(err, joined, signal, 'the request failed')
    } finally {
      joined.removeEventListener('abort', onAbort)
    }
  }

  /** A transaction for the committee: to the handler while this node is a member, else dropped. */
  async deliverTransaction(from: PeerKey, transaction: Uint8Array): Promise<void> {
    if (!this.#deps.committee().has(this.#deps.peerKey)) {
      this.#deps.logger.debug({ from }, 'transaction for the committee received by a non-member, dropped')
      return
    }
    const handler = this.transaction
    if (handler === undefined)
      this.#deps.logger.debug({ from }, 'transaction received with no handler, dropped')
    else await handler(from, transaction)
  }

  #specs(): ProtocolSpec[] {
    const { options, logger } = this.#deps
    return [
      {
        protocol: PROTOCOLS.consensus,
        maxBytes: options.maxConsensusBytes,
        rate: options.consensusRate,
        committeeOnly: true,
        onMessage: async (from, payload) => {
          const handler = this.consensus
          if (handler === undefined) logger.debug({ from }, 'consensus message before consensus attached')
          else await handler.handleMessage(from, payload)
        },
        onRequest: async (from, payload) => {
          const handler = this.consensus
          if (handler === undefined)
            throw new FleekError('UNAVAILABLE', 'consensus is not running on this node')
          return handler.handleRequest(from, payload)
        },
      },
      {
        protocol: PROTOCOLS.sync,
        maxBytes: options.maxSyncBytes,
        rate: options.syncRate,
        committeeOnly: false,
        onRequest: async (from, payload, signal) => {
          const handler = this.sync
          if (handler === undefined) throw new FleekError('UNAVAILABLE', 'this node serves no sync requests')
          return handler(from, payload, signal)
        },
      },
      {
        protocol: PROTOCOLS.transaction,
        maxBytes: options.maxTransactionBytes,
        rate: options.transactionRate,
        committeeOnly: false,
        onMessage: async (from, payload) => this.deliverTransaction(from, payload),
      },
    ]
  }

  /** Reads frames from one inbound stream until it ends; never rejects. */
  async #serve(spec: ProtocolSpec, stream: Stream, connection: Connection): Promise<void> {
    const { scoring, metrics, options, signal } = this.#deps
    const from = peerKeyOf(connection.remotePeer)
    try {
      if (from === undefined) {
        stream.abort(new Error('peers need an ed25519 identity'))
        return
      }
      if (spec.committeeOnly && !this.#deps.committee().has(from)) {
        // Reported, not counted towards a ban: at an epoch change honest old members may still talk.
        scoring.misbehave(from, 'not-committee', { stream, strike: false })
        return
      }
      const reader = new FrameReader(stream, spec.maxBytes)
      for (;;) {
        const frame = await reader.read()
        if (frame === undefined) break
        metrics.bytesReceived(spec.protocol, frame.payload.length + FRAME_HEADER_BYTES)
        const waitMs = scoring.admit(spec.protocol, from, spec.rate, spec.maxBytes, frame.payload.length)
        if (waitMs === undefined) {
          scoring.misbehave(from, 'rate-limited', { stream })
          return
        }
        if (waitMs > 0) await sleepMs(waitMs, signal)
        if (signal.aborted) break
        if (frame.kind === FrameKind.MESSAGE && spec.onMessage !== undefined) {
          await scoring.runHandler(spec.protocol, from, () => spec.onMessage!(from, frame.payload))
        } else if (frame.kind === FrameKind.REQUEST && spec.onRequest !== undefined) {
          const answer = await this.#answer(spec, from, frame.payload)
          metrics.bytesSent(spec.protocol, answer.length)
          if (!stream.send(answer))
            await stream.onDrain({ signal: createDeadline(options.requestTimeoutMs, signal).signal })
        } else {
          scoring.misbehave(from, 'unexpected-frame', { stream })
          return
        }
      }
      if (stream.status === 'open')
        await stream.close({ signal: createDeadline(options.requestTimeoutMs, signal).signal })
    } catch (err) {
      if (err instanceof FrameError && from !== undefined) scoring.misbehave(from, err.reason, { stream })
      else {
        this.#deps.logger.debug(
          { protocol: spec.protocol, from, err: errorMessage(err) },
          'inbound stream failed',
        )
        if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }
  }

  /** The RESPONSE frame for a request: the handler's answer, or its failure as a short reason. */
  async #answer(spec: ProtocolSpec, from: PeerKey, payload: Uint8Array): Promise<Uint8Array> {
    const { logger, options, signal } = this.#deps
    try {
      const answer = await spec.onRequest!(
        from,
        payload,
        createDeadline(options.requestTimeoutMs, signal).signal,
      )
      if (answer.length > spec.maxBytes) {
        logger.error({ protocol: spec.protocol, sizeBytes: answer.length }, 'answer over the size limit')
        return encodeFrame(FrameKind.RESPONSE_ERROR, new TextEncoder().encode('answer too large'))
      }
      return encodeFrame(FrameKind.RESPONSE_OK, answer)
    } catch (err) {
      if (isFleekError(err, 'INVALID_INPUT'))
        this.#deps.scoring.misbehave(from, 'invalid-message', { detail: err.message })
      else if (!isFleekError(err)) {
        logger.warn({ protocol: spec.protocol, from, err: errorMessage(err) }, 'request handler failed')
      }
      const reason = isFleekError(err) ? err.message : 'internal error'
      return encodeFrame(FrameKind.RESPONSE_ERROR, new TextEncoder().encode(reason.slice(0, 200)))
    }
  }

  #outbox(protocol: string, peer: PeerKey): Outbox {
    const id = `${protocol} ${peer}`
    let outbox = this.#outboxes.get(id)
    if (outbox === undefined) {
      const { options, signal, logger, metrics } = this.#deps
      const peerId = peerIdOf(peer)
      outbox = new Outbox({
        openStream: async (openSignal) => {
          if (this.#libp2p.getConnections(peerId).length === 0) throw new Error('not connected')
          return this.#libp2p.dialProtocol(peerId, protocol, {
            signal: createDeadline(options.dialTimeoutMs, openSignal).signal,
          })
        },
        isConnected: () => this.#libp2p.getConnections(peerId).length > 0,
        waitForConnection: (waitSignal) => this.#deps.waitForConnection(peer, waitSignal),
        holdMs: options.holdUnconnectedMs,
        signal,
        logger,
        maxQueuedBytes: options.maxQueuedBytes,
        sendTimeoutMs: options.requestTimeoutMs,
        onSent: (bytes) => metrics.bytesSent(protocol, bytes),
      })
      this.#outboxes.set(id, outbox)
    }
    return outbox
  }
}

/** A FleekError for a failed request: TIMEOUT, INTERRUPTED (caller aborted), or the error's own code. */
function requestFailure(
  err: unknown,
  joined: AbortSignal,
  callerSignal: AbortSignal,
  what: string,
): FleekError {
  if (callerSignal.aborted) return new FleekError('INTERRUPTED', `${what}: aborted`, { cause: err })
  if (isFleekError(err)) return err
  if (joined.aborted) return new FleekError('TIMEOUT', `${what}: no answer in time`, { cause: err })
  return new FleekError('UNAVAILABLE', `${what}: ${errorMessage(err)}`, { cause: err })
}
