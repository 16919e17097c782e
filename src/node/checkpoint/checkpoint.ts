/**
 * Epoch checkpoints (DESIGN §3.3, §4): when a block changes the epoch, each member of the committee
 * of the epoch that ended signs {epoch, height, stateRoot, parcel, index, nextCommittee} with its BLS
 * consensus key; 2f+1 of these aggregate into one Checkpoint that anyone knowing that committee's
 * consensus keys checks with one pairing (about 13 ms). A late node restores the state snapshot of
 * `stateRoot` and follows the parcels after `parcel`.
 *
 * Additions to {epoch, height, stateRoot}: `parcel` and `index` (the epoch-changing block's parcel
 * digest and sub-DAG index) let the late node link the next parcels without trusting whoever sent the
 * snapshot; `nextCommittee` (the digest of the next committee's consensus keys) chains checkpoints, so
 * that a node that knows only an old committee verifies each later one in turn (a light client's walk);
 * `snapshotBytes` and `snapshotHash` pin the exact snapshot bytes, so a peer can neither announce a
 * false size nor send a re-encoding that hashes to the same state root.
 */
import * as dagCbor from '@ipld/dag-cbor'

import { deriveKey } from '../../lib/b3/index.ts'
import { toHex } from '../../lib/bytes.ts'
import { FleekError } from '../../lib/errors.ts'
import { checkFields, decodeDagCborMap, readBytes, readUint } from '../../lib/strict-cbor.ts'
import {
  aggregatePublicKeys,
  aggregateSignatures,
  signConsensus,
  verifyConsensus,
} from '../../lib/keys/index.ts'
import { computeQuorum } from '../application/index.ts'

export const CHECKPOINT_CONTEXT = 'fleek-network checkpoint v1'
export const COMMITTEE_CONTEXT = 'fleek-network committee v1'
/** The gossip topic of checkpoint votes. */
export const CHECKPOINT_TOPIC = 'fleek/checkpoints/1'

/** What the committee signs. */
export interface CheckpointMessage {
  /** The epoch that ended (its committee signs). */
  epoch: number
  /** Height of the block that changed the epoch. */
  height: number
  /** State root after that block. */
  stateRoot: Uint8Array
  /** Digest of that block's parcel. */
  parcel: Uint8Array
  /** That block's sub-DAG index in `epoch`. */
  index: number
  /** computeCommitteeDigest of the next epoch's committee (consensus keys, committee order). */
  nextCommittee: Uint8Array
  /** Size of the state snapshot at that block (exportSnapshot's bytes: deterministic). */
  snapshotBytes: number
  /** BLAKE3 of those bytes: a late node checks what a peer sends before decoding any of it. */
  snapshotHash: Uint8Array
}

/** One member's signature of a checkpoint message. */
export interface CheckpointVote extends CheckpointMessage {
  /** The member's consensus public key (48 B). */
  signer: Uint8Array
  /** BLS signature (96 B) of checkpointSigningBytes(message). */
  signature: Uint8Array
}

export interface Checkpoint extends CheckpointMessage {
  /** Bit i (byte i >> 3, bit i & 7) set: committee member i signed. ceil(n/8) bytes, unused bits zero. */
  signers: Uint8Array
  /** Aggregate BLS signature (96 B) of the signers. */
  signature: Uint8Array
}

/** The digest that names a committee: deriveKey(COMMITTEE_CONTEXT, its consensus keys concatenated in order). */
export function computeCommitteeDigest(consensusKeys: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(consensusKeys.reduce((a, k) => a + k.length, 0))
  let at = 0
  for (const k of consensusKeys) {
    all.set(k, at)
    at += k.length
  }
  return deriveKey(COMMITTEE_CONTEXT, all)
}

/** The bytes BLS signs: deriveKey(CHECKPOINT_CONTEXT, dagcbor(message)). */
export function computeCheckpointDigest(message: CheckpointMessage): Uint8Array {
  return deriveKey(CHECKPOINT_CONTEXT, dagCbor.encode(messageValue(message)))
}

