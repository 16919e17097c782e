// Long file: one state machine (held parcels, attestations by epoch, gap fills, the head) whose invariants hold across all of it; split, its parts would share every field.
/**
 * The edge side of parcels (DESIGN §4): a node outside the committee executes a parcel once 2f+1
 * distinct members of the parcel's epoch attested it and it links to the last parcel it executed.
 *
 * Parcels and attestations come from gossip in any order, repeated, some forged. Attestations are
 * checked (member of the epoch's committee, valid signature) as they arrive; those of an epoch whose
 * committee is not known yet (the next one, before its epoch change is executed) wait, bounded.
 * Parcels wait, bounded, until they can be executed or become stale. A parcel is also certified when a
 * certified parcel names it as `previous` (its digest is then vouched for by the chain), so a gap can
 * be filled from any peer through `fetch`: what comes back is checked against the wanted digest.
 *
 * A node that fell behind by epochs holds parcels whose committee it cannot know yet (it learns the
 * committee of epoch e+1 by executing the end of epoch e). Such a parcel, carrying a validly signed
 * attestation, is a *lead*: its `previous` chain is fetched backwards (bounded by the held parcels and
 * bytes, and by the fetches in flight) until it links to the head. Nothing of it is trusted: each
 * parcel still executes only once 2f+1 members of its epoch attested it or a certified parcel vouches
 * for it, as the committees become known on the way forward. Peers serve a parcel with their own
 * attestation only, so the latest parcel of each epoch on a lead's chain is fetched again from the
 * members that have not attested it yet, until its quorum is in; it then vouches for the ones before.
 *
 * The head (last executed parcel) is saved after each execution. A crash between an execution and
 * that write makes the next start execute the same parcel again: `execute` must skip a block already
 * executed (the node's executor does, by its (epoch, index) sequence).
 */
import { createDeadline } from '../../lib/abort.ts'
import { toHex } from '../../lib/bytes.ts'
import { FleekError } from '../../lib/errors.ts'
import { computeQuorum } from '../application/index.ts'
import {
  type ConsensusClock,
  type ConsensusLogger,
  silentLogger,
  systemClock,
} from '../consensus/interface.ts'
import type { Storage } from '../storage/index.ts'
import {
  type Attestation,
  type CertifiedParcel,
  GENESIS_PARCEL_DIGEST,
  type Parcel,
  computeParcelDigest,
  decodeCertifiedParcel,
  decodeParcelMessage,
  encodeCertifiedParcel,
  verifyAttestation,
} from './messages.ts'
import type { ParcelHead } from './producer.ts'

export const FOLLOWER_TABLE = 'parcelFollower'

export interface ParcelFollowerOptions {
  /** Parcels held while they cannot be executed yet. */
  maxHeldParcels: number
  /** Attestations held (checked ones of parcels not executed yet, plus unchecked ones of the next epoch). */
  maxHeldAttestations: number
  /**
   * Unchecked attestations (of epochs whose committee is not known yet) held from one gossiping peer,
   * within `maxHeldAttestations`: one peer signing attestations for future epochs cannot fill the queue.
   * Those that come with parcels this node fetched are bounded by the fetches (and the global bound).
   */
  maxUncheckedPerPeer: number
  /** Executed parcels kept (with their attestations) to answer other nodes' fetches. */
  maxServedParcels: number
  /** One fetch attempt's limit. */
  fetchTimeoutMs: number
  /** Attempts after the first one. */
  fetchRetries: number
  /** How long the follower waits with parcels it cannot link before it fetches the missing ones. */
  gapDelayMs: number
  /** Bytes of transactions held in parcels that cannot be executed yet. */
  maxHeldBytes: number
  /** Fetches running at once (over every gap fill). */
  maxFetchesInFlight: number
}

export const defaultParcelFollowerOptions: ParcelFollowerOptions = {
  maxHeldParcels: 1000,
  maxHeldAttestations: 20_000,
  maxUncheckedPerPeer: 1000,
  maxServedParcels: 1000,
  fetchTimeoutMs: 5000,
  fetchRetries: 3,
  gapDelayMs: 2000,
  maxHeldBytes: 64 * 1024 * 1024,
  maxFetchesInFlight: 4,
}

