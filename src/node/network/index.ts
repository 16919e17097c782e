/**
 * The network: a libp2p host whose identity is the node key (TCP + Noise + Yamux, and WebSockets),
 * the fleek stream protocols, gossip, and a connection manager that keeps the committee connected.
 *
 * ```ts
 * const network = await Network.start({ listen: ['/ip4/0.0.0.0/tcp/4300'] }, { nodeKey, registry, committee, logger }, signal)
 * const consensus = new Consensus({}, { committee, keys, store, network }) // Network is a ConsensusNetwork
 * network.attachConsensus(consensus)
 * network.onTransaction((from, tx) => consensus.submit(tx))
 * ```
 *
 * Protocols (length-prefixed frames, see frame.ts; limits checked before allocation):
 * - `/fleek/consensus/1.0.0`: committee members only. MESSAGE frames on one long-lived stream per peer
 *   (order kept) go to `Consensus.handleMessage`; a REQUEST frame on its own stream goes to
 *   `Consensus.handleRequest` and is answered on that stream.
 * - `/fleek/sync/1.0.0`: requests from any peer, answered by the `onSyncRequest` handler.
 * - `/fleek/tx/1.0.0`: transactions forwarded to a committee member (MESSAGE frames).
 * - gossip (@libp2p/gossipsub, signed messages): any topic; `fleek/transactions/1` carries forwarded
 *   transactions when no committee member is connected.
 *
 * A peer that sends garbage has its stream reset and is reported (`onMisbehaviour`); past the
 * threshold within the window it is disconnected and banned for a while. Handlers that throw are
 * contained. Nothing rejects unhandled; `close()` (or the start signal) stops every timer and stream.
 */
import './polyfill.ts'

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { gossipsub, type GossipSub, type Message } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'

import { createDeadline } from '../../lib/abort.ts'
import { FleekError, isFleekError } from '../../lib/errors.ts'
import type { ConsensusNetwork } from '../consensus/interface.ts'
import { FrameError, FrameKind, FrameReader, encodeFrame } from './frame.ts'
import {
  silentNetworkLogger,
  type ConsensusHandler,
  type ForwardResult,
  type GossipHandler,
  type MisbehaviourHandler,
  type MisbehaviourReason,
  type NetworkLogger,
  type NodeRecord,
  type PeerStatus,
  type SyncRequestHandler,
  type TransactionHandler,
} from './interface.ts'
import { parseMultiaddr, resolveNetworkOptions, type NetworkOptions, type RateLimit } from './options.ts'
import { Outbox, errorMessage } from './outbox.ts'
import { peerIdOf, peerKeyOf, toPeerKey, type PeerKey } from './peer-key.ts'
import { TokenBucket } from './rate-limit.ts'
import { computeBackoffMs, sleepMs } from './timing.ts'

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

export const PROTOCOLS = {
  consensus: '/fleek/consensus/1.0.0',
  sync: '/fleek/sync/1.0.0',
  transaction: '/fleek/tx/1.0.0',
} as const

export const TRANSACTION_TOPIC = 'fleek/transactions/1'

const COMMITTEE_TAG = 'fleek-committee'
const COMMITTEE_TAG_VALUE = 100

export interface NetworkDeps {
  /** The node key: its 32-byte ed25519 seed is `secret` (a `SecretKey` of kind `node` fits). */
  nodeKey: { secret: Uint8Array }
  /** The genesis node registry: where to find the other nodes. */
  registry?: NodeRecord[]
  /** The current committee's node public keys (may include this node); `setCommittee` changes it. */
  committee?: Uint8Array[]
  logger?: NetworkLogger
  onMisbehaviour?: MisbehaviourHandler
  /** Test seam: the clock of rate limits and bans. */
  now?: () => number
}

type Services = { identify: Identify; ping: Ping; pubsub: GossipSub }

interface ProtocolSpec {
  protocol: string
  maxBytes: number
  rate: RateLimit
  committeeOnly: boolean
  onMessage?: (from: PeerKey, payload: Uint8Array) => Promise<void>
  onRequest?: (from: PeerKey, payload: Uint8Array, signal: AbortSignal) => Promise<Uint8Array>
}

interface PeerBuckets {
  frames: TokenBucket
  bytes: TokenBucket
}

export class Network implements ConsensusNetwork {
  readonly #options: NetworkOptions
  readonly #libp2p: Libp2p<Services>
  readonly #logger: NetworkLogger
  readonly #now: () => number
  readonly #onMisbehaviour: MisbehaviourHandler | undefined
  readonly #controller: AbortController
  readonly #peerKey: PeerKey
  readonly #bans: Map<PeerKey, number>
  readonly #registry = new Map<PeerKey, string[]>()
  #committee = new Set<PeerKey>()
  readonly #maintaining = new Set<PeerKey>()
  readonly #outboxes = new Map<string, Outbox>()
  readonly #buckets = new Map<string, PeerBuckets>()
  readonly #strikes = new Map<PeerKey, number[]>()
  readonly #connectWaiters = new Map<PeerKey, Set<() => void>>()
  readonly #topicHandlers = new Map<string, Set<GossipHandler>>()
  #consensus: ConsensusHandler | undefined
  #syncHandler: SyncRequestHandler | undefined
  #transactionHandler: TransactionHandler | undefined
  #forwardCursor = 0
  #closing: Promise<void> | undefined
  #detachSignal: () => void = () => {}

