/**
 * Peer scoring: token buckets per peer and protocol (rate limits), strikes for misbehaviour, and bans.
 *
 * Every misbehaviour is told to `onMisbehaviour`; those that count (`strike`) are kept for
 * `misbehaviourWindowMs`, and the `misbehaviourThreshold`-th within the window disconnects the peer
 * and bans it for `banMs`: the connection gater refuses its dials and connections, and its gossip
 * is dropped, until the ban runs out. The network's own protocol violations and the offences other
 * components report (`Network.penalize`) go the same way.
 */
import type { PeerId, Stream } from '@libp2p/interface'

import { isFleekError } from '../../lib/errors.ts'
import type { MisbehaviourHandler, MisbehaviourReason, NetworkLogger, NetworkMetrics } from './interface.ts'
import type { NetworkOptions, RateLimit } from './options.ts'
import { errorMessage } from './outbox.ts'
import { peerKeyOf, type PeerKey } from './peer-key.ts'
import { TokenBucket } from './rate-limit.ts'

export interface PeerScoringDeps {
  options: Pick<NetworkOptions, 'maxRateWaitMs' | 'misbehaviourThreshold' | 'misbehaviourWindowMs' | 'banMs'>
  now: () => number
  logger: NetworkLogger
  metrics: NetworkMetrics
  onMisbehaviour?: MisbehaviourHandler
  /** Closes every connection to a peer just banned. */
  hangUp: (peer: PeerKey) => Promise<void>
}

export interface MisbehaviourOptions {
  /** The stream it came on: reset. */
  stream?: Stream
  /** False: reported but not counted towards a ban. */
  strike?: boolean
  detail?: string
}

interface PeerBuckets {
  frames: TokenBucket
  bytes: TokenBucket
}

export class PeerScoring {
  readonly #deps: PeerScoringDeps
  /** Peer → banned until (ms). */
  readonly #bans = new Map<PeerKey, number>()
  /** Peer → times of the strikes within the window. */
  readonly #strikes = new Map<PeerKey, number[]>()
  /** Peer → protocol → buckets (dropped when the peer's last connection closes). */
  readonly #buckets = new Map<PeerKey, Map<string, PeerBuckets>>()

  constructor(deps: PeerScoringDeps) {
    this.#deps = deps
  }

  isBanned(peer: PeerKey): boolean {
    return this.bannedUntilMs(peer) > 0
  }

  /** When the peer's ban ends (ms since the epoch), or 0 when it is not banned. */
  bannedUntilMs(peer: PeerKey): number {
    const until = this.#bans.get(peer)
    if (until === undefined) return 0
    if (until > this.#deps.now()) return until
    this.#bans.delete(peer)
    return 0
  }

  /** For the connection gater: banned, or no ed25519 identity (such peers cannot take part). */
  refuses(peerId: PeerId): boolean {
    const key = peerKeyOf(peerId)
    return key === undefined || this.isBanned(key)
  }

  /**
   * Takes one frame of `sizeBytes` from the peer's buckets on `protocol`: the wait before handling it
   * (0 = now), or `undefined` when the peer is past its rate by more than `maxRateWaitMs`.
   */
  admit(
    protocol: string,
    peer: PeerKey,
    rate: RateLimit,
    maxFrameBytes: number,
    sizeBytes: number,
  ): number | undefined {
    let byProtocol = this.#buckets.get(peer)
    if (byProtocol === undefined) {
      byProtocol = new Map()
      this.#buckets.set(peer, byProtocol)
    }
    let buckets = byProtocol.get(protocol)
    if (buckets === undefined) {
      const maxWaitMs = this.#deps.options.maxRateWaitMs
      const now = this.#deps.now
      buckets = {
        frames: new TokenBucket(
          { ratePerSecond: rate.framesPerSecond, burst: rate.burstFrames, maxWaitMs },
          now,
        ),
        bytes: new TokenBucket(
          {
            ratePerSecond: rate.bytesPerSecond,
            burst: Math.max(rate.burstBytes, maxFrameBytes),
            maxWaitMs,
          },
          now,
        ),
      }
      byProtocol.set(protocol, buckets)
    }
    const waitMs = Math.max(
      buckets.frames.reserve(1) ?? Infinity,
      buckets.bytes.reserve(sizeBytes) ?? Infinity,
    )
    return waitMs === Infinity ? undefined : waitMs
  }

  /** Forgets the peer's buckets (its last connection closed). Strikes and bans stay. */
  forgetBuckets(peer: PeerKey): void {
    this.#buckets.delete(peer)
  }

  /**
   * Records a misbehaviour: resets the stream it came on, tells `onMisbehaviour`, and past the
   * threshold within the window disconnects the peer and bans it for `banMs`. True when this one
   * banned the peer.
   */
  misbehave(
    peer: PeerKey,
    reason: MisbehaviourReason,
    { stream, strike = true, detail }: MisbehaviourOptions = {},
  ): boolean {
    const { logger, options } = this.#deps
    if (stream !== undefined && stream.status === 'open') stream.abort(new Error(`misbehaviour: ${reason}`))
    // Not counted (strike false: e.g. members of the previous epoch still talking) is routine: debug.
    if (strike) logger.warn({ peer, reason, detail }, 'peer misbehaved')
    else logger.debug({ peer, reason, detail }, 'peer misbehaved')
    try {
      this.#deps.onMisbehaviour?.(peer, reason, detail)
    } catch (err) {
      logger.warn({ err: errorMessage(err) }, 'misbehaviour handler failed')
    }
    if (!strike) return false
    this.#deps.metrics.strike(reason)
    const nowMs = this.#deps.now()
    const recent = (this.#strikes.get(peer) ?? []).filter((t) => t > nowMs - options.misbehaviourWindowMs)
    recent.push(nowMs)
    if (recent.length < options.misbehaviourThreshold) {
      this.#strikes.set(peer, recent)
      return false
    }
    this.#strikes.delete(peer)
    this.#bans.set(peer, nowMs + options.banMs)
    this.#deps.metrics.ban()
    logger.warn({ peer, banMs: options.banMs }, 'peer disconnected for misbehaviour')
    this.#deps.hangUp(peer).catch((err: unknown) => {
      logger.debug({ peer, err: errorMessage(err) }, 'hang up failed')
    })
    return true
  }

  /**
   * Runs a handler of what `from` sent; a FleekError INVALID_INPUT is the peer's fault (a strike,
   * `invalid-message` with the error's message), anything else is logged. Never rejects.
   */
  async runHandler(label: string, from: PeerKey, run: () => Promise<void>): Promise<void> {
    try {
      await run()
    } catch (err) {
      if (isFleekError(err, 'INVALID_INPUT')) this.misbehave(from, 'invalid-message', { detail: err.message })
      else this.#deps.logger.warn({ protocol: label, from, err: errorMessage(err) }, 'message handler failed')
    }
  }
}