export interface ParcelFollowerDeps {
  /** Where the head is saved. */
  storage: Storage
  /** The node keys of the committee of `epoch`, in committee order; undefined while unknown. */
  committee(epoch: number): readonly Uint8Array[] | undefined
  /** Executes one parcel (the next in the chain). Must skip a block executed already (see above). */
  execute(parcel: Parcel, digest: Uint8Array): void | Promise<void>
  /** Asks peers for a parcel: resolves with an encoded CertifiedParcel. `hints` are peers likely to hold it. */
  fetch(digest: Uint8Array, signal: AbortSignal, hints: readonly string[]): Promise<Uint8Array>
  /** A peer sent something malformed or forged (for reputation). */
  onMisbehaviour?(peer: string, reason: string): void
  /**
   * True when this node executed the block of that parcel digest by another path (as a committee
   * member, through consensus): an unattested copy of it that goes stale is no fake then.
   */
  isExecuted?(digest: Uint8Array): boolean
  /**
   * A gossiped parcel or attestation of `epoch`, more than one epoch past the head: true when the node
   * catches up another way (a checkpoint restore), and the message is dropped.
   */
  onFarAhead?(epoch: number): boolean
  logger?: ConsensusLogger
  clock?: ConsensusClock
}

interface HeldParcel {
  parcel: Parcel
  digest: Uint8Array
  from: string
  bytes: number
}

/** What `fillGaps` fetches: a parcel vouched for, a lead's missing `previous`, or more attestations. */
interface Wanted {
  hex: string
  digest: Uint8Array
  hints: string[]
  kind: 'vouched' | 'lead' | 'attest'
}

interface ServedParcel {
  parcel: Parcel
  attestations: Attestation[]
}

export class ParcelFollower {
  readonly #options: ParcelFollowerOptions
  readonly #deps: ParcelFollowerDeps
  readonly #logger: ConsensusLogger
  readonly #clock: ConsensusClock
  #head: ParcelHead
  /** Parcels not executed yet, by digest hex. */
  readonly #held = new Map<string, HeldParcel>()
  #heldBytes = 0
  /** Checked attestations of parcels not executed yet: digest hex → attester hex → attestation. */
  readonly #attestations = new Map<string, Map<string, Attestation>>()
  #attestationCount = 0
  /** Attestations of epochs whose committee is not known yet. */
  #unchecked: Array<{ attestation: Attestation; from: string }> = []
  /** How many of `#unchecked` each peer sent ('fetch': those that came with fetched parcels). */
  readonly #uncheckedBy = new Map<string, number>()
  /** `epoch digest attester` of each unchecked attestation: a repeat is held once. */
  readonly #uncheckedKeys = new Set<string>()
  /** Digests named as `previous` by a certified parcel. */
  readonly #vouched = new Set<string>()
  readonly #served = new Map<string, ServedParcel>()
  /** Digests of fetched parcels that turned out older than the head (their attestations are ignored). */
  readonly #stale = new Set<string>()
  readonly #fetching = new Set<string>()
  /** Held parcels whose attestation top-up brought nothing (a parcel only a forked member signed, say). */
  readonly #noTopUp = new Set<string>()
  #running: Promise<void> | undefined
  #again = false
  #lastProgressMs: number
  #timer: unknown
  #signal: AbortSignal | undefined

  constructor(options: Partial<ParcelFollowerOptions>, deps: ParcelFollowerDeps) {
    this.#options = { ...defaultParcelFollowerOptions, ...options }
    this.#deps = deps
    this.#logger = deps.logger ?? silentLogger
    this.#clock = deps.clock ?? systemClock
    const stored = deps.storage.table(FOLLOWER_TABLE).get('head') as
      { digest: Uint8Array; epoch: number; index: number | null } | undefined
    this.#head =
      stored === undefined
        ? { digest: GENESIS_PARCEL_DIGEST, epoch: 0 }
        : {
            digest: stored.digest,
            epoch: stored.epoch,
            ...(stored.index !== null && { index: stored.index }),
          }
    this.#lastProgressMs = this.#clock.now()
  }