  private constructor(
    options: NetworkOptions,
    libp2p: Libp2p<Services>,
    deps: NetworkDeps,
    controller: AbortController,
    bans: Map<PeerKey, number>,
  ) {
    this.#options = options
    this.#libp2p = libp2p
    this.#logger = deps.logger ?? silentNetworkLogger
    this.#now = deps.now ?? Date.now
    this.#onMisbehaviour = deps.onMisbehaviour
    this.#controller = controller
    this.#bans = bans
    const own = peerKeyOf(libp2p.peerId)
    if (own === undefined) throw new FleekError('INTERNAL', 'the node key did not give an ed25519 PeerId')
    this.#peerKey = own
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
    const seed = deps.nodeKey.secret
    if (!(seed instanceof Uint8Array) || seed.length !== 32) {
      throw new FleekError('INVALID_INPUT', 'the node key must be a 32-byte ed25519 seed')
    }
    const registry = (deps.registry ?? []).map((record, i) => checkRecord(record, i))
    const committee = (deps.committee ?? []).map((key) => toPeerKey(key))
    const privateKey = await generateKeyPairFromSeed('Ed25519', seed)
    const bans = new Map<PeerKey, number>()
    const now = deps.now ?? Date.now
    const isBanned = (peerId: PeerId): boolean => {
      const key = peerKeyOf(peerId)
      if (key === undefined) return true
      const until = bans.get(key)
      if (until === undefined) return false
      if (until > now()) return true
      bans.delete(key)
      return false
    }
    let libp2p: Libp2p<Services>
    try {
      libp2p = await createLibp2p<Services>({
        privateKey,
        addresses: { listen: resolved.listen, announce: resolved.announce },
        transports: [tcp(), webSockets()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
        connectionManager: {
          maxConnections: resolved.maxConnections,
          dialTimeout: resolved.dialTimeoutMs,
        },
        connectionGater: {
          denyDialPeer: isBanned,
          denyInboundEncryptedConnection: isBanned,
          denyOutboundEncryptedConnection: isBanned,
        },
        services: {
          identify: identify(),
          ping: ping(),
          pubsub: gossipsub({
            allowPublishToZeroTopicPeers: true,
            ignoreDuplicatePublishError: true,
            maxInboundDataLength: resolved.maxGossipBytes + 1024,
            emitSelf: false,
          }),
        },
      })
    } catch (err) {
      throw new FleekError('UNAVAILABLE', `cannot start the network: ${errorMessage(err)}`, { cause: err })
    }
    const controller = new AbortController()
    const network = new Network(resolved, libp2p, deps, controller, bans)
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

    for (const [key, addresses] of registry) {
      if (key === this.#peerKey) continue
      this.#registry.set(key, addresses)
      await this.#libp2p.peerStore.merge(peerIdOf(key), {
        multiaddrs: addresses.map((a) => parseMultiaddr(a, 'registry address')),
      })
    }
    for (const spec of this.#protocolSpecs()) {
      await this.#libp2p.handle(
        spec.protocol,
        (stream, connection) => {
          void this.#serve(spec, stream, connection)
        },
        { maxInboundStreams: this.#options.maxInboundStreams },
      )
    }
    this.#libp2p.services.pubsub.addEventListener('message', (event) => this.#onGossip(event.detail))
    this.#libp2p.services.pubsub.subscribe(TRANSACTION_TOPIC)
    this.#libp2p.addEventListener('peer:disconnect', (event) => this.#onDisconnect(event.detail))
    this.#libp2p.addEventListener('peer:connect', (event) => this.#onConnect(event.detail))
    await this.setCommittee(committee.map((k) => Buffer.from(k, 'hex')))
    for (const address of this.#options.bootstrap) void this.#dialBootstrap(address)
    this.#logger.info(
      {
        peerId: this.peerId,
        addresses: this.addresses(),
        committee: this.#committee.size,
        registry: registry.length,
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

  // ——— committee and connections ———

  /**
   * Replaces the committee (an epoch change): tags the new members (pruned last), untags the old ones,
   * and when this node is a member dials every other member until connected.
   */
  async setCommittee(publicKeys: Uint8Array[]): Promise<void> {
    const next = new Set(publicKeys.map((k) => toPeerKey(k)))
    const previous = this.#committee
    this.#committee = next
    for (const key of previous) {
      if (next.has(key) || key === this.#peerKey) continue
      await this.#mergeQuietly(key, { tags: { [COMMITTEE_TAG]: undefined } })
      this.#dropOutbox(PROTOCOLS.consensus, key)
    }
    for (const key of next) {
      if (key === this.#peerKey) continue
      if (!previous.has(key))
        await this.#mergeQuietly(key, { tags: { [COMMITTEE_TAG]: { value: COMMITTEE_TAG_VALUE } } })
      this.#maintain(key)
    }
  }

  /** The committee's PeerKeys (this node included when it is a member). */
  committee(): PeerKey[] {
    return [...this.#committee]
  }

  isCommitteeMember(peer: PeerKey = this.#peerKey): boolean {
    return this.#committee.has(peer)
  }

  isConnected(peer: PeerKey): boolean {
    return this.#libp2p.getConnections(peerIdOf(peer)).length > 0
  }

  /** Dials a multiaddr ending in `/p2p/<peer id>` (TCP or WebSockets) and resolves with the peer's key. */
  async connect(address: string, signal?: AbortSignal): Promise<PeerKey> {
    const target = parseMultiaddr(address, 'peer address')
    const peerIdText = target.getComponents().find((c) => c.name === 'p2p')?.value
    if (peerIdText !== undefined) {
      // Known to the peer store first, so that a dial already queued for the peer (the committee
      // loop) finds the address too.
      const key = peerKeyOf(peerIdFromString(peerIdText))
      if (key === undefined)
        throw new FleekError('INVALID_INPUT', `the peer at ${address} has no ed25519 identity`)
      if (key === this.#peerKey) throw new FleekError('INVALID_INPUT', `${address} is this node`)
      await this.#mergeQuietly(key, { multiaddrs: [target] })
    }
    const connection = await this.#libp2p
      .dial(target, { signal: this.#joinSignals(signal, this.#options.dialTimeoutMs) })
      .catch((err: unknown) => {
        throw new FleekError('UNAVAILABLE', `cannot connect to ${address}: ${errorMessage(err)}`, {
          cause: err,
        })
      })
    const key = peerKeyOf(connection.remotePeer)
    if (key === undefined) {
      await connection.close().catch(() => {})
      throw new FleekError('INVALID_INPUT', `the peer at ${address} has no ed25519 identity`)
    }
    return key
  }

  /** Every known peer: registry, committee and connected peers, with their state. */
  peers(): PeerStatus[] {
    const keys = new Set<PeerKey>([...this.#registry.keys(), ...this.#committee])
    const connections = new Map<PeerKey, string[]>()
    for (const connection of this.#libp2p.getConnections()) {
      const key = peerKeyOf(connection.remotePeer)
      if (key === undefined) continue
      keys.add(key)
      connections.set(key, [...(connections.get(key) ?? []), connection.remoteAddr.toString()])
    }
    keys.delete(this.#peerKey)
    const nowMs = this.#now()
    return [...keys].sort().map((key) => {
      const open = connections.get(key) ?? []
      const bannedUntil = this.#bans.get(key) ?? 0
      return {
        peerId: peerIdOf(key).toString(),
        publicKey: key,
        addresses: this.#registry.get(key) ?? [],
        connected: open.length > 0,
        connections: open,
        committee: this.#committee.has(key),
        bannedUntilMs: bannedUntil > nowMs ? bannedUntil : 0,
      }
    })
  }

  /**
   * Keeps one committee member connected while this node is a member too (non-members reach the
   * committee through the bootstrap peers and gossip): dials with capped exponential backoff.
   */
  #maintain(peer: PeerKey): void {
    if (this.closed || this.#maintaining.has(peer) || peer === this.#peerKey) return
    if (!this.#committee.has(this.#peerKey)) return
    this.#maintaining.add(peer)
    void this.#maintainLoop(peer)
      .catch((err: unknown) =>
        this.#logger.error({ peer, err: errorMessage(err) }, 'committee dial loop failed'),
      )
      .finally(() => this.#maintaining.delete(peer))
  }

  async #maintainLoop(peer: PeerKey): Promise<void> {
    const peerId = peerIdOf(peer)
    const signal = this.#controller.signal
    for (
      let attempt = 0;
      !signal.aborted && this.#committee.has(peer) && this.#committee.has(this.#peerKey);
      attempt++
    ) {
      if (this.#libp2p.getConnections(peerId).length > 0) return
      if (!this.#isBanned(peer)) {
        try {
          await this.#libp2p.dial(peerId, {
            signal: this.#joinSignals(undefined, this.#options.dialTimeoutMs),
          })
          this.#logger.debug({ peer }, 'committee member connected')
          return
        } catch (err) {
          this.#logger.debug({ peer, attempt, err: errorMessage(err) }, 'committee member dial failed')
        }
      }
      const { reconnectMinMs, reconnectMaxMs } = this.#options
      await sleepMs(computeBackoffMs(attempt, reconnectMinMs, reconnectMaxMs, Math.random()), signal)
    }
  }

  async #dialBootstrap(address: string): Promise<void> {
    const signal = this.#controller.signal
    for (let attempt = 0; attempt < 5 && !signal.aborted; attempt++) {
      try {
        await this.connect(address)
        return
      } catch (err) {
        this.#logger.debug({ address, attempt, err: errorMessage(err) }, 'bootstrap dial failed')
      }
      await sleepMs(
        computeBackoffMs(attempt, this.#options.reconnectMinMs, this.#options.reconnectMaxMs, 0),
        signal,
      )
    }
    if (!signal.aborted) this.#logger.warn({ address }, 'bootstrap peer unreachable')
  }

  #onDisconnect(peerId: PeerId): void {
    const key = peerKeyOf(peerId)
    if (key === undefined) return
    if (this.#libp2p.getConnections(peerId).length > 0) return
    for (const name of Object.values(PROTOCOLS)) this.#buckets.delete(`${name} ${key}`)
    if (this.#committee.has(key)) {
      this.#logger.info({ peer: key }, 'committee member disconnected')
      this.#maintain(key)
    }
  }

  // ——— ConsensusNetwork ———

  /** Best effort: MESSAGE frames to every other committee member, in order per member. */
  broadcast(message: Uint8Array): void {
    for (const key of this.#committee) if (key !== this.#peerKey) this.send(key, message)
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
    this.#outbox(PROTOCOLS.consensus, peer).push(encodeFrame(FrameKind.MESSAGE, message))
  }

  /** Asks one member (`Consensus.handleRequest` there); rejects UNAVAILABLE, TIMEOUT or REJECTED. */
  request(peer: PeerKey, request: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    return this.#request(PROTOCOLS.consensus, this.#options.maxConsensusBytes, peer, request, signal)
  }

  /** Registers where consensus traffic goes (call before consensus starts; messages before it are dropped). */
  attachConsensus(handler: ConsensusHandler): void {
    this.#consensus = handler
  }

  // ——— sync, transactions, gossip ———

  onSyncRequest(handler: SyncRequestHandler): void {
    this.#syncHandler = handler
  }

  /** A `/fleek/sync/1.0.0` request to any peer (dialed when not connected). */
  requestSync(peer: PeerKey, request: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    return this.#request(PROTOCOLS.sync, this.#options.maxSyncBytes, peer, request, signal)
  }

  /** The handler of transactions delivered to this node while it is a committee member. */
  onTransaction(handler: TransactionHandler): void {
    this.#transactionHandler = handler
  }

  /**
   * Delivers a transaction to the committee: directly to up to `forwardFanout` connected members
   * (rotating), or by gossip on TRANSACTION_TOPIC when none is connected.
   */
  async forward(transaction: Uint8Array, affinity?: string): Promise<ForwardResult> {
    if (transaction.length > this.#options.maxTransactionBytes) {
      throw new FleekError(
        'INVALID_INPUT',
        `a transaction of ${transaction.length} bytes exceeds the limit of ${this.#options.maxTransactionBytes}`,
      )
    }
    const connected = [...this.#committee].filter((k) => k !== this.#peerKey && this.isConnected(k)).sort()
    if (connected.length > 0) {
      const chosen: PeerKey[] = []
      const frame = encodeFrame(FrameKind.MESSAGE, transaction)
      // With an affinity (the sender), the same member gets all of one sender's transactions, so they
      // reach the DAG in the order they were sent; without one, members take turns.
      const start = affinity === undefined ? this.#forwardCursor : affinityIndex(affinity, connected.length)
      for (let i = 0; i < Math.min(this.#options.forwardFanout, connected.length); i++) {
        const key = connected[(start + i) % connected.length]
        if (this.#outbox(PROTOCOLS.transaction, key).push(frame)) chosen.push(key)
      }
      this.#forwardCursor = (this.#forwardCursor + 1) % connected.length
      if (chosen.length > 0) return { via: 'direct', peers: chosen }
    }
    await this.publish(TRANSACTION_TOPIC, transaction)
    return { via: 'gossip', peers: [] }
  }

  /** Publishes on a gossip topic; resolves with the number of peers it was sent to. */
  async publish(topic: string, message: Uint8Array): Promise<number> {
    if (message.length > this.#options.maxGossipBytes) {
      throw new FleekError(
        'INVALID_INPUT',
        `a gossip message of ${message.length} bytes exceeds the limit of ${this.#options.maxGossipBytes}`,
      )
    }
    if (this.closed) throw new FleekError('UNAVAILABLE', 'the network is closed')
    try {
      const result = await this.#libp2p.services.pubsub.publish(topic, message)
      return result.recipients.length
    } catch (err) {
      throw new FleekError('UNAVAILABLE', `cannot publish on ${topic}: ${errorMessage(err)}`, { cause: err })
    }
  }

  /** Subscribes a handler to a gossip topic; returns the function that unsubscribes it. */
  subscribe(topic: string, handler: GossipHandler): () => void {
    let handlers = this.#topicHandlers.get(topic)
    if (handlers === undefined) {
      handlers = new Set()
      this.#topicHandlers.set(topic, handlers)
      if (topic !== TRANSACTION_TOPIC) this.#libp2p.services.pubsub.subscribe(topic)
    }
    handlers.add(handler)
    return () => {
      const set = this.#topicHandlers.get(topic)
      if (set === undefined || !set.delete(handler) || set.size > 0) return
      this.#topicHandlers.delete(topic)
      if (topic !== TRANSACTION_TOPIC && !this.closed) this.#libp2p.services.pubsub.unsubscribe(topic)
    }
  }

  /** Peers known to be subscribed to a gossip topic (their PeerKeys). */
  gossipPeers(topic: string): PeerKey[] {
    return this.#libp2p.services.pubsub
      .getSubscribers(topic)
      .map((id) => peerKeyOf(id))
      .filter((k): k is PeerKey => k !== undefined)
  }

  /** Round-trip time to a connected peer, in milliseconds. */
  async ping(peer: PeerKey, signal?: AbortSignal): Promise<number> {
    return this.#libp2p.services.ping.ping(peerIdOf(peer), {
      signal: this.#joinSignals(signal, this.#options.dialTimeoutMs),
    })
  }

  /** Stops everything: streams, timers, dials, listeners. Idempotent. */
  async close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    await this.#closing
  }

  async #shutdown(): Promise<void> {
    this.#controller.abort()
    this.#detachSignal()
    for (const outbox of this.#outboxes.values()) outbox.close()
    this.#outboxes.clear()
    try {
      await stopGossipsub(this.#libp2p.services.pubsub)
      await this.#libp2p.stop()
      clearAddressManagerTimer(this.#libp2p)
    } catch (err) {
      this.#logger.warn({ err: errorMessage(err) }, 'libp2p stop failed')
    }
    this.#logger.info({}, 'network closed')
  }

  // ——— inbound ———

  #protocolSpecs(): ProtocolSpec[] {
    return [
      {
        protocol: PROTOCOLS.consensus,
        maxBytes: this.#options.maxConsensusBytes,
        rate: this.#options.consensusRate,
        committeeOnly: true,
        onMessage: async (from, payload) => {
          const handler = this.#consensus
          if (handler === undefined)
            this.#logger.debug({ from }, 'consensus message before consensus attached')
          else await handler.handleMessage(from, payload)
        },
        onRequest: async (from, payload) => {
          const handler = this.#consensus
          if (handler === undefined)
            throw new FleekError('UNAVAILABLE', 'consensus is not running on this node')
          return handler.handleRequest(from, payload)
        },
      },
      {
        protocol: PROTOCOLS.sync,
        maxBytes: this.#options.maxSyncBytes,
        rate: this.#options.syncRate,
        committeeOnly: false,
        onRequest: async (from, payload, signal) => {
          const handler = this.#syncHandler
          if (handler === undefined) throw new FleekError('UNAVAILABLE', 'this node serves no sync requests')
          return handler(from, payload, signal)
        },
      },
      {
        protocol: PROTOCOLS.transaction,
        maxBytes: this.#options.maxTransactionBytes,
        rate: this.#options.transactionRate,
        committeeOnly: false,
        onMessage: async (from, payload) => this.#deliverTransaction(from, payload),
      },
    ]
  }

  /** Reads frames from one inbound stream until it ends; never rejects. */
  async #serve(spec: ProtocolSpec, stream: Stream, connection: Connection): Promise<void> {
    const from = peerKeyOf(connection.remotePeer)
    try {
      if (from === undefined) {
        stream.abort(new Error('peers need an ed25519 identity'))
        return
      }
      if (spec.committeeOnly && !this.#committee.has(from)) {
        // Reported, not counted towards a ban: at an epoch change honest old members may still talk.
        this.#misbehave(from, 'not-committee', stream, { strike: false })
        return
      }
      const reader = new FrameReader(stream, spec.maxBytes)
      const buckets = this.#bucketsOf(spec, from)
      for (;;) {
        const frame = await reader.read()
        if (frame === undefined) break
        const waitMs = Math.max(
          buckets.frames.reserve(1) ?? Infinity,
          buckets.bytes.reserve(frame.payload.length) ?? Infinity,
        )
        if (waitMs === Infinity) {
          this.#misbehave(from, 'rate-limited', stream)
          return
        }
        if (waitMs > 0) await sleepMs(waitMs, this.#controller.signal)
        if (this.closed) break
        if (frame.kind === FrameKind.MESSAGE && spec.onMessage !== undefined) {
          await this.#runHandler(spec, from, () => spec.onMessage!(from, frame.payload))
        } else if (frame.kind === FrameKind.REQUEST && spec.onRequest !== undefined) {
          const answer = await this.#answer(spec, from, frame.payload)
          if (!stream.send(answer))
            await stream.onDrain({ signal: this.#joinSignals(undefined, this.#options.requestTimeoutMs) })
        } else {
          this.#misbehave(from, 'unexpected-frame', stream)
          return
        }
      }
      if (stream.status === 'open')
        await stream.close({ signal: this.#joinSignals(undefined, this.#options.requestTimeoutMs) })
    } catch (err) {
      if (err instanceof FrameError && from !== undefined) this.#misbehave(from, err.reason, stream)
      else {
        this.#logger.debug({ protocol: spec.protocol, from, err: errorMessage(err) }, 'inbound stream failed')
        if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }
  }

  /** Runs a message handler; a FleekError INVALID_INPUT counts against the sender, anything else is logged. */
  async #runHandler(spec: ProtocolSpec, from: PeerKey, run: () => Promise<void>): Promise<void> {
    try {
      await run()
    } catch (err) {
      if (isFleekError(err, 'INVALID_INPUT'))
        this.#misbehave(from, 'invalid-message', undefined, { detail: err.message })
      else
        this.#logger.warn({ protocol: spec.protocol, from, err: errorMessage(err) }, 'message handler failed')
    }
  }

  /** The RESPONSE frame for a request: the handler's answer, or its failure as a short reason. */
  async #answer(spec: ProtocolSpec, from: PeerKey, payload: Uint8Array): Promise<Uint8Array> {
    try {
      const signal = this.#joinSignals(undefined, this.#options.requestTimeoutMs)
      const answer = await spec.onRequest!(from, payload, signal)
      if (answer.length > spec.maxBytes) {
        this.#logger.error(
          { protocol: spec.protocol, sizeBytes: answer.length },
          'answer over the size limit',
        )
        return encodeFrame(FrameKind.RESPONSE_ERROR, new TextEncoder().encode('answer too large'))
      }
      return encodeFrame(FrameKind.RESPONSE_OK, answer)
    } catch (err) {
      if (isFleekError(err, 'INVALID_INPUT'))
        this.#misbehave(from, 'invalid-message', undefined, { detail: err.message })
      else if (!isFleekError(err)) {
        this.#logger.warn({ protocol: spec.protocol, from, err: errorMessage(err) }, 'request handler failed')
      }
      const reason = isFleekError(err) ? err.message : 'internal error'
      return encodeFrame(FrameKind.RESPONSE_ERROR, new TextEncoder().encode(reason.slice(0, 200)))
    }
  }

  async #deliverTransaction(from: PeerKey, transaction: Uint8Array): Promise<void> {
    if (!this.#committee.has(this.#peerKey)) {
      this.#logger.debug({ from }, 'transaction for the committee received by a non-member, dropped')
      return
    }
    const handler = this.#transactionHandler
    if (handler === undefined) this.#logger.debug({ from }, 'transaction received with no handler, dropped')
    else await handler(from, transaction)
  }

  #onGossip(message: Message): void {
    if (message.type !== 'signed') return
    const from = peerKeyOf(message.from)
    if (from === undefined) return
    if (message.data.length > this.#options.maxGossipBytes) {
      this.#misbehave(from, 'invalid-gossip')
      return
    }
    const spec = { protocol: `gossip ${message.topic}` } as ProtocolSpec
    if (message.topic === TRANSACTION_TOPIC) {
      void this.#runHandler(spec, from, () => this.#deliverTransaction(from, message.data))
    }
    for (const handler of this.#topicHandlers.get(message.topic) ?? []) {
      void this.#runHandler(spec, from, async () => handler(message.data, from, message.topic))
    }
  }

  // ——— outbound ———

  async #request(
    protocol: string,
    maxBytes: number,
    peer: PeerKey,
    request: Uint8Array,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    if (this.closed) throw new FleekError('UNAVAILABLE', 'the network is closed')
    if (request.length > maxBytes) {
      throw new FleekError(
        'INVALID_INPUT',
        `a request of ${request.length} bytes exceeds the limit of ${maxBytes}`,
      )
    }
    const joined = this.#joinSignals(signal, this.#options.requestTimeoutMs)
    let stream: Stream
    try {
      stream = await this.#libp2p.dialProtocol(peerIdOf(peer), protocol, { signal: joined })
    } catch (err) {
      throw requestFailure(err, joined, signal, `cannot reach peer ${peer.slice(0, 16)}…`)
    }
    const onAbort = (): void => stream.abort(new Error('request aborted'))
    joined.addEventListener('abort', onAbort, { once: true })
    try {
      stream.send(encodeFrame(FrameKind.REQUEST, request))
      await stream.close({ signal: joined })
      const frame = await new FrameReader(stream, maxBytes).read()
      if (frame === undefined)
        throw new FleekError('UNAVAILABLE', 'the peer closed the stream without answering')
      if (frame.kind === FrameKind.RESPONSE_OK) return frame.payload
      if (frame.kind === FrameKind.RESPONSE_ERROR) {
        throw new FleekError(
          'REJECTED',
          `the peer refused the request: ${new TextDecoder().decode(frame.payload)}`,
        )
      }
      this.#misbehave(peer, 'unexpected-frame', stream)
      throw new FleekError('INVALID_INPUT', 'the peer answered with an unexpected frame')
    } catch (err) {
      if (err instanceof FrameError) this.#misbehave(peer, err.reason, stream)
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)))
      throw requestFailure(err, joined, signal, 'the request failed')
    } finally {
      joined.removeEventListener('abort', onAbort)
    }
  }

  #outbox(protocol: string, peer: PeerKey): Outbox {
    const id = `${protocol} ${peer}`
    let outbox = this.#outboxes.get(id)
    if (outbox === undefined) {
      const peerId = peerIdOf(peer)
      outbox = new Outbox({
        openStream: async (signal) => {
          if (this.#libp2p.getConnections(peerId).length === 0) throw new Error('not connected')
          return this.#libp2p.dialProtocol(peerId, protocol, {
            signal: createDeadline(this.#options.dialTimeoutMs, signal).signal,
          })
        },
        isConnected: () => this.#libp2p.getConnections(peerId).length > 0,
        waitForConnection: (signal) => this.#waitForConnection(peer, signal),
        holdMs: this.#options.holdUnconnectedMs,
        signal: this.#controller.signal,
        logger: this.#logger,
        maxQueuedBytes: this.#options.maxQueuedBytes,
        sendTimeoutMs: this.#options.requestTimeoutMs,
      })
      this.#outboxes.set(id, outbox)
    }
    return outbox
  }

  #dropOutbox(protocol: string, peer: PeerKey): void {
    const id = `${protocol} ${peer}`
    this.#outboxes.get(id)?.close()
    this.#outboxes.delete(id)
  }

  /** Resolves when `peer` connects (at once if it is), or when `signal` aborts. */
  #waitForConnection(peer: PeerKey, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.isConnected(peer)) return Promise.resolve()
    return new Promise((resolve) => {
      let waiters = this.#connectWaiters.get(peer)
      if (waiters === undefined) {
        waiters = new Set()
        this.#connectWaiters.set(peer, waiters)
      }
      const done = (): void => {
        signal.removeEventListener('abort', done)
        const set = this.#connectWaiters.get(peer)
        set?.delete(done)
        if (set?.size === 0) this.#connectWaiters.delete(peer)
        resolve()
      }
      waiters.add(done)
      signal.addEventListener('abort', done, { once: true })
    })
  }

  #onConnect(peerId: PeerId): void {
    const key = peerKeyOf(peerId)
    if (key === undefined) return
    for (const done of [...(this.#connectWaiters.get(key) ?? [])]) done()
    this.#pruneConnections()
  }

  /**
   * Keeps the peers connected at most `maxConnections`: libp2p refuses inbound connections past it,
   * but our committee dials go out regardless, and libp2p's own pruner spares any connection with a
   * gossip stream. So: hang up on the newest non-committee peers until back within the bound.
   */
  #pruneConnections(): void {
    const peers = new Map<PeerKey, { peerId: PeerId; openedAtMs: number }>()
    for (const connection of this.#libp2p.getConnections()) {
      const key = peerKeyOf(connection.remotePeer)
      if (key === undefined) continue
      const openedAtMs = connection.timeline.open
      const known = peers.get(key)
      if (known === undefined || known.openedAtMs < openedAtMs)
        peers.set(key, { peerId: connection.remotePeer, openedAtMs })
    }
    const excess = peers.size - this.#options.maxConnections
    if (excess <= 0) return
    const candidates = [...peers.entries()]
      .filter(([key]) => !this.#committee.has(key))
      .sort((a, b) => b[1].openedAtMs - a[1].openedAtMs)
      .slice(0, excess)
    for (const [key, { peerId }] of candidates) {
      this.#logger.debug({ peer: key }, 'connection pruned: over maxConnections')
      this.#libp2p.hangUp(peerId).catch((err: unknown) => {
        this.#logger.debug({ peer: key, err: errorMessage(err) }, 'hang up failed')
      })
    }
  }

  // ——— misbehaviour ———

  #bucketsOf(spec: ProtocolSpec, peer: PeerKey): PeerBuckets {
    const id = `${spec.protocol} ${peer}`
    let buckets = this.#buckets.get(id)
    if (buckets === undefined) {
      const maxWaitMs = this.#options.maxRateWaitMs
      buckets = {
        frames: new TokenBucket(
          { ratePerSecond: spec.rate.framesPerSecond, burst: spec.rate.burstFrames, maxWaitMs },
          this.#now,
        ),
        bytes: new TokenBucket(
          {
            ratePerSecond: spec.rate.bytesPerSecond,
            burst: Math.max(spec.rate.burstBytes, spec.maxBytes),
            maxWaitMs,
          },
          this.#now,
        ),
      }
      this.#buckets.set(id, buckets)
    }
    return buckets
  }

  #isBanned(peer: PeerKey): boolean {
    const until = this.#bans.get(peer)
    return until !== undefined && until > this.#now()
  }

  /**
   * Records a misbehaviour: resets the stream it came on, tells `onMisbehaviour`, and past the
   * threshold within the window disconnects the peer and bans it for `banMs`.
   */
  #misbehave(
    peer: PeerKey,
    reason: MisbehaviourReason,
    stream?: Stream,
    { strike = true, detail }: { strike?: boolean; detail?: string } = {},
  ): void {
    if (stream !== undefined && stream.status === 'open') stream.abort(new Error(`misbehaviour: ${reason}`))
    // Not counted (strike false: e.g. members of the previous epoch still talking) is routine: debug.
    if (strike) this.#logger.warn({ peer, reason, detail }, 'peer misbehaved')
    else this.#logger.debug({ peer, reason, detail }, 'peer misbehaved')
    try {
      this.#onMisbehaviour?.(peer, reason, detail)
    } catch (err) {
      this.#logger.warn({ err: errorMessage(err) }, 'misbehaviour handler failed')
    }
    if (!strike) return
    const nowMs = this.#now()
    const recent = (this.#strikes.get(peer) ?? []).filter(
      (t) => t > nowMs - this.#options.misbehaviourWindowMs,
    )
    recent.push(nowMs)
    if (recent.length < this.#options.misbehaviourThreshold) {
      this.#strikes.set(peer, recent)
      return
    }
    this.#strikes.delete(peer)
    this.#bans.set(peer, nowMs + this.#options.banMs)
    this.#logger.warn({ peer, banMs: this.#options.banMs }, 'peer disconnected for misbehaviour')
    this.#libp2p.hangUp(peerIdOf(peer)).catch((err: unknown) => {
      this.#logger.debug({ peer, err: errorMessage(err) }, 'hang up failed')
    })
  }

  // ——— helpers ———

  /** The network's signal joined with the caller's and a timeout (whose timer lets go when it fires). */
  #joinSignals(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
    return createDeadline(timeoutMs, this.#controller.signal, signal).signal
  }

  async #mergeQuietly(peer: PeerKey, data: Parameters<Libp2p['peerStore']['merge']>[1]): Promise<void> {
    try {
      await this.#libp2p.peerStore.merge(peerIdOf(peer), data)
    } catch (err) {
      this.#logger.debug({ peer, err: errorMessage(err) }, 'peer store update failed')
    }
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

function checkRecord(record: NodeRecord, index: number): [PeerKey, string[]] {
  const key = toPeerKey(record.publicKey)
  if (!Array.isArray(record.multiaddrs)) {
    throw new FleekError('INVALID_INPUT', `registry entry ${index} needs a list of multiaddrs`)
  }
  for (const address of record.multiaddrs) parseMultiaddr(address, `registry entry ${index}`)
  return [key, [...record.multiaddrs]]
}

/*
 * Two libp2p 3.3 / gossipsub 17.1 timers outlive `stop()` by up to a second and would hold the process
 * open. When a later version changes these internals, the functions below find nothing and do nothing.
 */

/**
 * gossipsub's `stop()` replaces its `status` (which holds the next heartbeat's timer) without clearing
 * that timer. Its handle is read and cleared around the synchronous start of `stop()`, where no
 * heartbeat can reschedule in between; libp2p's own stop of the service then finds it stopped.
 */
async function stopGossipsub(pubsub: unknown): Promise<void> {
  const heartbeat = readPath(pubsub, ['status', 'heartbeatTimeout'])
  const stop = readPath(pubsub, ['stop'])
  const stopped = typeof stop === 'function' ? (stop as () => unknown).call(pubsub) : undefined
  if (heartbeat !== undefined && heartbeat !== null) clearTimeout(heartbeat as ReturnType<typeof setTimeout>)
  await stopped
}

/** The address manager's debounced peer-store update (1 s) is armed by the stop's own `transport:close`. */
function clearAddressManagerTimer(libp2p: unknown): void {
  const update = readPath(libp2p, ['components', 'addressManager', '_updatePeerStoreAddresses'])
  const stop = readPath(update, ['stop'])
  if (typeof stop === 'function') (stop as () => void).call(update)
}

function readPath(value: unknown, path: string[]): unknown {
  let current = value
  for (const key of path) {
    if ((typeof current !== 'object' && typeof current !== 'function') || current === null) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}

/** A stable index in [0, n) for a string (FNV-1a): the same sender always picks the same member. */
function affinityIndex(text: string, n: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h % n
}
