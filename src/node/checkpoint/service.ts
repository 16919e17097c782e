/**
 * Checkpoints in the node. At each epoch change every node keeps the state snapshot of the
 * epoch-changing block (served to late nodes), and each member of the ending committee BLS-signs the
 * checkpoint and gossips its vote; every node aggregates 2f+1 votes. A checkpoint whose votes this node
 * missed (down at the change, or replaying long after) is fetched from peers a little later and
 * verified, so the chain it serves has no gaps. A node that is behind restores the latest checkpoint
 * its peers can prove (`restore`), at start and when it finds itself more than an epoch behind.
 */
import { Counter, Gauge, type Registry } from 'prom-client'

import { toHex } from '../../lib/bytes.ts'
import { FleekError } from '../../lib/errors.ts'
import type { Application } from '../application/index.ts'
import type { Logger } from '../logger.ts'
import type { Storage } from '../storage/index.ts'
import { fetchLatestCheckpoint, fetchSnapshot } from './catch-up.ts'
import {
  type Checkpoint,
  computeCommitteeDigest,
  encodeCheckpoint,
  encodeCheckpointVote,
  signCheckpoint,
} from './checkpoint.ts'
import { CHECKPOINT_TABLE, CheckpointCollector } from './collector.ts'
import { importSnapshot, writeSnapshot } from './snapshot.ts'
import { SnapshotStore } from './snapshot-store.ts'
import {
  type ChainedCheckpoint,
  SNAPSHOT_CHUNK_BYTES,
  decodeCheckpointSyncRequest,
  encodeCheckpointsAnswer,
  encodeSnapshotChunk,
} from './sync.ts'
import { CHECKPOINT_TOPIC } from './checkpoint.ts'

export interface CheckpointServiceOptions {
  /** Where the state snapshots of the latest epoch changes are kept. */
  snapshotDir: string
  snapshotsKept: number
  /** After an epoch change, how long the votes get before a missing checkpoint is fetched from peers. */
  backfillDelayMs: number
  /** Checkpoints in one answer to a late node. */
  maxChainAnswer: number
}

export const defaultCheckpointServiceOptions: Omit<CheckpointServiceOptions, 'snapshotDir'> = {
  snapshotsKept: 2,
  backfillDelayMs: 5000,
  maxChainAnswer: 64,
}

export interface CheckpointNetwork {
  publish(topic: string, message: Uint8Array): Promise<unknown>
  requestSync(peer: string, request: Uint8Array, signal: AbortSignal): Promise<Uint8Array>
}

export interface CheckpointServiceDeps {
  storage: Storage
  chain: Pick<Application, 'committee' | 'node' | 'nodes' | 'epochInfo' | 'height'>
  network: CheckpointNetwork
  nodeKey: Uint8Array
  consensusKey: { secret: Uint8Array; publicKey: Uint8Array }
  /** A peer sent a checkpoint, chain or snapshot that does not verify. */
  onMisbehaviour(peer: string, reason: string): void
  logger: Logger
  registry?: Registry
}

/** The epoch-changing block, as the checkpoint signs it. */
export interface EndedEpoch {
  epoch: number
  index: number
  height: number
  stateRoot: Uint8Array
  parcel: Uint8Array
}

/** A restored checkpoint and where it came from. */
export interface RestoredCheckpoint {
  epoch: number
  height: number
  /** The peer that served the snapshot (node key, hex). */
  peer: string
  snapshotBytes: number
  /** From asking for checkpoints to the imported state. */
  durationMs: number
}

/** The consensus keys of the committee of `epoch`, in committee order (undefined when unknown). */
export function committeeConsensusKeys(
  chain: Pick<Application, 'committee' | 'node'>,
  epoch: number,
): Uint8Array[] | undefined {
  const members = chain.committee(epoch)?.members
  if (members === undefined) return undefined
  const keys = members.map((m) => chain.node(m)?.consensusKey)
  return keys.every((k) => k !== undefined) ? keys : undefined
}

interface CheckpointMetrics {
  formed: Counter
  restores: Counter<'outcome'>
}

export class CheckpointService {
  readonly #options: CheckpointServiceOptions
  readonly #deps: CheckpointServiceDeps
  readonly #me: string
  readonly #collector: CheckpointCollector
  readonly #snapshots: SnapshotStore
  readonly #metrics: CheckpointMetrics | undefined
  #signal: AbortSignal = new AbortController().signal

