// Checkpoints: 2f+1 BLS signatures of the committee aggregate into one that verifies; too few signers,
// a bad aggregate, a tampered message or a malformed bitmap are refused.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import { isFleekError } from '../../../../src/lib/errors.ts'
import { derivePublicKey } from '../../../../src/lib/keys/index.ts'
import {
  type Checkpoint,
  type CheckpointMessage,
  aggregateCheckpoint,
  decodeCheckpoint,
  decodeCheckpointVote,
  encodeCheckpoint,
  encodeCheckpointVote,
  signCheckpoint,
  verifyCheckpoint,
  verifyCheckpointVote,
  CheckpointCollector,
} from '../../../../src/node/checkpoint/index.ts'
import { MemoryStorage } from '../../../../src/node/storage/index.ts'

/** Member i's consensus secret is [i+1, i+1, …] (a valid BLS12-381 scalar). */
const keys = Array.from({ length: 5 }, (_, i) => {
  const secret = new Uint8Array(32).fill(i + 1)
  return { secret, publicKey: derivePublicKey({ kind: 'consensus', secret }) }
})
const committee = keys.slice(0, 4).map((k) => k.publicKey)
const message: CheckpointMessage = {
  epoch: 3,
  height: 120,
  stateRoot: new Uint8Array(32).fill(7),
  parcel: new Uint8Array(32).fill(9),
  index: 41,
  nextCommittee: new Uint8Array(32).fill(5),
  snapshotBytes: 1234,
  snapshotHash: new Uint8Array(32).fill(3),
}
const votes = keys.slice(0, 4).map((k) => signCheckpoint(k, message))
const code = (c: string) => (e: unknown) => isFleekError(e, c as 'INTEGRITY')

describe('checkpoints', () => {
  test('3 of 4 signatures aggregate into a checkpoint that verifies and round-trips', () => {
    const cp = aggregateCheckpoint([votes[3], votes[1], votes[0]], committee)
    assert.deepEqual([...cp.signers], [0b1011])
    verifyCheckpoint(cp, committee)
    const decoded = decodeCheckpoint(encodeCheckpoint(cp))
    assert.deepEqual(decoded, cp)
    verifyCheckpoint(decoded, committee)
    const vote = decodeCheckpointVote(encodeCheckpointVote(votes[2]))
    assert.ok(verifyCheckpointVote(vote))
  })

  test('too few signers are refused, when aggregating and when verifying', () => {
    assert.throws(() => aggregateCheckpoint([votes[0], votes[1], votes[1]], committee), code('REJECTED'))
    const two = aggregateCheckpoint(votes.slice(0, 2), committee.slice(0, 2)) // a valid aggregate of 2
    const claimed: Checkpoint = { ...two, signers: Uint8Array.of(0b0011) }
    assert.throws(() => verifyCheckpoint(claimed, committee), code('REJECTED'))
    // The bitmap claims a third signer whose signature is not in the aggregate.
    assert.throws(
      () => verifyCheckpoint({ ...two, signers: Uint8Array.of(0b0111) }, committee),
      code('INTEGRITY'),
    )
  })

  test('a bad aggregate signature, a changed message or another committee order is refused', () => {
    const cp = aggregateCheckpoint(votes, committee)
    const sig = new Uint8Array(cp.signature)
    sig[50] ^= 1
    assert.throws(() => verifyCheckpoint({ ...cp, signature: sig }, committee), code('INTEGRITY'))
    const otherRoot = new Uint8Array(cp.stateRoot)
    otherRoot[0] ^= 1
    assert.throws(() => verifyCheckpoint({ ...cp, stateRoot: otherRoot }, committee), code('INTEGRITY'))
    assert.throws(() => verifyCheckpoint({ ...cp, height: cp.height + 1 }, committee), code('INTEGRITY'))
    const partial = aggregateCheckpoint(votes.slice(1), committee)
    assert.throws(() => verifyCheckpoint(partial, [...committee].reverse()), code('INTEGRITY'))
  })

  test('malformed signer bitmaps are INVALID_INPUT', () => {
    const cp = aggregateCheckpoint(votes, committee)
    assert.throws(
      () => verifyCheckpoint({ ...cp, signers: Uint8Array.of(0b1111, 0) }, committee),
      code('INVALID_INPUT'),
    )
    assert.throws(
      () => verifyCheckpoint({ ...cp, signers: Uint8Array.of(0b11111) }, committee),
      code('INVALID_INPUT'),
    )
  })

  test('bad votes (forged, of another message, of a non-member) do not spoil the aggregate', () => {
    const forged = { ...votes[2], signature: votes[3].signature }
    const otherMessage = signCheckpoint(keys[3], { ...message, height: 121 })
    const outsider = signCheckpoint(keys[4], message)
    const cp = aggregateCheckpoint([votes[0], forged, otherMessage, outsider, votes[1], votes[3]], committee)
    assert.deepEqual([...cp.signers], [0b1011])
    verifyCheckpoint(cp, committee)
    assert.equal(verifyCheckpointVote(forged), false)
    // Only two good votes for the message: refused.
    assert.throws(
      () => aggregateCheckpoint([votes[0], forged, otherMessage, votes[1]], committee),
      code('REJECTED'),
    )
  })

  test('the collector checks each vote, reports forgeries and aggregates at the quorum', () => {
    const misbehaviour: string[] = []
    const storage = new MemoryStorage()
    const collector = new CheckpointCollector({
      storage,
      committeeKeys: (epoch) => (epoch === 3 ? committee : undefined),
      onMisbehaviour: (peer, reason) => misbehaviour.push(`${peer}: ${reason}`),
    })
    assert.equal(collector.handleMessage(Uint8Array.of(7), 'p1'), undefined)
    assert.equal(
      collector.handleMessage(encodeCheckpointVote({ ...votes[1], signature: votes[2].signature }), 'p2'),
      undefined,
    )
    assert.equal(
      collector.handleMessage(encodeCheckpointVote(signCheckpoint(keys[4], message)), 'p3'),
      undefined,
    )
    assert.equal(collector.addVote(votes[0]), undefined)
    assert.equal(collector.handleMessage(encodeCheckpointVote(votes[0]), 'p4'), undefined) // a repeat
    assert.equal(collector.handleMessage(encodeCheckpointVote(votes[2]), 'p5'), undefined)
    assert.equal(misbehaviour.length, 3)
    assert.deepEqual(
      misbehaviour.map((m) => m.split(':')[0]),
      ['p1', 'p2', 'p3'],
    )
    const cp = collector.handleMessage(encodeCheckpointVote(votes[3]), 'p6')
    assert.ok(cp)
    verifyCheckpoint(cp, committee)
    assert.deepEqual([...cp.signers], [0b1101])
    assert.equal(collector.handleMessage(encodeCheckpointVote(votes[1]), 'p7'), undefined)
    // Stored: a new collector on the same storage has it.
    const again = new CheckpointCollector({ storage, committeeKeys: () => committee })
    assert.deepEqual(again.latest(), cp)
    assert.deepEqual(again.get(3), cp)
    assert.equal(again.get(2), undefined)
  })
})
