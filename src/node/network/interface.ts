/**
 * The shapes the network shares with the rest of the node: what it is given (logger, node records,
 * handlers) and what it reports (peer status, misbehaviour).
 */
import type { FrameErrorReason } from './frame.ts'
import type { PeerKey } from './peer-key.ts'

export type { PeerKey } from './peer-key.ts'

/** pino-compatible: constant message, variables in the context object. */
export interface NetworkLogger {
  debug(context: object, message: string): void
  info(context: object, message: string): void
  warn(context: object, message: string): void
  error(context: object, message: string): void
}

export const silentNetworkLogger: NetworkLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
}

/** An entry of the genesis node registry: a node key and where the node listens. */
export interface NodeRecord {
  /** ed25519 public key, 32 bytes. */
  publicKey: Uint8Array
  /** Multiaddrs without `/p2p/…` (it is added from the key), e.g. `/ip4/10.0.0.2/tcp/4300`. */
  multiaddrs: string[]
}

/**
 * What a peer did wrong. Frame errors (`oversized`, `empty-frame`, `unknown-kind`, `truncated`) and
 * `unexpected-frame` are bad framing; `not-committee` is consensus traffic from outside the committee
 * (reported, but not counted towards a ban: honest members of the previous epoch may still send it);
 * `invalid-message` is a frame the handler refused (FleekError INVALID_INPUT); `rate-limited` is a peer
 * past its token bucket by more than the allowed wait; `invalid-gossip` is a gossip message without
 * an ed25519 author or over the size limit; `reported` is an offence another component found in what
 * the peer sent (a forged parcel attestation, say) and reported through `Network.penalize` — the
 * component's reason is the `detail`.
 */
export type MisbehaviourReason =
  | FrameErrorReason
  | 'unexpected-frame'
  | 'not-committee'
  | 'invalid-message'
  | 'rate-limited'
  | 'invalid-gossip'
  | 'reported'

/** `detail`: the refusal's one-line message, when a handler refused a message. */
export type MisbehaviourHandler = (peer: PeerKey, reason: MisbehaviourReason, detail?: string) => void

/** Where consensus bytes go when they arrive: `Consensus` satisfies it. */
export interface ConsensusHandler {
  handleMessage(from: PeerKey, bytes: Uint8Array): Promise<void>
  handleRequest(from: PeerKey, bytes: Uint8Array): Promise<Uint8Array>
}

/** Answers a `/fleek/sync/1.0.0` request; throw FleekError INVALID_INPUT for a malformed one. */
export type SyncRequestHandler = (
  from: PeerKey,
  request: Uint8Array,
  signal: AbortSignal,
) => Promise<Uint8Array>

/** A transaction delivered to this committee member (direct stream or gossip). */
export type TransactionHandler = (from: PeerKey, transaction: Uint8Array) => void | Promise<void>

/** A gossip message on a subscribed topic; `from` is its author (signed), not the relaying peer. */
export type GossipHandler = (message: Uint8Array, from: PeerKey, topic: string) => void | Promise<void>

export interface PeerStatus {
  peerId: string
  /** Lowercase hex of the node key. */
  publicKey: PeerKey
  /** Addresses known for the peer (registry, bootstrap, identify). */
  addresses: string[]
  connected: boolean
  /** Remote addresses of the open connections. */
  connections: string[]
  committee: boolean
  /** Banned until this time (ms since the epoch) after repeated misbehaviour; 0 when not banned. */
  bannedUntilMs: number
}

/** What `Network.setRegistry` changed: peers new to the registry, with other addresses, and gone. */
export interface RegistryChange {
  added: PeerKey[]
  changed: PeerKey[]
  removed: PeerKey[]
}

/**
 * What the network counts (`createNetworkMetrics` in metrics.ts gives a Prometheus one). `protocol` is
 * a stream protocol id or `gossip <topic>` (subscribed topics only); bytes are whole frames on the
 * wire (header included) and gossip payloads.
 */
export interface NetworkMetrics {
  bytesReceived(protocol: string, bytes: number): void
  bytesSent(protocol: string, bytes: number): void
  /** The number of peers with at least one open connection, after each connect and disconnect. */
  connectedPeers(count: number): void
  /** One misbehaviour counted towards a ban. */
  strike(reason: MisbehaviourReason): void
  /** A peer banned (disconnected for `banMs`). */
  ban(): void
}

export const silentNetworkMetrics: NetworkMetrics = {
  bytesReceived: () => {},
  bytesSent: () => {},
  connectedPeers: () => {},
  strike: () => {},
  ban: () => {},
}

export interface ForwardResult {
  via: 'direct' | 'gossip'
  /** The committee members sent to directly (empty for gossip). */
  peers: PeerKey[]
}
