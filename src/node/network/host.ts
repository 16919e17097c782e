/**
 * The libp2p host and its connections: built from the node key (TCP + Noise + Yamux, and WebSockets;
 * identify, ping, gossipsub), the node registry in the peer store, the committee tagged and kept
 * connected (a dial loop per member with capped exponential backoff), the bootstrap peers dialled,
 * and the connection count kept within `maxConnections`.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'

import { createDeadline } from '../../lib/abort.ts'
import { FleekError } from '../../lib/errors.ts'
import type { NetworkLogger, NetworkMetrics, NodeRecord, PeerStatus, RegistryChange } from './interface.ts'
import { parseMultiaddr, type NetworkOptions } from './options.ts'
import { errorMessage } from './outbox.ts'
import { peerIdOf, peerKeyOf, toPeerKey, type PeerKey } from './peer-key.ts'
import type { PeerScoring } from './scoring.ts'
import { computeBackoffMs, sleepMs } from './timing.ts'

export type Services = { identify: Identify; ping: Ping; pubsub: GossipSub }

const COMMITTEE_TAG = 'fleek-committee'
const COMMITTEE_TAG_VALUE = 100

/** The libp2p node of `seed` (a 32-byte ed25519 seed), listening; `refuses` is the connection gater. */
export async function createHost(
  options: NetworkOptions,
  seed: Uint8Array,
  refuses: (peerId: PeerId) => boolean,
): Promise<Libp2p<Services>> {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new FleekError('INVALID_INPUT', 'the node key must be a 32-byte ed25519 seed')
  }
  const privateKey = await generateKeyPairFromSeed('Ed25519', seed)
  try {
    return await createLibp2p<Services>({
      privateKey,
      addresses: { listen: options.listen, announce: options.announce },
      transports: [tcp(), webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionManager: { maxConnections: options.maxConnections, dialTimeout: options.dialTimeoutMs },
      connectionGater: {
        denyDialPeer: refuses,
        denyInboundEncryptedConnection: refuses,
        denyOutboundEncryptedConnection: refuses,
      },
      services: {
        identify: identify(),
        ping: ping(),
        pubsub: gossipsub({
          allowPublishToZeroTopicPeers: true,
          ignoreDuplicatePublishError: true,
          maxInboundDataLength: options.maxGossipBytes + 1024,
          emitSelf: false,
        }),
      },
    })
  } catch (err) {
    throw new FleekError('UNAVAILABLE', `cannot start the network: ${errorMessage(err)}`, { cause: err })
  }
}

/** A registry entry checked: its PeerKey and addresses; INVALID_INPUT naming the entry otherwise. */
export function checkRecord(record: NodeRecord, index: number): [PeerKey, string[]] {
  const key = toPeerKey(record.publicKey)
  if (!Array.isArray(record.multiaddrs)) {
    throw new FleekError('INVALID_INPUT', `registry entry ${index} needs a list of multiaddrs`)
  }
  for (const address of record.multiaddrs) parseMultiaddr(address, `registry entry ${index}`)
  return [key, [...record.multiaddrs]]
}

/** What every part of the network (host, protocols) is built with. */
export interface NetworkPartDeps {
  libp2p: Libp2p<Services>
  options: NetworkOptions
  logger: NetworkLogger
  metrics: NetworkMetrics
  scoring: PeerScoring
  /** This node. */
  peerKey: PeerKey
  /** Aborts when the network closes. */
  signal: AbortSignal
}

export interface HostDeps extends NetworkPartDeps {
  /** The peer's last connection closed. */
  onPeerGone: (peer: PeerKey) => void
}

/** The peers this node knows (registry, committee) and its connections to them. */
export class Host {
  readonly #deps: HostDeps
  readonly #libp2p: Libp2p<Services>
  readonly #registry = new Map<PeerKey, string[]>()
  #committee = new Set<PeerKey>()
  readonly #maintaining = new Set<PeerKey>()
  /** Cut a maintained member's backoff short (its addresses changed). */
  readonly #wakers = new Map<PeerKey, AbortController>()
  readonly #connectWaiters = new Map<PeerKey, Set<() => void>>()

