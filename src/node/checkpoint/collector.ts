/**
 * Collects the committee's checkpoint votes (own and gossiped on CHECKPOINT_TOPIC), checks each one
 * (signer in the epoch's committee, valid BLS signature: about 13 ms, once per member and epoch),
 * and aggregates them once 2f+1 members signed the same message. Checkpoints are kept in a Storage
 * table by epoch, so that the node can answer a late node's request for the latest one.
 */
import { toHex } from '../../lib/bytes.ts'
import type { Storage } from '../storage/index.ts'
import {
  type Checkpoint,
  type CheckpointVote,
  aggregateCheckpoint,
  computeCheckpointDigest,
  decodeCheckpoint,
  decodeCheckpointVote,
  encodeCheckpoint,
  verifyCheckpointVote,
} from './checkpoint.ts'
import { computeQuorum } from '../application/index.ts'

export const CHECKPOINT_TABLE = 'checkpoints'

export interface CheckpointCollectorDeps {
  storage: Storage
  /** Consensus public keys of the committee of `epoch`, in committee order; undefined when unknown. */
  committeeKeys(epoch: number): readonly Uint8Array[] | undefined
  onMisbehaviour?(peer: string, reason: string): void
}

/** Votes kept for epochs whose committee is unknown, and epochs collected at once. */
const MAX_EPOCHS_COLLECTING = 4

export class CheckpointCollector {
  readonly #deps: CheckpointCollectorDeps
  /** epoch → signer hex → vote (checked). */
  readonly #votes = new Map<number, Map<string, CheckpointVote>>()

  constructor(deps: CheckpointCollectorDeps) {
    this.#deps = deps
  }

  /** A gossiped vote: malformed or forged ones are reported. Returns the checkpoint it completed. */
  handleMessage(bytes: Uint8Array, from: string): Checkpoint | undefined {
    let vote: CheckpointVote
    try {
      vote = decodeCheckpointVote(bytes)
    } catch (err) {
      this.#deps.onMisbehaviour?.(from, `malformed checkpoint vote: ${(err as Error).message}`)
      return undefined
    }
    return this.addVote(vote, from)
  }

  /** Adds a vote (this member's own, or a peer's); returns the checkpoint when this vote completes it. */
  addVote(vote: CheckpointVote, from?: string): Checkpoint | undefined {
    if (this.get(vote.epoch) !== undefined) return undefined
    const committee = this.#deps.committeeKeys(vote.epoch)
    if (committee === undefined) return undefined
    const signer = toHex(vote.signer)
    if (!committee.some((k) => toHex(k) === signer)) {
      if (from !== undefined)
        this.#deps.onMisbehaviour?.(from, `checkpoint vote by a non-member of epoch ${vote.epoch}`)
      return undefined
    }
    let votes = this.#votes.get(vote.epoch)
    if (votes?.has(signer)) return undefined
    if (!verifyCheckpointVote(vote)) {
      if (from !== undefined) this.#deps.onMisbehaviour?.(from, 'checkpoint vote with a forged signature')
      return undefined
    }
    if (votes === undefined) {
      if (this.#votes.size >= MAX_EPOCHS_COLLECTING) this.#votes.delete(Math.min(...this.#votes.keys()))
      votes = new Map()
      this.#votes.set(vote.epoch, votes)
    }
    votes.set(signer, vote)
    const id = toHex(computeCheckpointDigest(vote))
    const same = [...votes.values()].filter((v) => toHex(computeCheckpointDigest(v)) === id)
    if (same.length < computeQuorum(committee.length)) return undefined
    const checkpoint = aggregateCheckpoint(same, committee)
    this.save(checkpoint)
    this.#votes.delete(vote.epoch)
    return checkpoint
  }

  /** Stores a checkpoint (one verified with verifyCheckpoint, say fetched from a peer). */
  save(checkpoint: Checkpoint): void {
    this.#deps.storage.transaction(() =>
      this.#deps.storage.table(CHECKPOINT_TABLE).putBytes(checkpoint.epoch, encodeCheckpoint(checkpoint)),
    )
  }

  get(epoch: number): Checkpoint | undefined {
    const bytes = this.#deps.storage.table(CHECKPOINT_TABLE).getBytes(epoch)
    return bytes === undefined ? undefined : decodeCheckpoint(bytes)
  }

  /** The checkpoint of the highest epoch stored. */
  latest(): Checkpoint | undefined {
    let last: Checkpoint | undefined
    for (const [epoch] of this.#deps.storage.table(CHECKPOINT_TABLE).entries())
      last = this.get(epoch as number)
    return last
  }
}
