import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'

import { type FleekError, isFleekError } from '../../../../src/lib/errors.ts'
import {
  computeBatchDigest,
  computeHeaderDigest,
  createCommitteeContext,
  decodeConsensusMessage,
  decodeConsensusRequest,
  decodeConsensusResponse,
  encodeConsensusMessage,
  encodeConsensusRequest,
  encodeConsensusResponse,
  signHeader,
  signVote,
  verifyCertificate,
  verifyHeader,
  verifyVote,
  type Certificate,
  type Header,
} from '../../../../src/node/consensus/messages.ts'
import { makeCommittee, makeMembers } from './fixtures.ts'

const members = makeMembers(4)
const ctx = createCommitteeContext(makeCommittee(members, 7))

function makeHeader(author: number, round: number, parents: Uint8Array[] = [], timestampMs = 1000): Header {
  const batch = { transactions: [Uint8Array.of(author, round)] }
  return signHeader(members[author].secretKey, {
    author,
    round,
    epoch: 7,
    batches: [computeBatchDigest(batch)],
    parents,
    timestampMs,
  })
}

function certify(header: Header, voters: number[]): Certificate {
  const digest = computeHeaderDigest(header)
  const votes = voters.map((v) => {
    const vote = signVote(members[v].secretKey, header, digest, v)
    return { voter: v, signature: vote.signature }
  })
  return { header, votes }
}

const invalid = (err: unknown): boolean => isFleekError(err, 'INVALID_INPUT')

