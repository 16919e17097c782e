/**
 * Parcels in the node: the committee side turns each executed block into a parcel and gossips it with
 * its attestation (ParcelProducer); every node executes parcels attested by 2f+1 members
 * (ParcelFollower), fetches the ones it missed from peers, and answers other nodes' fetches.
 *
 * Gossip is the fast path, not a guarantee: a node off the committee whose height has not moved for a
 * while asks a member for its latest certified parcel (the head poll) and hands it to the follower,
 * which then fetches whatever lies between. A head more than an epoch ahead is reported instead
 * (`onFarBehind`): such a node restores a checkpoint rather than replaying every block.
 */
import { createDeadline } from '../../lib/abort.ts'
import { toHex } from '../../lib/bytes.ts'
import { FleekError } from '../../lib/errors.ts'
import type { Application } from '../application/index.ts'
import type { Logger } from '../logger.ts'
import type { Storage } from '../storage/index.ts'
import { ParcelFollower, type ParcelFollowerOptions } from './follower.ts'
import {
  PARCEL_TOPIC,
  type Parcel,
  decodeCertifiedParcel,
  decodeParcelRequest,
  encodeParcelMessage,
  encodeParcelRequest,
} from './messages.ts'
import { type ExecutedBlock, type ParcelHead, ParcelProducer, type ProducedParcel } from './producer.ts'

export interface ParcelServiceOptions {
  /** Off the committee, a height still for this long makes the node ask a member for its head. */
  headPollIdleMs: number
  /** One head request's limit. */
  headPollTimeoutMs: number
  follower: Partial<ParcelFollowerOptions>
}

export const defaultParcelServiceOptions: ParcelServiceOptions = {
  headPollIdleMs: 4000,
  headPollTimeoutMs: 10_000,
  follower: {},
}

export interface ParcelNetwork {
  publish(topic: string, message: Uint8Array): Promise<unknown>
  subscribe(topic: string, handler: (message: Uint8Array, from: string) => void | Promise<void>): unknown
  requestSync(peer: string, request: Uint8Array, signal: AbortSignal): Promise<Uint8Array>
  connect(address: string, signal?: AbortSignal): Promise<unknown>
}

export interface ParcelServiceDeps {
  storage: Storage
  chain: Pick<Application, 'committee' | 'epochInfo' | 'height'>
  network: ParcelNetwork
  nodeKey: { secret: Uint8Array; publicKey: Uint8Array }
  isCommitteeMember(): boolean
  /** The committee members' addresses (multiaddrs with /p2p/), dialled by a node off the committee. */
  committeeAddresses(): string[]
  /** Executes an attested parcel (the next in the chain). */
  execute(parcel: Parcel, digest: Uint8Array): void
  /** A peer sent a parcel or attestation that does not verify. */
  onMisbehaviour(peer: string, reason: string): void
  /**
   * A member's head is in `epoch`, more than one epoch past this node's: true when the node takes
   * another way there (a checkpoint restore) and the head should not be followed block by block.
   */
  onFarBehind?(epoch: number): boolean
  logger: Logger
}

export class ParcelService {
  readonly #options: ParcelServiceOptions
  readonly #deps: ParcelServiceDeps
  readonly #me: string
  readonly #producer: ParcelProducer
  readonly #follower: ParcelFollower
  #polling = false
  #signal: AbortSignal = new AbortController().signal