  /** The last executed parcel (the genesis digest, epoch 0, before the first). */
  head(): ParcelHead {
    return { ...this.#head }
  }

  /** Counts for status and tests. */
  stats(): { held: number; heldBytes: number; attestations: number; unchecked: number; served: number } {
    return {
      held: this.#held.size,
      heldBytes: this.#heldBytes,
      attestations: this.#attestationCount,
      unchecked: this.#unchecked.length,
      served: this.#served.size,
    }
  }

  /**
   * Moves the head without executing (after restoring a checkpoint: its parcel and epoch); what is
   * held and older is dropped.
   */
  resetHead(head: ParcelHead): void {
    this.#setHead(head)
    this.#dropStale()
  }

  /**
   * Starts the gap timer: while something waits that cannot be linked and nothing was executed for
   * `gapDelayMs`, the missing parcels are fetched. Stops with `signal`.
   */
  start(signal: AbortSignal): void {
    this.#signal = signal
    const tick = (): void => {
      if (signal.aborted) return
      const stalled = this.#clock.now() - this.#lastProgressMs >= this.#options.gapDelayMs
      const waiting = this.#held.size > 0 || this.#attestations.size > 0
      const run = stalled && waiting ? this.fillGaps(signal) : Promise.resolve()
      void run
        .catch((err: unknown) => this.#logger.warn({ err: (err as Error).message }, 'parcel gap fill failed'))
        .finally(() => {
          if (!signal.aborted) this.#timer = this.#clock.setTimeout(tick, this.#options.gapDelayMs)
        })
    }
    this.#timer = this.#clock.setTimeout(tick, this.#options.gapDelayMs)
    signal.addEventListener('abort', () => this.#clock.clearTimeout(this.#timer), { once: true })
  }

  /**
   * Takes one gossip message of PARCEL_TOPIC from `from`; resolves once whatever became executable
   * was executed. Malformed messages and forged attestations are reported and dropped, never thrown.
   */
  async handleMessage(bytes: Uint8Array, from: string): Promise<void> {
    let message
    try {
      message = decodeParcelMessage(bytes)
    } catch (err) {
      this.#report(from, `malformed parcel message: ${(err as Error).message}`)
      return
    }
    const epoch = message.kind === 'parcel' ? message.parcel.epoch : message.attestation.epoch
    if (epoch > this.#head.epoch + 1 && this.#deps.onFarAhead?.(epoch) === true) return
    if (message.kind === 'parcel') this.#addParcel(message.parcel, computeParcelDigest(message.parcel), from)
    else this.#addAttestation(message.attestation, from)
    await this.#kick()
  }

  /** An encoded CertifiedParcel for a peer's fetch, or undefined when this node does not hold it. */
  getParcel(digest: Uint8Array): Uint8Array | undefined {
    const hex = toHex(digest)
    const served = this.#served.get(hex)
    if (served !== undefined) return encodeCertifiedParcel(served)
    const held = this.#held.get(hex)
    if (held !== undefined)
      return encodeCertifiedParcel({
        parcel: held.parcel,
        attestations: [...(this.#attestations.get(hex)?.values() ?? [])],
      })
    return undefined
  }

  /**
   * Fetches the parcels that certified parcels (or quorums of attestations) name but that are
   * missing, walking back until the chain links to the head; then executes what it can.
   */
  async fillGaps(signal?: AbortSignal): Promise<void> {
    const stop = signal ?? this.#signal ?? new AbortController().signal
    // Each round adds a parcel or an attestation to the held ones, so the rounds are bounded.
    const rounds = this.#options.maxHeldParcels + this.#options.maxHeldAttestations
    for (let round = 0; round <= rounds; round++) {
      const wanted = this.#wanted().filter((w) => !this.#fetching.has(w.hex))
      if (wanted.length === 0 || stop.aborted) return
      let progress = false
      for (const w of wanted) {
        if (this.#fetching.size >= this.#options.maxFetchesInFlight || stop.aborted) break
        this.#fetching.add(w.hex)
        try {
          const got = await this.#fetchOne(w.digest, w.hints, stop)
          if (got === undefined) {
            if (w.kind === 'attest') this.#markNoTopUp(w.hex)
            continue
          }
          if (w.kind === 'attest' || this.#held.has(w.hex)) {
            // Another member's copy of a parcel held already: its attestation is what was wanted.
            const before = this.#attestations.get(w.hex)?.size ?? 0
            for (const a of got.attestations) this.#addAttestation(a, undefined)
            if ((this.#attestations.get(w.hex)?.size ?? 0) > before) progress = true
            else this.#markNoTopUp(w.hex)
          } else if (this.#isStale(got.parcel.epoch, got.parcel.index)) {
            // Attestations of a parcel executed long ago (a replay after a restart, say): not wanted again.
            this.#forgetAttestations(w.hex)
            this.#stale.add(w.hex)
            if (this.#stale.size > this.#options.maxServedParcels)
              this.#stale.delete(this.#stale.values().next().value as string)
          } else if (this.#addParcel(got.parcel, w.digest, 'fetch')) {
            progress = true
            // Only a digest named by a certified parcel is vouched for; a lead's chain must earn it.
            if (w.kind === 'vouched') this.#vouched.add(w.hex)
            for (const a of got.attestations) this.#addAttestation(a, undefined)
          }
        } finally {
          this.#fetching.delete(w.hex)
        }
      }
      await this.#kick()
      if (!progress) return
    }
  }

  // ---- intake ----

  /** True when the parcel is now held (new, not stale, room made). */
  #addParcel(parcel: Parcel, digest: Uint8Array, from: string): boolean {
    const hex = toHex(digest)
    if (this.#held.has(hex) || this.#served.has(hex) || this.#isStale(parcel.epoch, parcel.index))
      return false
    const bytes = sizeOf(parcel)
    if (bytes > this.#options.maxHeldBytes) return false
    while (
      this.#held.size >= this.#options.maxHeldParcels ||
      this.#heldBytes + bytes > this.#options.maxHeldBytes
    ) {
      // Keep the parcels nearest the head: drop the farthest, possibly the new one.
      let farthest: HeldParcel | undefined
      for (const h of this.#held.values())
        if (farthest === undefined || isLater(h.parcel, farthest.parcel)) farthest = h
      if (farthest === undefined || !isLater(farthest.parcel, parcel)) return false
      this.#dropHeld(toHex(farthest.digest))
    }
    this.#held.set(hex, { parcel, digest, from, bytes })
    this.#heldBytes += bytes
    return true
  }

  #dropHeld(hex: string): void {
    const h = this.#held.get(hex)
    if (h === undefined) return
    this.#held.delete(hex)
    this.#heldBytes -= h.bytes
  }

  /** `from` undefined: it came with a fetched parcel (no peer to blame for a bad one). */
  #addAttestation(a: Attestation, from: string | undefined): void {
    if (a.epoch < this.#head.epoch) return
    const hex = toHex(a.digest)
    if (this.#served.has(hex) || this.#stale.has(hex)) return
    const committee = this.#deps.committee(a.epoch)
    if (committee === undefined) {
      const source = from ?? 'fetch'
      const held = this.#uncheckedBy.get(source) ?? 0
      const key = `${a.epoch} ${hex} ${toHex(a.attester)}`
      if (this.#unchecked.length >= this.#options.maxHeldAttestations) return
      if (this.#uncheckedKeys.has(key)) return
      if (from !== undefined && held >= this.#options.maxUncheckedPerPeer) return
      // Membership waits for the committee; the signature is checked now (it makes its parcel a lead).
      if (!verifyAttestation(a)) {
        if (from !== undefined) this.#report(from, 'attestation with a forged signature')
        return
      }
      this.#unchecked.push({ attestation: a, from: source })
      this.#uncheckedBy.set(source, held + 1)
      this.#uncheckedKeys.add(key)
      return
    }
    const attester = toHex(a.attester)
    if (!committee.some((m) => toHex(m) === attester)) {
      if (from !== undefined) this.#report(from, `attestation by a non-member of epoch ${a.epoch}`)
      return
    }
    let set = this.#attestations.get(hex)
    if (set?.has(attester)) return
    if (!verifyAttestation(a)) {
      if (from !== undefined) this.#report(from, 'attestation with a forged signature')
      return
    }
    if (set === undefined) {
      while (this.#attestationCount >= this.#options.maxHeldAttestations && this.#attestations.size > 0) {
        const [oldest, entries] = this.#attestations.entries().next().value as [
          string,
          Map<string, Attestation>,
        ]
        this.#attestations.delete(oldest)
        this.#attestationCount -= entries.size
      }
      set = new Map()
      this.#attestations.set(hex, set)
    }
    set.set(attester, a)
    this.#attestationCount++
  }

  // ---- execution ----

  #kick(): Promise<void> {
    if (this.#running !== undefined) {
      this.#again = true
      return this.#running
    }
    this.#running = (async () => {
      do {
        this.#again = false
        await this.#executeReady()
      } while (this.#again)
    })().finally(() => {
      this.#running = undefined
    })
    return this.#running
  }

  async #executeReady(): Promise<void> {
    for (;;) {
      this.#propagateVouches()
      const next = this.#nextExecutable()
      if (next === undefined) return
      const hex = toHex(next.digest)
      try {
        await this.#deps.execute(next.parcel, next.digest)
      } catch (err) {
        this.#logger.error(
          { err: (err as Error).message, epoch: next.parcel.epoch, index: next.parcel.index },
          'parcel execution failed',
        )
        return
      }
      const attestations = [...(this.#attestations.get(hex)?.values() ?? [])]
      this.#dropHeld(hex)
      this.#forgetAttestations(hex)
      this.#vouched.delete(hex)
      this.#served.set(hex, { parcel: next.parcel, attestations })
      if (this.#served.size > this.#options.maxServedParcels)
        this.#served.delete(this.#served.keys().next().value as string)
      this.#setHead({ digest: next.digest, epoch: next.parcel.epoch, index: next.parcel.index })
      this.#lastProgressMs = this.#clock.now()
      this.#noTopUp.clear()
      this.#dropStale()
      this.#recheckUnchecked()
    }
  }

  /** A held parcel that links to the head, of the head's epoch or later, certified. */
  #nextExecutable(): HeldParcel | undefined {
    const headHex = toHex(this.#head.digest)
    for (const h of this.#held.values()) {
      if (toHex(h.parcel.previous) !== headHex || h.parcel.epoch < this.#head.epoch) continue
      if (this.#isCertified(h)) return h
    }
    return undefined
  }

  #isCertified(h: HeldParcel): boolean {
    const hex = toHex(h.digest)
    if (this.#vouched.has(hex)) return true
    return this.#hasQuorum(hex, h.parcel.epoch)
  }

  #hasQuorum(hex: string, epoch: number): boolean {
    const committee = this.#deps.committee(epoch)
    if (committee === undefined || committee.length === 0) return false
    let count = 0
    for (const a of this.#attestations.get(hex)?.values() ?? []) if (a.epoch === epoch) count++
    return count >= computeQuorum(committee.length)
  }

  /** Certified parcels vouch for their `previous` (to a fixpoint: a fetched chain certifies backwards). */
  #propagateVouches(): void {
    let changed = true
    while (changed) {
      changed = false
      for (const h of this.#held.values()) {
        const prev = toHex(h.parcel.previous)
        if (!this.#vouched.has(prev) && this.#isCertified(h)) {
          this.#vouched.add(prev)
          changed = true
        }
      }
    }
  }

  /**
   * Digests to fetch: the missing `previous` of certified parcels, attested digests without a parcel,
   * then what the leads need (see the top of the file).
   */
  #wanted(): Wanted[] {
    this.#propagateVouches()
    const headHex = toHex(this.#head.digest)
    const out = new Map<string, Wanted>()
    for (const h of this.#held.values()) {
      const prev = toHex(h.parcel.previous)
      if (prev === headHex || this.#held.has(prev) || this.#served.has(prev) || !this.#isCertified(h))
        continue
      const hints = h.from === 'fetch' ? [] : [h.from]
      out.set(prev, { hex: prev, digest: h.parcel.previous, hints, kind: 'vouched' })
    }
    for (const [hex, set] of this.#attestations) {
      if (this.#held.has(hex) || out.has(hex)) continue
      const first = set.values().next().value
      if (first === undefined || !this.#hasQuorum(hex, first.epoch)) continue
      out.set(hex, { hex, digest: first.digest, hints: [...set.keys()], kind: 'vouched' })
    }
    for (const w of this.#leadWanted(headHex)) if (!out.has(w.hex)) out.set(w.hex, w)
    return [...out.values()]
  }

  /**
   * Walks each lead (an uncertified held parcel, not on the chain of a later lead, carrying a validly
   * signed attestation) back through the held parcels: wants the missing `previous` at the bottom, and more
   * attestations for the latest parcel of each epoch on the way whose committee is known.
   */
  #leadWanted(headHex: string): Wanted[] {
    const attesters = new Map<string, string[]>()
    const note = (hex: string, attester: string): void => {
      const list = attesters.get(hex)
      if (list === undefined) attesters.set(hex, [attester])
      else if (!list.includes(attester)) list.push(attester)
    }
    for (const { attestation } of this.#unchecked)
      note(toHex(attestation.digest), toHex(attestation.attester))
    for (const [hex, set] of this.#attestations) for (const attester of set.keys()) note(hex, attester)
    const out: Wanted[] = []
    const visited = new Set<string>()
    // Latest first: a lead below another one (under a forged tip, say) is walked on its own.
    const latestFirst = [...this.#held].sort(([, a], [, b]) => (isLater(a.parcel, b.parcel) ? -1 : 1))
    for (const [tipHex, tip] of latestFirst) {
      if (visited.has(tipHex) || this.#isCertified(tip) || attesters.get(tipHex) === undefined) continue
      const tipHints = [...(attesters.get(tipHex) ?? []), ...(tip.from === 'fetch' ? [] : [tip.from])]
      let h: HeldParcel = tip
      let hex = tipHex
      let epochSeen = -1
      while (!visited.has(hex)) {
        visited.add(hex)
        if (h.parcel.epoch !== epochSeen) {
          const topUp = this.#topUp(h, hex, attesters.get(hex) ?? [])
          if (topUp !== undefined) {
            epochSeen = h.parcel.epoch
            out.push(topUp)
          }
        }
        const prev = toHex(h.parcel.previous)
        const below = this.#held.get(prev)
        if (below === undefined) {
          if (prev !== headHex && !this.#served.has(prev) && !this.#stale.has(prev)) {
            const hints = [...new Set([...(attesters.get(hex) ?? []), ...tipHints])]
            out.push({ hex: prev, digest: h.parcel.previous, hints, kind: 'lead' })
          }
          break
        }
        h = below
        hex = prev
      }
    }
    return out
  }

  /** More attestations for a held parcel of a known committee without its quorum: ask who has not attested. */
  #topUp(h: HeldParcel, hex: string, attested: readonly string[]): Wanted | undefined {
    // Only a parcel a member of its epoch attested already (not one of strangers) is worth asking for.
    if (this.#noTopUp.has(hex) || !this.#attestations.has(hex) || this.#isCertified(h)) return undefined
    const committee = this.#deps.committee(h.parcel.epoch)
    if (committee === undefined) return undefined
    const hints = committee.map(toHex).filter((m) => !attested.includes(m))
    if (hints.length === 0) return undefined
    return { hex, digest: h.digest, hints, kind: 'attest' }
  }

  async #fetchOne(
    digest: Uint8Array,
    hints: readonly string[],
    signal: AbortSignal,
  ): Promise<CertifiedParcel | undefined> {
    const hex = toHex(digest)
    for (let attempt = 0; attempt <= this.#options.fetchRetries && !signal.aborted; attempt++) {
      const limit = createDeadline(this.#options.fetchTimeoutMs, signal)
      try {
        const bytes = await this.#deps.fetch(digest, limit.signal, hints)
        const got = decodeCertifiedParcel(bytes)
        if (toHex(computeParcelDigest(got.parcel)) !== hex)
          throw new FleekError('INTEGRITY', 'the fetched parcel has another digest')
        return got
      } catch (err) {
        this.#logger.debug({ err: (err as Error).message, digest: hex, attempt }, 'parcel fetch failed')
      } finally {
        limit.clear()
      }
    }
    this.#logger.warn({ digest: hex }, 'could not fetch a missing parcel')
    return undefined
  }

  // ---- bookkeeping ----

  #markNoTopUp(hex: string): void {
    this.#noTopUp.add(hex)
    if (this.#noTopUp.size > this.#options.maxHeldParcels)
      this.#noTopUp.delete(this.#noTopUp.values().next().value as string)
  }

  #isStale(epoch: number, index: number): boolean {
    const h = this.#head
    return epoch < h.epoch || (epoch === h.epoch && h.index !== undefined && index <= h.index)
  }

  #dropStale(): void {
    for (const [hex, h] of this.#held) {
      if (!this.#isStale(h.parcel.epoch, h.parcel.index)) continue
      this.#dropHeld(hex)
      // Never attested by the committee while its position passed, and not the block executed there:
      // a fake (or a forked member's). An honest copy whose attestations lag behind this node's own
      // execution of the block is none.
      if (
        !this.#isCertified(h) &&
        h.from !== 'fetch' &&
        !this.#served.has(hex) &&
        !(this.#deps.isExecuted?.(h.digest) ?? false)
      )
        this.#report(h.from, 'parcel never attested by the committee')
      this.#forgetAttestations(hex)
      this.#vouched.delete(hex)
    }
    for (const [hex, set] of this.#attestations) {
      const first = set.values().next().value
      if (first !== undefined && first.epoch < this.#head.epoch) this.#forgetAttestations(hex)
    }
  }

  #forgetAttestations(hex: string): void {
    const set = this.#attestations.get(hex)
    if (set === undefined) return
    this.#attestationCount -= set.size
    this.#attestations.delete(hex)
  }

  /** After an execution a committee may have become known: check the attestations that waited for it. */
  #recheckUnchecked(): void {
    if (this.#unchecked.length === 0) return
    const waiting = this.#unchecked
    this.#unchecked = []
    this.#uncheckedBy.clear()
    this.#uncheckedKeys.clear()
    for (const { attestation, from } of waiting)
      this.#addAttestation(attestation, from === 'fetch' ? undefined : from)
  }

  #setHead(head: ParcelHead): void {
    this.#head = { ...head }
    this.#deps.storage.transaction(() => writeFollowerHead(this.#deps.storage, head))
  }

  #report(peer: string, reason: string): void {
    this.#logger.debug({ peer, reason }, 'parcel peer misbehaved')
    this.#deps.onMisbehaviour?.(peer, reason)
  }
}

/** What a held parcel counts against `maxHeldBytes`. */
function sizeOf(parcel: Parcel): number {
  let bytes = 128
  for (const t of parcel.transactions) bytes += t.byteLength + 8
  return bytes
}

/** True when parcel a comes after b in chain order. */
function isLater(a: Parcel, b: Parcel): boolean {
  return a.epoch > b.epoch || (a.epoch === b.epoch && a.index > b.index)
}

/** Moves the follower's head to `head` (inside the caller's storage transaction). */
export function writeFollowerHead(storage: Storage, head: ParcelHead): void {
  storage
    .table(FOLLOWER_TABLE)
    .put('head', { digest: head.digest, epoch: head.epoch, index: head.index ?? null })
}
