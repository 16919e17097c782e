/**
 * Gossip over @libp2p/gossipsub (signed messages, the author's ed25519 key as `from`): publish,
 * subscribe handlers per topic, and the transaction topic that carries transactions for the committee
 * when no member is connected. A message over `maxGossipBytes` or without an ed25519 author is a
 * misbehaviour; a message whose author is banned is dropped (a relay may still pass it on).
 */
import type { Message } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'

import { FleekError } from '../../lib/errors.ts'
import type { Services } from './host.ts'
import type { GossipHandler, NetworkLogger, NetworkMetrics } from './interface.ts'
import type { NetworkOptions } from './options.ts'
import { errorMessage } from './outbox.ts'
import { peerKeyOf, type PeerKey } from './peer-key.ts'
import type { PeerScoring } from './scoring.ts'

export const TRANSACTION_TOPIC = 'fleek/transactions/1'

export interface GossipDeps {
  libp2p: Libp2p<Services>
  options: Pick<NetworkOptions, 'maxGossipBytes'>
  logger: NetworkLogger
  metrics: NetworkMetrics
  scoring: PeerScoring
  /** Aborts when the network closes. */
  signal: AbortSignal
  /** A transaction that came on TRANSACTION_TOPIC. */
  onTransaction: (from: PeerKey, transaction: Uint8Array) => Promise<void>
}

export class Gossip {
  readonly #deps: GossipDeps
  readonly #topicHandlers = new Map<string, Set<GossipHandler>>()

  constructor(deps: GossipDeps) {
    this.#deps = deps
    const pubsub = deps.libp2p.services.pubsub
    pubsub.addEventListener('message', (event) => this.#onMessage(event.detail))
    pubsub.subscribe(TRANSACTION_TOPIC)
  }

  /** Publishes on a topic; resolves with the number of peers it was sent to. */
  async publish(topic: string, message: Uint8Array): Promise<number> {
    const { maxGossipBytes } = this.#deps.options
    if (message.length > maxGossipBytes) {
      throw new FleekError(
        'INVALID_INPUT',
        `a gossip message of ${message.length} bytes exceeds the limit of ${maxGossipBytes}`,
      )
    }
    if (this.#deps.signal.aborted) throw new FleekError('UNAVAILABLE', 'the network is closed')
    try {
      const result = await this.#deps.libp2p.services.pubsub.publish(topic, message)
      this.#deps.metrics.bytesSent(`gossip ${topic}`, message.length * result.recipients.length)
      return result.recipients.length
    } catch (err) {
      throw new FleekError('UNAVAILABLE', `cannot publish on ${topic}: ${errorMessage(err)}`, { cause: err })
    }
  }

  /** Subscribes a handler to a topic; returns the function that unsubscribes it. */
  subscribe(topic: string, handler: GossipHandler): () => void {
    const pubsub = this.#deps.libp2p.services.pubsub
    let handlers = this.#topicHandlers.get(topic)
    if (handlers === undefined) {
      handlers = new Set()
      this.#topicHandlers.set(topic, handlers)
      if (topic !== TRANSACTION_TOPIC) pubsub.subscribe(topic)
    }
    handlers.add(handler)
    return () => {
      const set = this.#topicHandlers.get(topic)
      if (set === undefined || !set.delete(handler) || set.size > 0) return
      this.#topicHandlers.delete(topic)
      if (topic !== TRANSACTION_TOPIC && !this.#deps.signal.aborted) pubsub.unsubscribe(topic)
    }
  }

  /** Peers known to be subscribed to a topic (their PeerKeys). */
  peers(topic: string): PeerKey[] {
    return this.#deps.libp2p.services.pubsub
      .getSubscribers(topic)
      .map((id) => peerKeyOf(id))
      .filter((k): k is PeerKey => k !== undefined)
  }

  #onMessage(message: Message): void {
    if (message.type !== 'signed') return
    const from = peerKeyOf(message.from)
    if (from === undefined) return
    const { scoring, metrics, options } = this.#deps
    const label = `gossip ${message.topic}`
    if (message.topic === TRANSACTION_TOPIC || this.#topicHandlers.has(message.topic))
      metrics.bytesReceived(label, message.data.length)
    if (scoring.isBanned(from)) {
      this.#deps.logger.debug({ from, topic: message.topic }, 'gossip by a banned peer dropped')
      return
    }
    if (message.data.length > options.maxGossipBytes) {
      scoring.misbehave(from, 'invalid-gossip')
      return
    }
    if (message.topic === TRANSACTION_TOPIC) {
      void scoring.runHandler(label, from, () => this.#deps.onTransaction(from, message.data))
    }
    for (const handler of this.#topicHandlers.get(message.topic) ?? []) {
      void scoring.runHandler(label, from, async () => handler(message.data, from, message.topic))
    }
  }
}
