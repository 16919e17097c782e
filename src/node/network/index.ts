/**
 * The network: a libp2p host whose identity is the node key (TCP + Noise + Yamux, and WebSockets),
 * the fleek stream protocols, gossip, peer scoring, and a connection manager that keeps the committee
 * connected. This file is the public face; the parts are host.ts (libp2p, registry, committee
 * connections), protocols.ts (framed request/response and one-way streams), gossip.ts and scoring.ts
 * (rate limits, strikes, bans). docs/protocol/network.md is the wire description.
 *
 * ```ts
 * const network = await Network.start({ listen: ['/ip4/0.0.0.0/tcp/4300'] }, { nodeKey, registry, committee, logger }, signal)
 * const consensus = new Consensus({}, { committee, keys, store, network }) // Network is a ConsensusNetwork
 * network.attachConsensus(consensus)
 * network.onTransaction((from, tx) => consensus.submit(tx))
 * ```
 *
 * A peer that sends garbage has its stream reset and is reported (`onMisbehaviour`); past the
 * threshold within the window it is disconnected and banned for a while. Other components strike
 * peers the same way through `penalize`. Handlers that throw are contained. Nothing rejects
 * unhandled; `close()` (or the start signal) stops every timer and stream.
 */
import './polyfill.ts'

import type { Libp2p } from '@libp2p/interface'

import { createDeadline } from '../../lib/abort.ts'
import { FleekError } from '../../lib/errors.ts'
import type { ConsensusNetwork } from '../consensus/interface.ts'
import { Gossip, TRANSACTION_TOPIC } from './gossip.ts'
import { Host, checkRecord, createHost, type Services } from './host.ts'
import {
  silentNetworkLogger,
  silentNetworkMetrics,
  type ConsensusHandler,
  type ForwardResult,
  type GossipHandler,
  type MisbehaviourHandler,
  type NetworkLogger,
  type NetworkMetrics,
  type NodeRecord,
  type PeerStatus,
  type RegistryChange,
  type SyncRequestHandler,
  type TransactionHandler,
} from './interface.ts'
import { resolveNetworkOptions, type NetworkOptions } from './options.ts'
import { errorMessage } from './outbox.ts'
import { peerIdOf, peerKeyOf, toPeerKey, type PeerKey } from './peer-key.ts'
import { PROTOCOLS, Protocols } from './protocols.ts'
import { PeerScoring } from './scoring.ts'
import { stopHost } from './stop.ts'

export * from './interface.ts'
export {
  defaultNetworkOptions,
  resolveNetworkOptions,
  type NetworkOptions,
  type RateLimit,
} from './options.ts'
export {
  FrameKind,
  encodeFrame,
  FrameReader,
  FrameError,
  type Frame,
  type FrameErrorReason,
} from './frame.ts'
export { peerIdOf, peerKeyOf, toPeerKey } from './peer-key.ts'
export { TokenBucket } from './rate-limit.ts'
export { createNetworkMetrics } from './metrics.ts'
export { PROTOCOLS, TRANSACTION_TOPIC }

export interface NetworkDeps {
  /** The node key: its 32-byte ed25519 seed is `secret` (a `SecretKey` of kind `node` fits). */
  nodeKey: { secret: Uint8Array }
  /** The node registry: where to find the other nodes (`setRegistry` replaces it later). */
  registry?: NodeRecord[]
  /** The current committee's node public keys (may include this node); `setCommittee` changes it. */
  committee?: Uint8Array[]
  logger?: NetworkLogger
  /** Bytes per protocol, connected peers, strikes and bans (`createNetworkMetrics`). */
  metrics?: NetworkMetrics
  onMisbehaviour?: MisbehaviourHandler
  /** Test seam: the clock of rate limits and bans. */
  now?: () => number
}

interface Parts {
  libp2p: Libp2p<Services>
  scoring: PeerScoring
  host: Host
  protocols: Protocols
  gossip: Gossip
}