  constructor(deps: HostDeps) {
    this.#deps = deps
    this.#libp2p = deps.libp2p
    this.#libp2p.addEventListener('peer:disconnect', (event) => this.#onDisconnect(event.detail))
    this.#libp2p.addEventListener('peer:connect', (event) => this.#onConnect(event.detail))
  }

  /**
   * Makes the registry `records` (checked, other than this node): new addresses go to the peer store,
   * committee members with new addresses are dialled again at once. Idempotent.
   */
  async setRegistry(records: readonly [PeerKey, string[]][]): Promise<RegistryChange> {
    const next = new Map(records.filter(([key]) => key !== this.#deps.peerKey))
    const change: RegistryChange = { added: [], changed: [], removed: [] }
    for (const key of this.#registry.keys()) if (!next.has(key)) change.removed.push(key)
    for (const key of change.removed) this.#registry.delete(key)
    for (const [key, addresses] of next) {
      const known = this.#registry.get(key)
      const fresh = addresses.filter((a) => !(known ?? []).includes(a))
      this.#registry.set(key, addresses)
      if (known === undefined) change.added.push(key)
      else if (fresh.length > 0 || known.length !== addresses.length) change.changed.push(key)
      if (fresh.length === 0) continue
      await this.#mergeQuietly(key, { multiaddrs: fresh.map((a) => parseMultiaddr(a, 'registry address')) })
      if (this.#committee.has(key)) {
        this.#wakers.get(key)?.abort()
        this.#maintain(key)
      }
    }
    return change
  }

  registrySize(): number {
    return this.#registry.size
  }

  /**
   * Replaces the committee: tags the new members (pruned last), untags the old ones, and when this
   * node is a member keeps every other member connected. Resolves with the members that left.
   */
  async setCommittee(keys: readonly PeerKey[]): Promise<PeerKey[]> {
    const next = new Set(keys)
    const previous = this.#committee
    this.#committee = next
    const left: PeerKey[] = []
    for (const key of previous) {
      if (next.has(key) || key === this.#deps.peerKey) continue
      left.push(key)
      await this.#mergeQuietly(key, { tags: { [COMMITTEE_TAG]: undefined } })
    }
    for (const key of next) {
      if (key === this.#deps.peerKey) continue
      if (!previous.has(key))
        await this.#mergeQuietly(key, { tags: { [COMMITTEE_TAG]: { value: COMMITTEE_TAG_VALUE } } })
      this.#maintain(key)
    }
    return left
  }

  committee(): ReadonlySet<PeerKey> {
    return this.#committee
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
      if (key === this.#deps.peerKey) throw new FleekError('INVALID_INPUT', `${address} is this node`)
      await this.#mergeQuietly(key, { multiaddrs: [target] })
    }
    const deadline = createDeadline(this.#deps.options.dialTimeoutMs, this.#deps.signal, signal)
    const connection = await this.#libp2p.dial(target, { signal: deadline.signal }).catch((err: unknown) => {
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
    keys.delete(this.#deps.peerKey)
    return [...keys].sort().map((key) => {
      const open = connections.get(key) ?? []
      return {
        peerId: peerIdOf(key).toString(),
        publicKey: key,
        addresses: this.#registry.get(key) ?? [],
        connected: open.length > 0,
        connections: open,
        committee: this.#committee.has(key),
        bannedUntilMs: this.#deps.scoring.bannedUntilMs(key),
      }
    })
  }

  /** Resolves when `peer` connects (at once if it is), or when `signal` aborts. */
  waitForConnection(peer: PeerKey, signal: AbortSignal): Promise<void> {
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

  /** Dials a bootstrap peer, a few times with backoff; warns when it stays unreachable. */
  async dialBootstrap(address: string): Promise<void> {
    const { signal, options, logger } = this.#deps
    for (let attempt = 0; attempt < 5 && !signal.aborted; attempt++) {
      try {
        await this.connect(address)
        return
      } catch (err) {
        logger.debug({ address, attempt, err: errorMessage(err) }, 'bootstrap dial failed')
      }
      await sleepMs(computeBackoffMs(attempt, options.reconnectMinMs, options.reconnectMaxMs, 0), signal)
    }
    if (!signal.aborted) logger.warn({ address }, 'bootstrap peer unreachable')
  }

  /**
   * Keeps one committee member connected while this node is a member too (non-members reach the
   * committee through the bootstrap peers and gossip): dials with capped exponential backoff.
   */
  #maintain(peer: PeerKey): void {
    const self = this.#deps.peerKey
    if (this.#deps.signal.aborted || this.#maintaining.has(peer) || peer === self) return
    if (!this.#committee.has(self)) return
    this.#maintaining.add(peer)
    void this.#maintainLoop(peer)
      .catch((err: unknown) =>
        this.#deps.logger.error({ peer, err: errorMessage(err) }, 'committee dial loop failed'),
      )
      .finally(() => {
        this.#maintaining.delete(peer)
        this.#wakers.delete(peer)
      })
  }

  async #maintainLoop(peer: PeerKey): Promise<void> {
    const peerId = peerIdOf(peer)
    const { signal, options, logger, scoring } = this.#deps
    const self = this.#deps.peerKey
    for (
      let attempt = 0;
      !signal.aborted && this.#committee.has(peer) && this.#committee.has(self);
      attempt++
    ) {
      if (this.#libp2p.getConnections(peerId).length > 0) return
      // Aborted by setRegistry when the member's addresses change: dial again from the shortest backoff.
      const waker = new AbortController()
      this.#wakers.set(peer, waker)
      if (!scoring.isBanned(peer)) {
        const deadline = createDeadline(options.dialTimeoutMs, signal)
        try {
          await this.#libp2p.dial(peerId, { signal: deadline.signal })
          logger.debug({ peer }, 'committee member connected')
          return
        } catch (err) {
          logger.debug({ peer, attempt, err: errorMessage(err) }, 'committee member dial failed')
        } finally {
          deadline.clear()
        }
      }
      const { reconnectMinMs, reconnectMaxMs } = options
      const backoffMs = computeBackoffMs(attempt, reconnectMinMs, reconnectMaxMs, Math.random())
      await sleepMs(backoffMs, AbortSignal.any([signal, waker.signal]))
      if (waker.signal.aborted) attempt = -1
    }
  }

  #onConnect(peerId: PeerId): void {
    const key = peerKeyOf(peerId)
    this.#deps.metrics.connectedPeers(this.#connectedPeerCount())
    if (key === undefined) return
    for (const done of [...(this.#connectWaiters.get(key) ?? [])]) done()
    this.#pruneConnections()
  }

  #onDisconnect(peerId: PeerId): void {
    this.#deps.metrics.connectedPeers(this.#connectedPeerCount())
    const key = peerKeyOf(peerId)
    if (key === undefined) return
    if (this.#libp2p.getConnections(peerId).length > 0) return
    this.#deps.onPeerGone(key)
    if (this.#committee.has(key)) {
      this.#deps.logger.info({ peer: key }, 'committee member disconnected')
      this.#maintain(key)
    }
  }

  #connectedPeerCount(): number {
    return new Set(this.#libp2p.getConnections().map((c) => c.remotePeer.toString())).size
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
    const excess = peers.size - this.#deps.options.maxConnections
    if (excess <= 0) return
    const candidates = [...peers.entries()]
      .filter(([key]) => !this.#committee.has(key))
      .sort((a, b) => b[1].openedAtMs - a[1].openedAtMs)
      .slice(0, excess)
    for (const [key, { peerId }] of candidates) {
      this.#deps.logger.debug({ peer: key }, 'connection pruned: over maxConnections')
      this.#libp2p.hangUp(peerId).catch((err: unknown) => {
        this.#deps.logger.debug({ peer: key, err: errorMessage(err) }, 'hang up failed')
      })
    }
  }

  async #mergeQuietly(peer: PeerKey, data: Parameters<Libp2p['peerStore']['merge']>[1]): Promise<void> {
    try {
      await this.#libp2p.peerStore.merge(peerIdOf(peer), data)
    } catch (err) {
      this.#deps.logger.debug({ peer, err: errorMessage(err) }, 'peer store update failed')
    }
  }
}
