/**
 * The record of peers that broke a protocol rule: malformed frames, forged signatures, equivocation,
 * parcels or checkpoints that do not verify, floods. Every component reports here (its
 * `onMisbehaviour`); the node shows the record through RPC (`flk_get_offenders`), and the reputation
 * work reads it. Bounded: at most `maxPeers` peers (the least recent goes) and the last few reasons
 * of each.
 */

export interface OffenderRecord {
  /** The peer's node key, hex (the network's PeerKey). */
  peer: string
  /** Offences recorded since the node started. */
  count: number
  /** Offences by kind (the component's short reason, before any detail). */
  kinds: Record<string, number>
  /** The most recent reasons, newest last. */
  recent: string[]
  firstAtMs: number
  lastAtMs: number
}

const RECENT_REASONS = 5
const MAX_REASON_CHARS = 200

export class OffenderLog {
  readonly #maxPeers: number
  /** Insertion order = least recently offending first. */
  readonly #records = new Map<string, OffenderRecord>()

  constructor(options: { maxPeers?: number } = {}) {
    this.#maxPeers = options.maxPeers ?? 1024
  }

  /** Records one offence. `kind` groups offences (e.g. 'consensus', 'parcel', 'checkpoint', 'frame'). */
  record(peer: string, kind: string, reason: string, nowMs: number = Date.now()): void {
    let rec = this.#records.get(peer)
    if (rec === undefined) {
      if (this.#records.size >= this.#maxPeers) this.#records.delete(this.#records.keys().next().value!)
      rec = { peer, count: 0, kinds: {}, recent: [], firstAtMs: nowMs, lastAtMs: nowMs }
    } else this.#records.delete(peer)
    this.#records.set(peer, rec)
    rec.count++
    rec.kinds[kind] = (rec.kinds[kind] ?? 0) + 1
    rec.recent.push(`${kind}: ${reason}`.slice(0, MAX_REASON_CHARS))
    if (rec.recent.length > RECENT_REASONS) rec.recent.shift()
    rec.lastAtMs = nowMs
  }

  get(peer: string): OffenderRecord | undefined {
    const rec = this.#records.get(peer)
    return rec === undefined ? undefined : structuredClone(rec)
  }

  /** Every recorded peer, most offences first. */
  list(): OffenderRecord[] {
    return [...this.#records.values()].map((r) => structuredClone(r)).sort((a, b) => b.count - a.count)
  }

  get size(): number {
    return this.#records.size
  }
}