export class Network implements ConsensusNetwork {
  readonly #options: NetworkOptions
  readonly #libp2p: Libp2p<Services>
  readonly #logger: NetworkLogger
  readonly #controller: AbortController
  readonly #peerKey: PeerKey
  readonly #scoring: PeerScoring
  readonly #host: Host
  readonly #protocols: Protocols
  readonly #gossip: Gossip
  #forwardCursor = 0
  #closing: Promise<void> | undefined
  #detachSignal: () => void = () => {}

  private constructor(
    options: NetworkOptions,
    logger: NetworkLogger,
    controller: AbortController,
    peerKey: PeerKey,
    parts: Parts,
  ) {
    this.#options = options
    this.#logger = logger
    this.#controller = controller
    this.#peerKey = peerKey
    this.#libp2p = parts.libp2p
    this.#scoring = parts.scoring
    this.#host = parts.host
    this.#protocols = parts.protocols
    this.#gossip = parts.gossip
  }

  /**
   * Builds the libp2p host from the node key, listens, registers the protocols and starts dialing the
   * committee and the bootstrap peers. `signal` closes the network when it aborts.
   */
  static async start(
    options: Partial<NetworkOptions>,
    deps: NetworkDeps,
    signal: AbortSignal,
  ): Promise<Network> {
    if (signal.aborted) throw new FleekError('INTERRUPTED', 'the network start was aborted')
    const resolved = resolveNetworkOptions(options)
    const registry = (deps.registry ?? []).map((record, i) => checkRecord(record, i))
    const committee = (deps.committee ?? []).map((key) => toPeerKey(key))
    const logger = deps.logger ?? silentNetworkLogger
    const metrics = deps.metrics ?? silentNetworkMetrics
    const controller = new AbortController()
    // The scoring guards the host's gate, and hangs up through the host once it exists.
    const hostRef: { libp2p?: Libp2p<Services> } = {}
    const scoring = new PeerScoring({
      options: resolved,
      now: deps.now ?? Date.now,
      logger,
      metrics,
      onMisbehaviour: deps.onMisbehaviour,
      hangUp: async (peer) => {
        await hostRef.libp2p?.hangUp(peerIdOf(peer))
      },
    })
    const libp2p = await createHost(resolved, deps.nodeKey.secret, (peerId) => scoring.refuses(peerId))
    hostRef.libp2p = libp2p
    const peerKey = peerKeyOf(libp2p.peerId)
    if (peerKey === undefined) throw new FleekError('INTERNAL', 'the node key did not give an ed25519 PeerId')
    const common = { libp2p, options: resolved, logger, metrics, scoring, peerKey, signal: controller.signal }
    const host = new Host({ ...common, onPeerGone: (peer) => scoring.forgetBuckets(peer) })
    const protocols = new Protocols({
      ...common,
      committee: () => host.committee(),
      waitForConnection: (peer, s) => host.waitForConnection(peer, s),
    })
    const gossip = new Gossip({
      ...common,
      onTransaction: (from, transaction) => protocols.deliverTransaction(from, transaction),
    })
    const network = new Network(resolved, logger, controller, peerKey, {
      libp2p,
      scoring,
      host,
      protocols,
      gossip,
    })
    try {
      await network.#init(registry, committee, signal)
    } catch (err) {
      await network.close()
      throw err
    }
    return network
  }

