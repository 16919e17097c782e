/**
 * The network's options, typed once with their defaults (STYLE habit 5), and the check that turns a
 * partial set into a usable one.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

import { FleekError } from '../../lib/errors.ts'

/** Sustained rate and burst of one token bucket per peer and protocol. */
export interface RateLimit {
  framesPerSecond: number
  burstFrames: number
  bytesPerSecond: number
  burstBytes: number
}

export interface NetworkOptions {
  /** Multiaddrs to listen on: TCP (`/ip4/…/tcp/P`) and WebSockets (`/ip4/…/tcp/P/ws`). */
  listen: string[]
  /** Multiaddrs to announce instead of the listen addresses (empty: announce what we listen on). */
  announce: string[]
  /** Peers to dial at start: multiaddrs ending in `/p2p/<peer id>`. */
  bootstrap: string[]
  /**
   * Peers kept connected at most: inbound connections past it are refused, and the newest
   * non-committee peers are hung up on when committee dials push the count over it.
   */
  maxConnections: number
  dialTimeoutMs: number
  /** Upper bound on one request's round trip (joined with the caller's signal). */
  requestTimeoutMs: number
  /** Backoff between dials of a disconnected committee member: doubles from min to max. */
  reconnectMinMs: number
  reconnectMaxMs: number
  /** Largest payload of one frame, per protocol (checked before allocation). */
  maxConsensusBytes: number
  maxSyncBytes: number
  maxTransactionBytes: number
  maxGossipBytes: number
  /** Frames queued for one peer and protocol while its stream opens or drains; past it, new ones drop. */
  maxQueuedBytes: number
  /** How long frames for a peer that is not connected wait for it (committee redial) before dropping. */
  holdUnconnectedMs: number
  /** Inbound streams per connection and protocol. */
  maxInboundStreams: number
  /** Per peer and protocol; a frame waits for tokens up to `maxRateWaitMs`, past it is dropped. */
  consensusRate: RateLimit
  syncRate: RateLimit
  transactionRate: RateLimit
  maxRateWaitMs: number
  /** Misbehaviours within the window that get a peer disconnected and banned for `banMs`. */
  misbehaviourThreshold: number
  misbehaviourWindowMs: number
  banMs: number
  /** Committee members a forwarded transaction is sent to directly (gossip when none is connected). */
  forwardFanout: number
}

const MiB = 1 << 20

export const defaultNetworkOptions: NetworkOptions = {
  listen: ['/ip4/127.0.0.1/tcp/0'],
  announce: [],
  bootstrap: [],
  maxConnections: 128,
  dialTimeoutMs: 10_000,
  requestTimeoutMs: 15_000,
  reconnectMinMs: 250,
  reconnectMaxMs: 30_000,
  maxConsensusBytes: 4 * MiB,
  maxSyncBytes: 4 * MiB,
  maxTransactionBytes: 1 * MiB,
  maxGossipBytes: 1 * MiB,
  maxQueuedBytes: 64 * MiB,
  holdUnconnectedMs: 30_000,
  maxInboundStreams: 32,
  consensusRate: {
    framesPerSecond: 5000,
    burstFrames: 10_000,
    bytesPerSecond: 64 * MiB,
    burstBytes: 128 * MiB,
  },
  syncRate: { framesPerSecond: 200, burstFrames: 400, bytesPerSecond: 32 * MiB, burstBytes: 64 * MiB },
  transactionRate: {
    framesPerSecond: 2000,
    burstFrames: 4000,
    bytesPerSecond: 16 * MiB,
    burstBytes: 32 * MiB,
  },
  maxRateWaitMs: 2000,
  misbehaviourThreshold: 3,
  misbehaviourWindowMs: 60_000,
  banMs: 60_000,
  forwardFanout: 1,
}

const positiveIntegerKeys = [
  'maxConnections',
  'dialTimeoutMs',
  'requestTimeoutMs',
  'reconnectMinMs',
  'reconnectMaxMs',
  'maxConsensusBytes',
  'maxSyncBytes',
  'maxTransactionBytes',
  'maxGossipBytes',
  'maxQueuedBytes',
  'holdUnconnectedMs',
  'maxInboundStreams',
  'misbehaviourThreshold',
  'misbehaviourWindowMs',
  'forwardFanout',
] as const satisfies readonly (keyof NetworkOptions)[]

/** Defaults overlaid with `options`, each checked; INVALID_INPUT names the first bad option. */
export function resolveNetworkOptions(options: Partial<NetworkOptions>): NetworkOptions {
  const resolved: NetworkOptions = { ...defaultNetworkOptions, ...options }
  for (const key of positiveIntegerKeys) {
    const value = resolved[key]
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new FleekError('INVALID_INPUT', `network option ${key} must be a positive integer, got ${value}`)
    }
  }
  for (const key of ['maxRateWaitMs', 'banMs'] as const) {
    const value = resolved[key]
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new FleekError(
        'INVALID_INPUT',
        `network option ${key} must be a non-negative integer, got ${value}`,
      )
    }
  }
  if (resolved.reconnectMaxMs < resolved.reconnectMinMs) {
    throw new FleekError('INVALID_INPUT', 'network option reconnectMaxMs must be ≥ reconnectMinMs')
  }
  for (const key of ['consensusRate', 'syncRate', 'transactionRate'] as const) {
    const rate = resolved[key]
    for (const [field, value] of Object.entries(rate)) {
      if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
        throw new FleekError('INVALID_INPUT', `network option ${key}.${field} must be a positive number`)
      }
    }
  }
  for (const key of ['listen', 'announce', 'bootstrap'] as const) {
    for (const address of resolved[key]) parseMultiaddr(address, `network option ${key}`)
  }
  if (resolved.listen.length === 0)
    throw new FleekError('INVALID_INPUT', 'network option listen needs an address')
  for (const address of resolved.bootstrap) {
    if (
      parseMultiaddr(address, 'bootstrap address')
        .getComponents()
        .every((c) => c.name !== 'p2p')
    ) {
      throw new FleekError('INVALID_INPUT', `bootstrap address ${address} must end in /p2p/<peer id>`)
    }
  }
  return resolved
}

/** A multiaddr from text; INVALID_INPUT naming `what` when it does not parse. */
export function parseMultiaddr(address: string, what: string): Multiaddr {
  try {
    return multiaddr(address)
  } catch (err) {
    throw new FleekError('INVALID_INPUT', `${what}: ${address} is not a valid multiaddr`, { cause: err })
  }
}