export function signCheckpoint(
  key: { secret: Uint8Array; publicKey: Uint8Array },
  message: CheckpointMessage,
): CheckpointVote {
  const signature = signConsensus({ kind: 'consensus', secret: key.secret }, computeCheckpointDigest(message))
  return { ...messageValue(message), signer: new Uint8Array(key.publicKey), signature }
}

/** True when the vote's signature is its signer's (membership is the caller's check). 13 ms. */
export function verifyCheckpointVote(vote: CheckpointVote): boolean {
  return verifyConsensus(vote.signer, computeCheckpointDigest(vote), vote.signature)
}

/**
 * Aggregates the votes for one message into a Checkpoint. `committee` is the consensus public keys
 * of the epoch's committee, in committee order. Votes of non-members, repeated signers and other
 * messages are ignored; when the aggregate does not verify, each vote is checked and the bad ones
 * dropped. REJECTED when fewer than 2f+1 members signed one message validly.
 */
export function aggregateCheckpoint(
  votes: readonly CheckpointVote[],
  committee: readonly Uint8Array[],
): Checkpoint {
  const quorum = computeQuorum(committee.length)
  const position = new Map(committee.map((k, i) => [toHex(k), i]))
  // Group by message; a member counts once per message.
  const groups = new Map<string, { message: CheckpointMessage; votes: Map<number, CheckpointVote> }>()
  for (const v of votes) {
    const i = position.get(toHex(v.signer))
    if (i === undefined) continue
    const id = toHex(computeCheckpointDigest(v))
    let g = groups.get(id)
    if (g === undefined) groups.set(id, (g = { message: messageValue(v), votes: new Map() }))
    if (!g.votes.has(i)) g.votes.set(i, v)
  }
  for (const g of [...groups.values()].sort((a, b) => b.votes.size - a.votes.size)) {
    if (g.votes.size < quorum) break
    let chosen = [...g.votes.entries()].sort((a, b) => a[0] - b[0])
    let checkpoint = build(g.message, chosen, committee.length)
    if (!isValidAggregate(checkpoint, committee)) {
      chosen = chosen.filter(([, v]) => verifyCheckpointVote(v))
      if (chosen.length < quorum) continue
      checkpoint = build(g.message, chosen, committee.length)
    }
    return checkpoint
  }
  throw new FleekError(
    'REJECTED',
    `fewer than ${quorum} of ${committee.length} committee members signed one checkpoint of epoch ${votes[0]?.epoch ?? '?'}`,
  )
}

/**
 * Checks a checkpoint against the consensus public keys of its epoch's committee (in committee
 * order): a well-formed signer bitmap naming at least 2f+1 members, and their aggregate signature of
 * the message. INVALID_INPUT for a malformed bitmap, REJECTED for too few signers, INTEGRITY for a
 * signature that does not verify.
 */
export function verifyCheckpoint(checkpoint: Checkpoint, committee: readonly Uint8Array[]): void {
  const signers = readSigners(checkpoint.signers, committee.length)
  const quorum = computeQuorum(committee.length)
  if (signers.length < quorum)
    throw new FleekError(
      'REJECTED',
      `the checkpoint of epoch ${checkpoint.epoch} has ${signers.length} signers; ${quorum} of ${committee.length} are needed`,
    )
  if (!isValidAggregate(checkpoint, committee))
    throw new FleekError(
      'INTEGRITY',
      `the aggregate signature of the checkpoint of epoch ${checkpoint.epoch} does not verify`,
    )
}

// ---- encoding ----

/** The fields of the signed message, on the wire beside a checkpoint's or a vote's own. */
const MESSAGE_FIELDS = [
  'epoch',
  'height',
  'index',
  'nextCommittee',
  'parcel',
  'snapshotBytes',
  'snapshotHash',
  'stateRoot',
] as const

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  return dagCbor.encode({
    ...messageValue(checkpoint),
    signers: checkpoint.signers,
    signature: checkpoint.signature,
  })
}

