/**
 * Checkpoint sync (on `/fleek/sync/1.0.0`, beside parcel requests): how a node that starts behind
 * the network restores the latest checkpointed state instead of replaying every parcel.
 *
 *   {checkpoints: E}          → {checkpoints: [{checkpoint, nextCommittee: [key…]}…]}  epochs E, E+1, …
 *   {snapshot: E, offset: n}  → {total, bytes}  (at most SNAPSHOT_CHUNK_BYTES of epoch E's snapshot)
 *
 * The late node knows the committee of its own epoch e. It walks the chain: checkpoint e verifies
 * against that committee and names the next committee by digest; the list sent beside it must hash to
 * that digest; checkpoint e+1 verifies against it; and so on. Nothing a peer sends is trusted before
 * it verifies; the snapshot is checked against the last checkpoint's state root on import.
 */
import * as dagCbor from '@ipld/dag-cbor'

import { equalBytes, toHex } from '../../lib/bytes.ts'
import { FleekError } from '../../lib/errors.ts'
import { decodeDagCborMap, readUint } from '../../lib/strict-cbor.ts'
import {
  type Checkpoint,
  computeCheckpointDigest,
  computeCommitteeDigest,
  decodeCheckpoint,
  encodeCheckpoint,
  verifyCheckpoint,
} from './checkpoint.ts'

/** Snapshot bytes per sync answer (answers are capped at 4 MiB). */
export const SNAPSHOT_CHUNK_BYTES = 1 << 20
/** Checkpoints per answer. */
export const MAX_CHECKPOINTS_PER_ANSWER = 64
/** A snapshot larger than this is refused (memory bound of the late node). */
export const MAX_SNAPSHOT_BYTES = 1 << 30
const MAX_COMMITTEE = 1024

export type CheckpointSyncRequest =
  { kind: 'checkpoints'; fromEpoch: number } | { kind: 'snapshot'; epoch: number; offset: number }

/** A checkpoint with the consensus keys of the committee it names next. */
export interface ChainedCheckpoint {
  checkpoint: Checkpoint
  nextCommittee: Uint8Array[]
}

export function encodeCheckpointSyncRequest(request: CheckpointSyncRequest): Uint8Array {
  return request.kind === 'checkpoints'
    ? dagCbor.encode({ checkpoints: request.fromEpoch })
    : dagCbor.encode({ snapshot: request.epoch, offset: request.offset })
}

/** The request, or undefined when the bytes are some other sync request (a parcel's). INVALID_INPUT when malformed. */
export function decodeCheckpointSyncRequest(bytes: Uint8Array): CheckpointSyncRequest | undefined {
  const v = decodeDagCborMap(bytes, 'sync request', { canonical: false })
  const keys = Object.keys(v).sort().join(',')
  if (keys === 'checkpoints')
    return { kind: 'checkpoints', fromEpoch: readUint(v.checkpoints, 'sync request', 'checkpoints') }
  if (keys === 'offset,snapshot')
    return {
      kind: 'snapshot',
      epoch: readUint(v.snapshot, 'sync request', 'snapshot'),
      offset: readUint(v.offset, 'sync request', 'offset'),
    }
  return undefined
}

export function encodeCheckpointsAnswer(chain: readonly ChainedCheckpoint[]): Uint8Array {
  return dagCbor.encode({
    checkpoints: chain.map((c) => ({
      checkpoint: encodeCheckpoint(c.checkpoint),
      nextCommittee: c.nextCommittee,
    })),
  })
}

export function decodeCheckpointsAnswer(bytes: Uint8Array): ChainedCheckpoint[] {
  const value = decodeDagCborMap(bytes, 'checkpoints answer', { canonical: false })
  const list = value.checkpoints
  if (!Array.isArray(list) || list.length > MAX_CHECKPOINTS_PER_ANSWER)
    throw new FleekError('INVALID_INPUT', 'the checkpoints answer must hold a list of at most 64')
  return list.map((item: unknown) => {
    if (typeof item !== 'object' || item === null)
      throw new FleekError('INVALID_INPUT', 'a checkpoints answer entry is not a map')
    const { checkpoint, nextCommittee } = item as Record<string, unknown>
    if (!(checkpoint instanceof Uint8Array))
      throw new FleekError('INVALID_INPUT', 'a checkpoints answer entry has no checkpoint bytes')
    if (
      !Array.isArray(nextCommittee) ||
      nextCommittee.length === 0 ||
      nextCommittee.length > MAX_COMMITTEE ||
      !nextCommittee.every((k) => k instanceof Uint8Array && k.length === 48)
    )
      throw new FleekError('INVALID_INPUT', 'a checkpoints answer entry has a malformed next committee')
    return { checkpoint: decodeCheckpoint(checkpoint), nextCommittee: nextCommittee as Uint8Array[] }
  })
}

export function encodeSnapshotChunk(chunk: { total: number; bytes: Uint8Array }): Uint8Array {
  return dagCbor.encode({ total: chunk.total, bytes: chunk.bytes })
}

export function decodeSnapshotChunk(bytes: Uint8Array): { total: number; bytes: Uint8Array } {
  const value = decodeDagCborMap(bytes, 'snapshot chunk', { canonical: false })
  if (!(value.bytes instanceof Uint8Array) || value.bytes.length > SNAPSHOT_CHUNK_BYTES)
    throw new FleekError('INVALID_INPUT', 'the snapshot chunk has no bytes, or too many')
  return { total: readUint(value.total, 'snapshot chunk', 'total'), bytes: value.bytes }
}

/**
 * Verifies a chain of checkpoints that starts at the epoch whose committee is `committee` (consensus
 * keys in committee order) and returns the verified prefix: each checkpoint must be of the next epoch,
 * carry 2f+1 valid signatures of the committee known so far, and name (by digest) the committee list
 * sent beside it. The first bad link ends the walk (`error` says why); what verified before it stands.
 */
export function verifyCheckpointChain(
  chain: readonly ChainedCheckpoint[],
  start: { epoch: number; committee: readonly Uint8Array[] },
  /** Links verified before (by another peer's identical answer): skipped, a pairing saved each. */
  cache?: Set<string>,
): { verified: ChainedCheckpoint[]; error?: FleekError } {
  const verified: ChainedCheckpoint[] = []
  let committee = start.committee
  let epoch = start.epoch
  for (const link of chain) {
    try {
      if (link.checkpoint.epoch !== epoch)
        throw new FleekError(
          'INVALID_INPUT',
          `checkpoint of epoch ${link.checkpoint.epoch} where ${epoch} was due`,
        )
      const key = cache && linkKey(link, committee)
      if (key === undefined || !cache!.has(key)) {
        verifyCheckpoint(link.checkpoint, committee)
        if (key !== undefined) cache!.add(key)
      }
      const digest = computeCommitteeDigest(link.nextCommittee)
      if (!equalBytes(digest, link.checkpoint.nextCommittee))
        throw new FleekError(
          'INTEGRITY',
          `the next committee sent with checkpoint ${epoch} is not the one it names`,
        )
    } catch (err) {
      return {
        verified,
        error: err instanceof FleekError ? err : new FleekError('INVALID_INPUT', String(err)),
      }
    }
    verified.push(link)
    committee = link.nextCommittee
    epoch++
  }
  return { verified }
}

function linkKey(link: ChainedCheckpoint, committee: readonly Uint8Array[]): string {
  const c = link.checkpoint
  return [computeCommitteeDigest(committee), computeCheckpointDigest(c), c.signers, c.signature]
    .map(toHex)
    .join(':')
}