  async #init(registry: [PeerKey, string[]][], committee: PeerKey[], signal: AbortSignal): Promise<void> {
    if (signal.aborted) throw new FleekError('INTERRUPTED', 'the network start was aborted')
    const onAbort = (): void => void this.close()
    signal.addEventListener('abort', onAbort, { once: true })
    this.#detachSignal = () => signal.removeEventListener('abort', onAbort)
    await this.#host.setRegistry(registry)
    await this.#protocols.register()
    await this.setCommittee(committee.map((k) => Buffer.from(k, 'hex')))
    for (const address of this.#options.bootstrap) void this.#host.dialBootstrap(address)
    this.#logger.info(
      {
        peerId: this.peerId,
        addresses: this.addresses(),
        committee: this.#host.committee().size,
        registry: this.#host.registrySize(),
      },
      'network started',
    )
  }

  /** This node's PeerKey (hex of the node public key). */
  get peerKey(): PeerKey {
    return this.#peerKey
  }

  /** This node's libp2p PeerId ("12D3KooW…"). */
  get peerId(): string {
    return this.#libp2p.peerId.toString()
  }

  /** The addresses this node can be dialed on, each ending in `/p2p/<peer id>`. */
  addresses(): string[] {
    return this.#libp2p.getMultiaddrs().map((a) => a.toString())
  }

  get closed(): boolean {
    return this.#controller.signal.aborted
  }

  // ——— registry, committee and connections ———

  /**
   * Replaces the node registry (after a block that registered, moved or removed nodes): the new
   * addresses go to the peer store, and committee members with new addresses are dialled again at once.
   * Idempotent; INVALID_INPUT (nothing changed) when a record is malformed.
   */
  async setRegistry(records: NodeRecord[]): Promise<RegistryChange> {
    const checked = records.map((record, i) => checkRecord(record, i))
    const change = await this.#host.setRegistry(checked)
    if (change.added.length + change.changed.length + change.removed.length > 0)
      this.#logger.info(
        { added: change.added.length, changed: change.changed.length, removed: change.removed.length },
        'node registry updated',
      )
    return change
  }

  /**
   * Replaces the committee (an epoch change): tags the new members (pruned last), untags the old ones,
   * and when this node is a member dials every other member until connected.
   */
  async setCommittee(publicKeys: Uint8Array[]): Promise<void> {
    const left = await this.#host.setCommittee(publicKeys.map((k) => toPeerKey(k)))
    for (const key of left) this.#protocols.dropOutbox(PROTOCOLS.consensus, key)
  }

  /** The committee's PeerKeys (this node included when it is a member). */
  committee(): PeerKey[] {
    return [...this.#host.committee()]
  }

  isCommitteeMember(peer: PeerKey = this.#peerKey): boolean {
    return this.#host.committee().has(peer)
  }

  isConnected(peer: PeerKey): boolean {
    return this.#host.isConnected(peer)
  }

  /** Dials a multiaddr ending in `/p2p/<peer id>` (TCP or WebSockets) and resolves with the peer's key. */
  connect(address: string, signal?: AbortSignal): Promise<PeerKey> {
    return this.#host.connect(address, signal)
  }

  /** Every known peer: registry, committee and connected peers, with their state. */
  peers(): PeerStatus[] {
    return this.#host.peers()
  }

  /**
   * Strikes `peer` (hex node key) for an offence another component found in what it sent — a forged
   * parcel attestation, say: told to `onMisbehaviour` as `reported` with `reason` as the detail, and
   * counted towards a ban like the network's own protocol violations. True when this strike banned the
   * peer; false too for a `peer` that is no node key, or this node.
   */
  penalize(peer: string, reason: string): boolean {
    if (!/^[0-9a-f]{64}$/.test(peer) || peer === this.#peerKey) {
      this.#logger.debug({ peer: peer.slice(0, 80), reason }, 'penalty for no peer ignored')
      return false
    }
    return this.#scoring.misbehave(peer, 'reported', { detail: reason })
  }

  // ——— ConsensusNetwork ———

  /** Best effort: MESSAGE frames to every other committee member, in order per member. */
  broadcast(message: Uint8Array): void {
    for (const key of this.#host.committee()) if (key !== this.#peerKey) this.send(key, message)
  }

  /** Best effort: one MESSAGE frame to `peer` on the consensus protocol (connected peers only). */
  send(peer: PeerKey, message: Uint8Array): void {
    if (this.closed || peer === this.#peerKey) return
    if (message.length > this.#options.maxConsensusBytes) {
      this.#logger.error(
        { peer, sizeBytes: message.length },
        'consensus message over the size limit, not sent',
      )
      return
    }
    this.#protocols.sendMessage(PROTOCOLS.consensus, peer, message)
  }

  /** Asks one member (`Consensus.handleRequest` there); rejects UNAVAILABLE, TIMEOUT or REJECTED. */
  request(peer: PeerKey, request: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    const { maxConsensusBytes } = this.#options
    return this.#protocols.request(PROTOCOLS.consensus, maxConsensusBytes, peer, request, signal)
  }

  /** Registers where consensus traffic goes (call before consensus starts; messages before it are dropped). */
  attachConsensus(handler: ConsensusHandler): void {
    this.#protocols.consensus = handler
  }

  // ——— sync, transactions, gossip ———

  onSyncRequest(handler: SyncRequestHandler): void {
    this.#protocols.sync = handler
  }

  /** A `/fleek/sync/1.0.0` request to any peer (dialed when not connected). */
  requestSync(peer: PeerKey, request: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    return this.#protocols.request(PROTOCOLS.sync, this.#options.maxSyncBytes, peer, request, signal)
  }

  /** The handler of transactions delivered to this node while it is a committee member. */
  onTransaction(handler: TransactionHandler): void {
    this.#protocols.transaction = handler
  }

  /**
   * Delivers a transaction to the committee: directly to up to `forwardFanout` connected members
   * (rotating), or by gossip on TRANSACTION_TOPIC when none is connected.
   */
  async forward(transaction: Uint8Array, affinity?: string): Promise<ForwardResult> {
    const { maxTransactionBytes, forwardFanout } = this.#options
    if (transaction.length > maxTransactionBytes) {
      throw new FleekError(
        'INVALID_INPUT',
        `a transaction of ${transaction.length} bytes exceeds the limit of ${maxTransactionBytes}`,
      )
    }
    const connected = [...this.#host.committee()]
      .filter((k) => k !== this.#peerKey && this.isConnected(k))
      .sort()
    if (connected.length > 0) {
      const chosen: PeerKey[] = []
      // With an affinity (the sender), the same member gets all of one sender's transactions, so they
      // reach the DAG in the order they were sent; without one, members take turns.
      const start = affinity === undefined ? this.#forwardCursor : affinityIndex(affinity, connected.length)
      for (let i = 0; i < Math.min(forwardFanout, connected.length); i++) {
        const key = connected[(start + i) % connected.length]
        if (this.#protocols.sendMessage(PROTOCOLS.transaction, key, transaction)) chosen.push(key)
      }
      this.#forwardCursor = (this.#forwardCursor + 1) % connected.length
      if (chosen.length > 0) return { via: 'direct', peers: chosen }
    }
    await this.publish(TRANSACTION_TOPIC, transaction)
    return { via: 'gossip', peers: [] }
  }

  /** Publishes on a gossip topic; resolves with the number of peers it was sent to. */
  publish(topic: string, message: Uint8Array): Promise<number> {
    return this.#gossip.publish(topic, message)
  }

  /** Subscribes a handler to a gossip topic; returns the function that unsubscribes it. */
  subscribe(topic: string, handler: GossipHandler): () => void {
    return this.#gossip.subscribe(topic, handler)
  }

  /** Peers known to be subscribed to a gossip topic (their PeerKeys). */
  gossipPeers(topic: string): PeerKey[] {
    return this.#gossip.peers(topic)
  }

  /** Round-trip time to a connected peer, in milliseconds. */
  async ping(peer: PeerKey, signal?: AbortSignal): Promise<number> {
    const deadline = createDeadline(this.#options.dialTimeoutMs, this.#controller.signal, signal)
    return this.#libp2p.services.ping.ping(peerIdOf(peer), { signal: deadline.signal })
  }

  /** Stops everything: streams, timers, dials, listeners. Idempotent. */
  async close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    await this.#closing
  }

  async #shutdown(): Promise<void> {
    this.#controller.abort()
    this.#detachSignal()
    this.#protocols.closeOutboxes()
    try {
      await stopHost(this.#libp2p)
    } catch (err) {
      this.#logger.warn({ err: errorMessage(err) }, 'libp2p stop failed')
    }
    this.#logger.info({}, 'network closed')
  }
}

/** A stable index in [0, n) for a string (FNV-1a): the same sender always picks the same member. */
function affinityIndex(text: string, n: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h % n
}