  constructor(options: Partial<ParcelServiceOptions>, deps: ParcelServiceDeps) {
    this.#options = { ...defaultParcelServiceOptions, ...options }
    this.#deps = deps
    this.#me = toHex(deps.nodeKey.publicKey)
    this.#producer = new ParcelProducer({}, { storage: deps.storage, nodeKey: deps.nodeKey })
    this.#follower = new ParcelFollower(this.#options.follower, {
      storage: deps.storage,
      committee: (epoch) => deps.chain.committee(epoch)?.members,
      execute: (parcel, digest) => deps.execute(parcel, digest),
      fetch: (digest, signal, hints) => this.#fetch(digest, signal, hints),
      isExecuted: (digest) => this.#producer.getParcel(digest) !== undefined,
      onMisbehaviour: (peer, reason) => deps.onMisbehaviour(peer, reason),
      onFarAhead: (epoch) => deps.onFarBehind?.(epoch) ?? false,
      logger: deps.logger,
    })
  }

  /** Follows gossip and polls the head while off the committee; stops with `signal`. */
  start(signal: AbortSignal): void {
    this.#signal = signal
    this.#deps.network.subscribe(PARCEL_TOPIC, (message, from) => this.#follower.handleMessage(message, from))
    this.#follower.start(signal)
    // Off the committee nobody dials us: reach the members, so that parcels and forwarded
    // transactions flow (members keep each other connected themselves).
    if (!this.#deps.isCommitteeMember()) this.#reachCommittee()
    let lastHeight = -1
    let stillSinceMs = Date.now()
    const timer = setInterval(() => {
      if (signal.aborted || this.#deps.isCommitteeMember() || this.#polling) return
      const now = Date.now()
      const height = this.#deps.chain.height()
      if (height !== lastHeight) {
        lastHeight = height
        stillSinceMs = now
        return
      }
      if (now - stillSinceMs < this.#options.headPollIdleMs) return
      stillSinceMs = now
      this.pollHead()
    }, this.#options.headPollIdleMs / 2)
    timer.unref()
    signal.addEventListener('abort', () => clearInterval(timer), { once: true })
  }

  #reachCommittee(): void {
    for (const address of this.#deps.committeeAddresses())
      void this.#deps.network
        .connect(address, this.#signal)
        .catch((err: unknown) =>
          this.#deps.logger.debug({ err: (err as Error).message }, 'could not reach a member'),
        )
  }

  /** Asks a member for its latest certified parcel now (at most one poll at a time). */
  pollHead(): void {
    if (this.#polling) return
    this.#polling = true
    void this.#pollHead()
      .catch((err: unknown) => this.#deps.logger.debug({ err: (err as Error).message }, 'head poll failed'))
      .finally(() => (this.#polling = false))
  }

  /** The parcel and attestation of a block a member is about to execute (recorded first, so a crash repeats it). */
  produce(block: ExecutedBlock): ProducedParcel {
    return this.#producer.onBlockExecuted(block)
  }

  /** Gossips a produced parcel and this member's attestation. */
  publish(produced: ProducedParcel): void {
    for (const message of [produced.parcelMessage, produced.attestationMessage])
      void this.#deps.network
        .publish(PARCEL_TOPIC, message)
        .catch((err: unknown) => this.#deps.logger.warn({ err }, 'could not publish a parcel'))
  }

  /** After a block executed by one path, the other path's head moves past it too. */
  executed(head: ParcelHead, producedHere: boolean): void {
    if (producedHere) this.#follower.resetHead(head)
    else this.#producer.resetHead(head)
  }

  /**
   * A parcel of a block executed already: after a crash between the block and the producer's head
   * write, the head catches up here (else this member's next parcels would link to an old one).
   */
  advanceProducerHead(head: Required<ParcelHead>): void {
    const current = this.#producer.head()
    const older =
      current.index === undefined ||
      current.epoch < head.epoch ||
      (current.epoch === head.epoch && current.index < head.index)
    if (older) this.#producer.resetHead(head)
  }

  /** Both heads move to a restored checkpoint's parcel (what is held and older is dropped). */
  resetHeads(head: ParcelHead): void {
    this.#producer.resetHead(head)
    this.#follower.resetHead(head)
  }

  /** Answers a parcel request (an encoded CertifiedParcel); the all-zero digest asks for the head. */
  answer(request: Uint8Array): Uint8Array {
    let digest = decodeParcelRequest(request)
    if (digest.every((b) => b === 0)) digest = this.#producer.head().digest
    const parcel = this.#follower.getParcel(digest) ?? this.#producer.getParcel(digest)
    if (parcel === undefined) throw new FleekError('NOT_FOUND', 'no such parcel here')
    return parcel
  }

  async #pollHead(): Promise<void> {
    const members = this.#deps.chain
      .epochInfo()
      .committee.map(toHex)
      .filter((k) => k !== this.#me)
    const peer = members[Math.floor(Math.random() * members.length)]
    if (peer === undefined) return
    const deadline = createDeadline(this.#options.headPollTimeoutMs, this.#signal)
    const bytes = await this.#deps.network
      .requestSync(peer, encodeParcelRequest(new Uint8Array(32)), deadline.signal)
      .finally(() => deadline.clear())
    const certified = decodeCertifiedParcel(bytes)
    if (certified.parcel.epoch > this.#deps.chain.epochInfo().epoch + 1)
      if (this.#deps.onFarBehind?.(certified.parcel.epoch) === true) return
    await this.#follower.handleMessage(
      encodeParcelMessage({ kind: 'parcel', parcel: certified.parcel }),
      peer,
    )
    for (const attestation of certified.attestations)
      await this.#follower.handleMessage(encodeParcelMessage({ kind: 'attestation', attestation }), peer)
  }

  /** Asks the hinted peers, then the committee, for a parcel (an encoded certified parcel). */
  async #fetch(digest: Uint8Array, signal: AbortSignal, hints: readonly string[]): Promise<Uint8Array> {
    const members = this.#deps.chain.epochInfo().committee.map(toHex)
    let last: unknown
    for (const peer of [...new Set([...hints, ...members])].filter((p) => p !== this.#me)) {
      try {
        return await this.#deps.network.requestSync(peer, encodeParcelRequest(digest), signal)
      } catch (err) {
        last = err
        if (signal.aborted) break
      }
    }
    throw last ?? new FleekError('UNAVAILABLE', 'no peer to fetch the parcel from')
  }
}