describe('consensus messages', () => {
  it('round-trips every message kind and verifies signatures', () => {
    const header = makeHeader(1, 1)
    const decoded = decodeConsensusMessage(ctx, encodeConsensusMessage({ type: 'header', header }))
    assert.deepEqual(decoded, { type: 'header', header })
    assert.deepEqual(verifyHeader(ctx, header), computeHeaderDigest(header))

    const vote = signVote(members[2].secretKey, header, computeHeaderDigest(header), 2)
    const v = decodeConsensusMessage(ctx, encodeConsensusMessage({ type: 'vote', vote }))
    assert.deepEqual(v, { type: 'vote', vote })
    verifyVote(ctx, vote)

    const certificate = certify(header, [0, 1, 2])
    const c = decodeConsensusMessage(ctx, encodeConsensusMessage({ type: 'certificate', certificate }))
    assert.deepEqual(c, { type: 'certificate', certificate })
    assert.deepEqual(verifyCertificate(ctx, certificate), computeHeaderDigest(header))

    const batch = { transactions: [Uint8Array.of(1, 2, 3)] }
    assert.deepEqual(decodeConsensusMessage(ctx, encodeConsensusMessage({ type: 'batch', batch })), {
      type: 'batch',
      batch,
    })
    const request = { type: 'get-batches' as const, digests: [computeBatchDigest(batch)] }
    assert.deepEqual(decodeConsensusRequest(encodeConsensusRequest(request)), request)
    const response = { type: 'certificates' as const, certificates: [certificate] }
    assert.deepEqual(decodeConsensusResponse(ctx, encodeConsensusResponse(response)), response)
  })

  it('digests are domain-separated and depend on every header field', () => {
    const header = makeHeader(0, 1)
    const base = computeHeaderDigest(header)
    for (const change of [
      { author: 1 },
      { round: 2 },
      { epoch: 8 },
      { timestampMs: 1001 },
      { batches: [] },
    ]) {
      assert.notDeepEqual(computeHeaderDigest({ ...header, ...change }), base)
    }
    assert.notDeepEqual(computeBatchDigest({ transactions: [] }), computeHeaderDigest(header))
  })

  it('rejects a bad header signature', () => {
    const header = makeHeader(1, 1)
    const forged = { ...header, signature: makeHeader(2, 1).signature }
    assert.throws(() => verifyHeader(ctx, forged), invalid)
    const tampered = { ...header, timestampMs: 1001 }
    assert.throws(() => verifyHeader(ctx, tampered), invalid)
  })

  it('rejects a vote signed by someone other than the voter', () => {
    const header = makeHeader(1, 1)
    const vote = signVote(members[2].secretKey, header, computeHeaderDigest(header), 3)
    assert.throws(() => verifyVote(ctx, vote), invalid)
  })

  it('rejects non-members, wrong epochs and out-of-bounds rounds', () => {
    const header = makeHeader(1, 1)
    const wire = (h: unknown): Uint8Array => dagCbor.encode({ type: 'header', header: h })
    assert.throws(() => decodeConsensusMessage(ctx, wire({ ...header, author: 4 })), invalid)
    assert.throws(() => decodeConsensusMessage(ctx, wire({ ...header, epoch: 6 })), invalid)
    // Another epoch's header, sized for its larger committee, is refused as of that epoch (which the node
    // treats as routine around an epoch change), not as malformed.
    const wide = {
      ...header,
      epoch: 8,
      round: 2,
      parents: Array.from({ length: 6 }, () => new Uint8Array(32)),
    }
    assert.throws(
      () => decodeConsensusMessage(ctx, wire(wide)),
      (err: unknown) => invalid(err) && (err as FleekError).details?.messageEpoch === 8,
    )
    const certificate = {
      header: wide,
      votes: Array.from({ length: 6 }, (_, voter) => ({ voter, signature: new Uint8Array(64) })),
    }
    assert.throws(
      () => decodeConsensusMessage(ctx, dagCbor.encode({ type: 'certificate', certificate })),
      (err: unknown) => invalid(err) && (err as FleekError).details?.messageEpoch === 8,
    )
    assert.throws(() => decodeConsensusMessage(ctx, wire({ ...header, round: 0 })), invalid)
    assert.throws(() => decodeConsensusMessage(ctx, wire({ ...header, round: -1 })), invalid)
    assert.throws(() => decodeConsensusMessage(ctx, wire({ ...header, round: 1.5 })), invalid)
    // A stranger's key is not in the committee: its signature never verifies for any member index.
    const [stranger] = makeMembers(5).slice(4)
    const byStranger = signHeader(stranger.secretKey, { ...header, author: 0 })
    assert.throws(() => verifyHeader(ctx, byStranger), invalid)
  })

  it('checks parents: none in round 1, a quorum without repeats after', () => {
    const parents = [0, 1, 2].map((a) => computeHeaderDigest(makeHeader(a, 1)))
    assert.throws(() => verifyHeader(ctx, makeHeader(0, 1, parents)), invalid)
    assert.throws(() => verifyHeader(ctx, makeHeader(0, 2, parents.slice(0, 2))), invalid)
    assert.throws(() => verifyHeader(ctx, makeHeader(0, 2, [parents[0], parents[0], parents[1]])), invalid)
    verifyHeader(ctx, makeHeader(0, 2, parents))
  })

  it('rejects a certificate without quorum, with a repeated voter, or with a bad vote', () => {
    const header = makeHeader(1, 1)
    const wire = (c: Certificate): Uint8Array =>
      encodeConsensusMessage({ type: 'certificate', certificate: c })
    assert.throws(() => decodeConsensusMessage(ctx, wire(certify(header, [0, 1]))), invalid)
    const twice = certify(header, [0, 1, 1])
    assert.throws(() => decodeConsensusMessage(ctx, wire(twice)), invalid)
    const bad = certify(header, [0, 1, 2])
    bad.votes[2] = { voter: 2, signature: bad.votes[1].signature }
    assert.throws(() => verifyCertificate(ctx, bad), invalid)
    // Votes for a different header do not certify this one.
    const other = certify(makeHeader(1, 1, [], 2000), [0, 1, 2])
    assert.throws(() => verifyCertificate(ctx, { header, votes: other.votes }), invalid)
  })

  it('rejects extra fields and wrong types', () => {
    const header = makeHeader(1, 1)
    assert.throws(
      () => decodeConsensusMessage(ctx, dagCbor.encode({ type: 'header', header, extra: 1 })),
      invalid,
    )
    assert.throws(
      () => decodeConsensusMessage(ctx, dagCbor.encode({ type: 'header', header: { ...header, x: 1 } })),
      invalid,
    )
    assert.throws(
      () =>
        decodeConsensusMessage(ctx, dagCbor.encode({ type: 'header', header: { ...header, batches: 'x' } })),
      invalid,
    )
    assert.throws(() => decodeConsensusMessage(ctx, dagCbor.encode({ type: 'nope' })), invalid)
    assert.throws(() => decodeConsensusMessage(ctx, dagCbor.encode([1, 2])), invalid)
    assert.throws(
      () => decodeConsensusRequest(dagCbor.encode({ type: 'get-batches', digests: [Uint8Array.of(1)] })),
      invalid,
    )
  })

  it('property: arbitrary bytes and one-byte tampering give INVALID_INPUT, never a crash', () => {
    const header = makeHeader(
      1,
      2,
      [0, 1, 2].map((a) => computeHeaderDigest(makeHeader(a, 1))),
    )
    const certificate = certify(header, [0, 1, 3])
    const wire = encodeConsensusMessage({ type: 'certificate', certificate })
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeConsensusMessage(ctx, bytes)
        } catch (err) {
          assert.ok(invalid(err), String(err))
        }
      }),
      { seed: 7, numRuns: 500 },
    )
    fc.assert(
      fc.property(fc.nat({ max: wire.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, flip) => {
        const tampered = Uint8Array.from(wire)
        tampered[at] ^= flip
        try {
          const m = decodeConsensusMessage(ctx, tampered)
          assert.equal(m.type, 'certificate')
          if (m.type === 'certificate') verifyCertificate(ctx, m.certificate)
          assert.fail('a tampered certificate was accepted')
        } catch (err) {
          assert.ok(invalid(err), String(err))
        }
      }),
      { seed: 11, numRuns: 300 },
    )
  })
})