  constructor(
    options: Partial<CheckpointServiceOptions> & { snapshotDir: string },
    deps: CheckpointServiceDeps,
  ) {
    this.#options = { ...defaultCheckpointServiceOptions, ...options }
    this.#deps = deps
    this.#me = toHex(deps.nodeKey)
    this.#snapshots = new SnapshotStore({ dir: this.#options.snapshotDir, keep: this.#options.snapshotsKept })
    this.#collector = new CheckpointCollector({
      storage: deps.storage,
      committeeKeys: (epoch) => committeeConsensusKeys(deps.chain, epoch),
      // Called while a gossiped vote is handled: thrown as INVALID_INPUT, it reaches the network, which
      // records the offender (with this reason) and strikes it (forged votes cost a pairing each).
      onMisbehaviour: (_peer, reason) => {
        throw new FleekError('INVALID_INPUT', `checkpoint vote: ${reason}`)
      },
    })
    if (deps.registry !== undefined) this.#metrics = this.#registerMetrics(deps.registry)
  }

  #registerMetrics(registry: Registry): CheckpointMetrics {
    const latest = (): number => this.#collector.latest()?.epoch ?? -1
    new Gauge({
      name: 'fleek_checkpoint_latest_epoch',
      help: 'Epoch of the latest checkpoint this node holds (-1: none).',
      registers: [registry],
      collect() {
        this.set(latest())
      },
    })
    return {
      formed: new Counter({
        name: 'fleek_checkpoint_formed_total',
        help: 'Checkpoints aggregated here from 2f+1 committee votes.',
        registers: [registry],
      }),
      restores: new Counter({
        name: 'fleek_checkpoint_restores_total',
        help: 'Checkpoint restores (a node behind importing a verified snapshot), by outcome.',
        labelNames: ['outcome'],
        registers: [registry],
      }),
    }
  }

  /** Fetches the checkpoint of the last epoch change if this node was away when its votes went round. */
  start(signal: AbortSignal): void {
    this.#signal = signal
    const epoch = this.#deps.chain.epochInfo().epoch
    if (epoch > 0) this.#scheduleBackfill(epoch - 1)
  }

  /** A gossiped checkpoint vote (throws INVALID_INPUT for a bad one: the network strikes its sender). */
  handleVote(message: Uint8Array, from: string): void {
    const checkpoint = this.#collector.handleMessage(message, from)
    if (checkpoint !== undefined) this.#logCheckpoint(checkpoint)
  }

  /** Answers a checkpoint sync request; undefined when `request` is not one. */
  answer(request: Uint8Array): Uint8Array | undefined {
    const wanted = decodeCheckpointSyncRequest(request)
    if (wanted?.kind === 'checkpoints') return encodeCheckpointsAnswer(this.#chainFrom(wanted.fromEpoch))
    if (wanted?.kind === 'snapshot')
      return encodeSnapshotChunk(this.#snapshots.read(wanted.epoch, wanted.offset, SNAPSHOT_CHUNK_BYTES))
    return undefined
  }

  /** The checkpoint of `epoch` this node holds (the latest when no epoch is given). */
  get(epoch?: number): Checkpoint | undefined {
    return epoch === undefined ? this.#collector.latest() : this.#collector.get(epoch)
  }

  /**
   * Right after the block that ended `ended.epoch`: the state snapshot of that block is written to the
   * store (to serve late nodes) off the execution path — the state is fixed now, the file streams
   * after — and then a member of the ended epoch's committee signs the checkpoint (its size and hash
   * included) and gossips its vote.
   */
  onEpochEnded(ended: EndedEpoch): void {
    this.#scheduleBackfill(ended.epoch)
    void writeSnapshot(this.#deps.storage, this.#snapshots, ended.epoch, this.#signal)
      .then(({ sizeBytes, hash }) => this.#vote(ended, sizeBytes, hash))
      .catch((err: unknown) => {
        if (!this.#signal.aborted)
          this.#deps.logger.warn({ err, epoch: ended.epoch }, 'could not write the state snapshot')
      })
  }

  #vote(ended: EndedEpoch, snapshotBytes: number, snapshotHash: Uint8Array): void {
    const { chain } = this.#deps
    if (!(chain.committee(ended.epoch)?.members.some((m) => toHex(m) === this.#me) ?? false)) return
    const next = committeeConsensusKeys(chain, ended.epoch + 1)
    if (next === undefined) return
    const vote = signCheckpoint(this.#deps.consensusKey, {
      ...ended,
      nextCommittee: computeCommitteeDigest(next),
      snapshotBytes,
      snapshotHash,
    })
    const checkpoint = this.#collector.addVote(vote)
    if (checkpoint !== undefined) this.#logCheckpoint(checkpoint)
    void this.#deps.network
      .publish(CHECKPOINT_TOPIC, encodeCheckpointVote(vote))
      .catch((err: unknown) => this.#deps.logger.warn({ err }, 'could not publish a checkpoint vote'))
  }

  /**
   * When a peer proves (a chain of committee-signed checkpoints from this node's epoch) a checkpoint
   * past this node's height, its state snapshot is fetched, verified against the checkpoint's state
   * root and imported in one transaction together with `also` (the caller's writes: the parcel heads)
   * and the chain of checkpoints (served to others in turn). Undefined when no peer is ahead by a
   * checkpoint.
   */
  async restore(
    also: (head: { digest: Uint8Array; epoch: number; index: number }) => void,
    signal: AbortSignal,
  ): Promise<RestoredCheckpoint | undefined> {
    const { chain, storage, logger } = this.#deps
    const startedMs = Date.now()
    const peers = chain
      .nodes()
      .map((n) => toHex(n.publicKey))
      .filter((k) => k !== this.#me)
    const epoch = chain.epochInfo().epoch
    const committee = committeeConsensusKeys(chain, epoch)
    if (peers.length === 0 || committee === undefined) return undefined
    const sync = { request: this.#deps.network.requestSync.bind(this.#deps.network), logger }
    const onBad = this.#deps.onMisbehaviour
    const latest = await fetchLatestCheckpoint(sync, peers, { epoch, committee }, signal, onBad)
    const last = latest?.chain.at(-1)?.checkpoint
    if (latest === undefined || last === undefined || last.height <= chain.height()) return undefined
    logger.info(
      { epoch: last.epoch, height: last.height, localHeight: chain.height() },
      'restoring a checkpoint',
    )
    const head = { digest: last.parcel, epoch: last.epoch, index: last.index }
    let lastErr: unknown
    for (const peer of latest.peers) {
      let bytes: Uint8Array
      try {
        bytes = (await fetchSnapshot(sync, [peer], last, signal, onBad)).bytes
      } catch (err) {
        if (signal.aborted) throw err
        lastErr = err
        continue
      }
      // Blocks may have executed while the snapshot was on its way.
      if (last.height <= chain.height()) return undefined
      try {
        importSnapshot(storage, bytes, last.stateRoot, {
          lastSequence: { epoch: last.epoch, index: last.index },
          also: () => {
            also(head)
            for (const { checkpoint } of latest.chain)
              storage.table(CHECKPOINT_TABLE).putBytes(checkpoint.epoch, encodeCheckpoint(checkpoint))
          },
        })
      } catch (err) {
        if (!(err instanceof FleekError) || (err.code !== 'INTEGRITY' && err.code !== 'INVALID_INPUT'))
          throw err
        onBad(peer, err.message)
        lastErr = err
        continue
      }
      this.#snapshots.save(last.epoch, bytes)
      const restored = {
        epoch: last.epoch,
        height: last.height,
        peer,
        snapshotBytes: bytes.length,
        durationMs: Date.now() - startedMs,
      }
      logger.info(restored, 'restored the state of a checkpoint')
      this.#metrics?.restores.inc({ outcome: 'restored' })
      return restored
    }
    this.#metrics?.restores.inc({ outcome: 'failed' })
    throw lastErr ?? new FleekError('UNAVAILABLE', 'no peer served a valid snapshot')
  }

  /**
   * A checkpoint whose votes this node missed is fetched from peers a little later, verified against
   * the committee that signed it, and stored.
   */
  #scheduleBackfill(epoch: number): void {
    const timer = setTimeout(() => {
      if (this.#signal.aborted || this.#collector.get(epoch) !== undefined) return
      const { chain, logger } = this.#deps
      const committee = committeeConsensusKeys(chain, epoch)
      if (committee === undefined) return
      const peers = [
        ...new Set([
          ...(chain.committee(epoch)?.members ?? []).map(toHex),
          ...chain.epochInfo().committee.map(toHex),
        ]),
      ].filter((k) => k !== this.#me)
      const sync = { request: this.#deps.network.requestSync.bind(this.#deps.network), logger }
      void fetchLatestCheckpoint(sync, peers, { epoch, committee }, this.#signal, this.#deps.onMisbehaviour)
        .then((latest) => {
          for (const { checkpoint } of latest?.chain ?? [])
            if (this.#collector.get(checkpoint.epoch) === undefined) this.#collector.save(checkpoint)
          if (latest !== undefined) logger.debug({ epoch }, 'missed checkpoint fetched')
        })
        .catch((err: unknown) =>
          logger.debug({ epoch, err: (err as Error).message }, 'checkpoint backfill failed'),
        )
    }, this.#options.backfillDelayMs)
    timer.unref()
  }

  /** The stored checkpoints from `fromEpoch` on, each with the next committee's consensus keys. */
  #chainFrom(fromEpoch: number): ChainedCheckpoint[] {
    const chain: ChainedCheckpoint[] = []
    for (let epoch = fromEpoch; chain.length < this.#options.maxChainAnswer; epoch++) {
      const checkpoint = this.#collector.get(epoch)
      const nextCommittee = committeeConsensusKeys(this.#deps.chain, epoch + 1)
      if (checkpoint === undefined || nextCommittee === undefined) break
      chain.push({ checkpoint, nextCommittee })
    }
    return chain
  }

  #logCheckpoint(checkpoint: Checkpoint): void {
    this.#metrics?.formed.inc()
    this.#deps.logger.info(
      { epoch: checkpoint.epoch, height: checkpoint.height, stateRoot: toHex(checkpoint.stateRoot) },
      'checkpoint',
    )
  }
}