export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const value = decodeDagCborMap(bytes, 'checkpoint')
  checkFields(value, [...MESSAGE_FIELDS, 'signature', 'signers'], 'checkpoint')
  return {
    ...readMessage(value, 'checkpoint'),
    signers: readBytes(value.signers, undefined, 'checkpoint', 'signers'),
    signature: readBytes(value.signature, 96, 'checkpoint', 'signature'),
  }
}

export function encodeCheckpointVote(vote: CheckpointVote): Uint8Array {
  return dagCbor.encode({ ...messageValue(vote), signer: vote.signer, signature: vote.signature })
}

export function decodeCheckpointVote(bytes: Uint8Array): CheckpointVote {
  const value = decodeDagCborMap(bytes, 'checkpoint vote')
  checkFields(value, [...MESSAGE_FIELDS, 'signature', 'signer'], 'checkpoint vote')
  return {
    ...readMessage(value, 'checkpoint vote'),
    signer: readBytes(value.signer, 48, 'checkpoint vote', 'signer'),
    signature: readBytes(value.signature, 96, 'checkpoint vote', 'signature'),
  }
}

// ---- internals ----

function build(
  message: CheckpointMessage,
  chosen: Array<[number, CheckpointVote]>,
  size: number,
): Checkpoint {
  const signers = new Uint8Array(Math.ceil(size / 8))
  for (const [i] of chosen) signers[i >> 3] |= 1 << (i & 7)
  return {
    ...messageValue(message),
    signers,
    signature: aggregateSignatures(chosen.map(([, v]) => v.signature)),
  }
}

function isValidAggregate(checkpoint: Checkpoint, committee: readonly Uint8Array[]): boolean {
  const keys = readSigners(checkpoint.signers, committee.length).map((i) => committee[i])
  if (keys.length === 0) return false
  let aggregate: Uint8Array
  try {
    aggregate = aggregatePublicKeys(keys)
  } catch {
    return false
  }
  return verifyConsensus(aggregate, computeCheckpointDigest(checkpoint), checkpoint.signature)
}

/** The member indices of a signer bitmap; INVALID_INPUT when its length or unused bits are wrong. */
function readSigners(bitmap: Uint8Array, size: number): number[] {
  if (bitmap.length !== Math.ceil(size / 8))
    throw new FleekError(
      'INVALID_INPUT',
      `the signer bitmap has ${bitmap.length} bytes; ${Math.ceil(size / 8)} expected`,
    )
  const out: number[] = []
  for (let i = 0; i < bitmap.length * 8; i++) {
    if ((bitmap[i >> 3] & (1 << (i & 7))) === 0) continue
    if (i >= size)
      throw new FleekError('INVALID_INPUT', 'the signer bitmap names a member beyond the committee')
    out.push(i)
  }
  return out
}

function messageValue(m: CheckpointMessage): CheckpointMessage {
  return {
    epoch: m.epoch,
    height: m.height,
    stateRoot: m.stateRoot,
    parcel: m.parcel,
    index: m.index,
    nextCommittee: m.nextCommittee,
    snapshotBytes: m.snapshotBytes,
    snapshotHash: m.snapshotHash,
  }
}

function readMessage(value: Record<string, unknown>, what: string): CheckpointMessage {
  return {
    epoch: readUint(value.epoch, what, 'epoch'),
    height: readUint(value.height, what, 'height'),
    stateRoot: readBytes(value.stateRoot, 32, what, 'stateRoot'),
    parcel: readBytes(value.parcel, 32, what, 'parcel'),
    index: readUint(value.index, what, 'index'),
    nextCommittee: readBytes(value.nextCommittee, 32, what, 'nextCommittee'),
    snapshotBytes: readUint(value.snapshotBytes, what, 'snapshotBytes'),
    snapshotHash: readBytes(value.snapshotHash, 32, what, 'snapshotHash'),
  }
}
