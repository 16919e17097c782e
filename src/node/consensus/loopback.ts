/**
 * An in-process ConsensusNetwork connecting several Consensus instances (tests, simulations).
 * Delivery is asynchronous (one macrotask later) and in order per sender; a stopped peer neither
 * sends nor receives. Messages a peer rejects are counted, never thrown at the sender.
 */
import { FleekError } from '../../lib/errors.ts'
import type { ConsensusNetwork, PeerKey } from './interface.ts'

/** The part of Consensus the hub talks to. */
export interface LoopbackEndpoint {
  handleMessage(from: PeerKey, bytes: Uint8Array): Promise<void>
  handleRequest(from: PeerKey, bytes: Uint8Array): Promise<Uint8Array>
}

export class LoopbackHub {
  readonly #endpoints = new Map<PeerKey, LoopbackEndpoint>()
  readonly #stopped = new Set<PeerKey>()
  /** Rejections by receivers (invalid messages), for tests to inspect. */
  readonly rejections: { from: PeerKey; to: PeerKey; error: unknown }[] = []
  #messages = 0

  /** The network as seen by `self`. Register the endpoint with `attach` once it exists. */
  createNetwork(self: PeerKey): ConsensusNetwork {
    return {
      broadcast: (message) => {
        for (const peer of this.#endpoints.keys()) if (peer !== self) this.#deliver(self, peer, message)
      },
      send: (peer, message) => this.#deliver(self, peer, message),
      request: (peer, request, signal) => this.#request(self, peer, request, signal),
    }
  }

  attach(peer: PeerKey, endpoint: LoopbackEndpoint): void {
    this.#endpoints.set(peer, endpoint)
  }

  /** Cuts a peer off (it neither sends nor receives) until `resume`. */
  stop(peer: PeerKey): void {
    this.#stopped.add(peer)
  }

  resume(peer: PeerKey): void {
    this.#stopped.delete(peer)
  }

  /** Messages delivered so far. */
  get messageCount(): number {
    return this.#messages
  }

  #deliver(from: PeerKey, to: PeerKey, message: Uint8Array): void {
    if (this.#stopped.has(from)) return
    setImmediate(() => {
      const endpoint = this.#endpoints.get(to)
      if (endpoint === undefined || this.#stopped.has(to)) return
      this.#messages++
      endpoint
        .handleMessage(from, message)
        .catch((error: unknown) => this.rejections.push({ from, to, error }))
    })
  }

  async #request(from: PeerKey, to: PeerKey, request: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    signal.throwIfAborted()
    const endpoint = this.#endpoints.get(to)
    if (endpoint === undefined || this.#stopped.has(to) || this.#stopped.has(from)) {
      throw new FleekError('UNAVAILABLE', `peer ${to.slice(0, 8)} is unreachable`)
    }
    await new Promise((resolve) => setImmediate(resolve))
    signal.throwIfAborted()
    return endpoint.handleRequest(from, request)
  }
}
