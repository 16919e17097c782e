// Checkpoint sync: the request and answer encodings (and what their decoders refuse); the late node's
// walk of a chain of checkpoints with rotating committees, which stops at the first bad link; and the
// catch-up against fake peers (remote nodes answering sync requests): the longest verified chain wins,
// forged chains and failing peers lose, long chains are paged, snapshots are reassembled from chunks.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import * as dagCbor from '@ipld/dag-cbor'

import { hash } from '../../../../src/lib/b3/index.ts'
import { FleekError, isFleekError } from '../../../../src/lib/errors.ts'
import { aggregateSignatures, derivePublicKey } from '../../../../src/lib/keys/index.ts'
import {
  type ChainedCheckpoint,
  type Checkpoint,
  type CheckpointMessage,
  MAX_CHECKPOINTS_PER_ANSWER,
  SNAPSHOT_CHUNK_BYTES,
  computeCommitteeDigest,
  decodeCheckpointSyncRequest,
  decodeCheckpointsAnswer,
  decodeSnapshotChunk,
  encodeCheckpoint,
  encodeCheckpointSyncRequest,
  encodeCheckpointsAnswer,
  encodeSnapshotChunk,
  fetchLatestCheckpoint,
  fetchSnapshot,
  signCheckpoint,
  verifyCheckpointChain,
} from '../../../../src/node/checkpoint/index.ts'
import { silentLogger } from '../../../../src/node/logger.ts'
import { encodeParcelRequest } from '../../../../src/node/parcels/index.ts'
import { seededBytes } from '../../../helpers/bytes.ts'

const code = (c: string, message?: RegExp) => (e: unknown) =>
  isFleekError(e, c as 'INTEGRITY') && (message === undefined || message.test(e.message))

// ---- fixtures: real BLS keys, rotating committees ----

/** Key i's consensus secret is [i+1, i+1, …] (a valid BLS12-381 scalar). */
const keys = Array.from({ length: 6 }, (_, i) => {
  const secret = new Uint8Array(32).fill(i + 1)
  return { secret, publicKey: derivePublicKey({ kind: 'consensus', secret }) }
})
type Key = (typeof keys)[number]

/** The committee of epoch e: 4 of the 6 keys, rotating by one each epoch (so the order changes too). */
const committeeOf = (epoch: number): Key[] => [0, 1, 2, 3].map((j) => keys[(epoch + j) % keys.length])
const publicKeys = (members: readonly Key[]): Uint8Array[] => members.map((k) => k.publicKey)

function messageOf(epoch: number, next: readonly Key[]): CheckpointMessage {
  return {
    epoch,
    height: 100 * (epoch + 1),
    stateRoot: new Uint8Array(32).fill(epoch + 1),
    parcel: new Uint8Array(32).fill(epoch + 101),
    index: epoch * 10,
    nextCommittee: computeCommitteeDigest(publicKeys(next)),
    snapshotBytes: 1234,
    snapshotHash: new Uint8Array(32).fill(3),
  }
}

/**
 * The checkpoint of `message` signed by the members at `signers` of `committee` (their aggregate and
 * the bitmap of those positions), built by hand so that a test can make it wrong on purpose.
 */
function signBy(
  message: CheckpointMessage,
  committee: readonly Key[],
  signers: readonly number[],
): Checkpoint {
  const bitmap = new Uint8Array(Math.ceil(committee.length / 8))
  for (const i of signers) bitmap[i >> 3] |= 1 << (i & 7)
  return {
    ...message,
    signers: bitmap,
    signature: aggregateSignatures(signers.map((i) => signCheckpoint(committee[i], message).signature)),
  }
}

/** The honest link of `epoch`: signed by 3 of its 4 members, with the next committee's keys beside it. */
function linkOf(epoch: number): ChainedCheckpoint {
  const next = committeeOf(epoch + 1)
  return {
    checkpoint: signBy(messageOf(epoch, next), committeeOf(epoch), [0, 1, 3]),
    nextCommittee: publicKeys(next),
  }
}

/** The late node is at epoch 2; the network has checkpoints of epochs 2, 3, 4 and 5. */
const START = { epoch: 2, committee: publicKeys(committeeOf(2)) }
const chain = [2, 3, 4, 5].map(linkOf)

const epochs = (links: readonly ChainedCheckpoint[]): number[] => links.map((l) => l.checkpoint.epoch)

// ---- fake peers ----

type Serve = (request: Uint8Array, signal: AbortSignal) => Promise<Uint8Array>

/** A remote node that serves `links` (by epoch) as a real one does: at most 64 from the asked epoch. */
function chainPeer(links: readonly ChainedCheckpoint[], asked?: number[]): Serve {
  return async (bytes) => {
    const wanted = decodeCheckpointSyncRequest(bytes)
    if (wanted?.kind !== 'checkpoints') throw new FleekError('NOT_FOUND', 'only checkpoints here')
    asked?.push(wanted.fromEpoch)
    const from = links.findIndex((l) => l.checkpoint.epoch >= wanted.fromEpoch)
    return encodeCheckpointsAnswer(from < 0 ? [] : links.slice(from, from + MAX_CHECKPOINTS_PER_ANSWER))
  }
}

/** A remote node that serves the snapshot of `epoch` in chunks; `tamper` changes an answer before it goes. */
function snapshotPeer(
  epoch: number,
  snapshot: Uint8Array,
  tamper: (
    chunk: { total: number; bytes: Uint8Array },
    offset: number,
  ) => { total: number; bytes: Uint8Array } = (c) => c,
  asked?: number[],
): Serve {
  let requests = 0
  return async (bytes) => {
    // A fetch that does not advance would ask forever: end it, so that the test fails instead of hanging.
    if (++requests > 16) throw new Error('the snapshot was asked for more than 16 times')
    const wanted = decodeCheckpointSyncRequest(bytes)
    if (wanted?.kind !== 'snapshot') throw new FleekError('INVALID_INPUT', 'not a snapshot request')
    if (wanted.epoch !== epoch) throw new FleekError('NOT_FOUND', `no snapshot of epoch ${wanted.epoch} here`)
    asked?.push(wanted.offset)
    const chunk = {
      total: snapshot.length,
      bytes: snapshot.subarray(wanted.offset, wanted.offset + SNAPSHOT_CHUNK_BYTES),
    }
    return encodeSnapshotChunk(tamper(chunk, wanted.offset))
  }
}

/** A remote node that never answers (until the request is aborted). */
const silentPeer: Serve = (_bytes, signal) =>
  new Promise((_resolve, reject) => {
    // A referenced timer keeps the test's event loop alive while the request's own (unreferenced) timeout runs.
    const keepAlive = setTimeout(() => reject(new Error('the request was never aborted')), 10_000)
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(keepAlive)
        reject(signal.reason)
      },
      { once: true },
    )
  })

const failingPeer: Serve = async () => {
  throw new FleekError('UNAVAILABLE', 'connection refused')
}

/** CatchUpDeps over fake peers: every request is the peer's answer, its bytes passed through the wire encoding. */
function depsOf(peers: Record<string, Serve>, requestTimeoutMs = 2000) {
  return {
    request: async (peer: string, bytes: Uint8Array, signal: AbortSignal) => {
      const serve = peers[peer]
      if (serve === undefined) throw new FleekError('UNAVAILABLE', `no such peer ${peer}`)
      return serve(bytes, signal)
    },
    logger: silentLogger(),
    requestTimeoutMs,
  }
}

// ---- tests ----

describe('checkpoint sync encodings', () => {
  test('requests round-trip; a parcel request is not a checkpoint request', () => {
    for (const request of [
      { kind: 'checkpoints', fromEpoch: 0 },
      { kind: 'checkpoints', fromEpoch: 123_456 },
      { kind: 'snapshot', epoch: 7, offset: 0 },
      { kind: 'snapshot', epoch: 7, offset: 3 * SNAPSHOT_CHUNK_BYTES },
    ] as const)
      assert.deepEqual(decodeCheckpointSyncRequest(encodeCheckpointSyncRequest(request)), request)
    assert.equal(decodeCheckpointSyncRequest(encodeParcelRequest(new Uint8Array(32).fill(3))), undefined)
    assert.equal(decodeCheckpointSyncRequest(dagCbor.encode({ parcel: new Uint8Array(32) })), undefined)
    // Some other map (a parcel request's decoder refuses it later).
    assert.equal(decodeCheckpointSyncRequest(dagCbor.encode({ checkpoints: 1, extra: 2 })), undefined)
  })

  test('malformed requests are INVALID_INPUT', () => {
    const bad = [
      Uint8Array.of(0xff, 0x00, 0x13),
      new Uint8Array(0),
      dagCbor.encode([1, 2]),
      dagCbor.encode(null),
      dagCbor.encode(new Uint8Array(4)),
      dagCbor.encode({ checkpoints: -1 }),
      dagCbor.encode({ checkpoints: 1.5 }),
      dagCbor.encode({ checkpoints: '3' }),
      dagCbor.encode({ checkpoints: 2n ** 60n }),
      dagCbor.encode({ snapshot: 1, offset: -3 }),
      dagCbor.encode({ snapshot: -1, offset: 0 }),
      dagCbor.encode({ snapshot: 1, offset: 0.5 }),
      dagCbor.encode({ snapshot: 1, offset: null }),
    ]
    for (const bytes of bad) assert.throws(() => decodeCheckpointSyncRequest(bytes), code('INVALID_INPUT'))
  })

  test('a checkpoints answer round-trips, empty or full', () => {
    assert.deepEqual(decodeCheckpointsAnswer(encodeCheckpointsAnswer(chain)), chain)
    assert.deepEqual(decodeCheckpointsAnswer(encodeCheckpointsAnswer([])), [])
    const full = Array.from({ length: MAX_CHECKPOINTS_PER_ANSWER }, () => chain[0])
    assert.equal(decodeCheckpointsAnswer(encodeCheckpointsAnswer(full)).length, MAX_CHECKPOINTS_PER_ANSWER)
  })

  test('malformed checkpoints answers are INVALID_INPUT', () => {
    const entry = { checkpoint: encodeCheckpoint(chain[0].checkpoint), nextCommittee: chain[0].nextCommittee }
    const key = chain[0].nextCommittee[0]
    const bad = [
      Uint8Array.of(0xa1, 0x61),
      dagCbor.encode([entry]),
      dagCbor.encode({}),
      dagCbor.encode({ checkpoints: entry }),
      dagCbor.encode({ checkpoints: Array.from({ length: MAX_CHECKPOINTS_PER_ANSWER + 1 }, () => entry) }),
      dagCbor.encode({ checkpoints: [7] }),
      dagCbor.encode({ checkpoints: [null] }),
      dagCbor.encode({ checkpoints: [{ nextCommittee: entry.nextCommittee }] }),
      dagCbor.encode({ checkpoints: [{ ...entry, checkpoint: 'bytes' }] }),
      dagCbor.encode({ checkpoints: [{ ...entry, checkpoint: Uint8Array.of(1, 2, 3) }] }),
      dagCbor.encode({ checkpoints: [{ ...entry, checkpoint: dagCbor.encode({ epoch: 2 }) }] }),
      dagCbor.encode({ checkpoints: [{ checkpoint: entry.checkpoint }] }),
      dagCbor.encode({ checkpoints: [{ ...entry, nextCommittee: [] }] }),
      dagCbor.encode({ checkpoints: [{ ...entry, nextCommittee: key }] }),
      dagCbor.encode({ checkpoints: [{ ...entry, nextCommittee: [key, key.subarray(1)] }] }),
      dagCbor.encode({ checkpoints: [{ ...entry, nextCommittee: [key, 'key'] }] }),
      dagCbor.encode({ checkpoints: [{ ...entry, nextCommittee: Array.from({ length: 1025 }, () => key) }] }),
    ]
    for (const [i, bytes] of bad.entries())
      assert.throws(() => decodeCheckpointsAnswer(bytes), code('INVALID_INPUT'), `case ${i}`)
  })

  test('a snapshot chunk round-trips up to the chunk size; malformed or oversize ones are INVALID_INPUT', () => {
    const bytes = seededBytes(SNAPSHOT_CHUNK_BYTES, 5)
    const total = 5 * SNAPSHOT_CHUNK_BYTES + 17
    assert.deepEqual(decodeSnapshotChunk(encodeSnapshotChunk({ total, bytes })), { total, bytes })
    const empty = { total: 0, bytes: new Uint8Array(0) }
    assert.deepEqual(decodeSnapshotChunk(encodeSnapshotChunk(empty)), empty)
    const bad = [
      Uint8Array.of(0x5f),
      dagCbor.encode([total, bytes]),
      dagCbor.encode({ total }),
      dagCbor.encode({ total, bytes: 'abc' }),
      dagCbor.encode({ total, bytes: seededBytes(SNAPSHOT_CHUNK_BYTES + 1, 5) }),
      dagCbor.encode({ total: -1, bytes: new Uint8Array(1) }),
      dagCbor.encode({ total: 1.25, bytes: new Uint8Array(1) }),
      dagCbor.encode({ bytes: new Uint8Array(1) }),
    ]
    for (const [i, b] of bad.entries())
      assert.throws(() => decodeSnapshotChunk(b), code('INVALID_INPUT'), `case ${i}`)
  })
})

describe('the chain of checkpoints', () => {
  test('a 4-epoch chain with rotating committees verifies whole, from any epoch the node knows', () => {
    assert.deepEqual(verifyCheckpointChain(chain, START), { verified: chain })
    // A node already at epoch 4 starts from that committee.
    assert.deepEqual(
      verifyCheckpointChain(chain.slice(2), { epoch: 4, committee: publicKeys(committeeOf(4)) }),
      { verified: chain.slice(2) },
    )
    assert.deepEqual(verifyCheckpointChain([], START), { verified: [] })
  })

  test('a link of the wrong epoch ends the walk there', () => {
    const skipped = verifyCheckpointChain([chain[0], chain[2], chain[3]], START)
    assert.deepEqual(epochs(skipped.verified), [2])
    assert.ok(code('INVALID_INPUT', /epoch 4 where 3 was due/)(skipped.error), String(skipped.error))
    // A stale chain (of an epoch before the node's) verifies nothing.
    const stale = verifyCheckpointChain(chain, { epoch: 3, committee: publicKeys(committeeOf(3)) })
    assert.deepEqual(stale.verified, [])
    assert.ok(code('INVALID_INPUT', /epoch 2 where 3 was due/)(stale.error), String(stale.error))
  })

  test('a next-committee list that does not hash to the digest the checkpoint signs ends the walk', () => {
    // Epoch 3's checkpoint names committee 4; the peer sends committee 5 beside it (which then
    // "verifies" the forged rest of its chain, if the list were trusted).
    const swapped = { ...chain[1], nextCommittee: publicKeys(committeeOf(5)) }
    const result = verifyCheckpointChain([chain[0], swapped, chain[3]], START)
    assert.deepEqual(epochs(result.verified), [2])
    assert.ok(code('INTEGRITY', /checkpoint 3 is not the one it names/)(result.error), String(result.error))
    // Same members, another order: another committee.
    const reordered = { ...chain[1], nextCommittee: [...chain[1].nextCommittee].reverse() }
    assert.ok(code('INTEGRITY')(verifyCheckpointChain([chain[0], reordered], START).error))
  })

  test('a checkpoint signed by the previous committee ends the walk', () => {
    const message = messageOf(3, committeeOf(4))
    const byPrevious = {
      checkpoint: signBy(message, committeeOf(2), [0, 1, 2, 3]),
      nextCommittee: chain[1].nextCommittee,
    }
    const result = verifyCheckpointChain([chain[0], byPrevious, chain[2]], START)
    assert.deepEqual(epochs(result.verified), [2])
    assert.ok(
      code('INTEGRITY', /aggregate signature .* epoch 3 does not verify/)(result.error),
      String(result.error),
    )
  })

  test('a bad aggregate signature ends the walk there', () => {
    // The signature of epoch 3's checkpoint on epoch 4's: a valid point, the wrong message.
    const badAggregate = {
      ...chain[2],
      checkpoint: { ...chain[2].checkpoint, signature: chain[1].checkpoint.signature },
    }
    const result = verifyCheckpointChain([chain[0], chain[1], badAggregate, chain[3]], START)
    assert.deepEqual(epochs(result.verified), [2, 3])
    assert.ok(code('INTEGRITY', /epoch 4 does not verify/)(result.error), String(result.error))
    // The right signers' signatures of another state root.
    const otherRoot = { ...chain[2], checkpoint: { ...chain[2].checkpoint, stateRoot: new Uint8Array(32) } }
    assert.ok(code('INTEGRITY')(verifyCheckpointChain([chain[0], chain[1], otherRoot], START).error))
  })

  test('too few signers end the walk there', () => {
    const twoOfFour = {
      checkpoint: signBy(messageOf(3, committeeOf(4)), committeeOf(3), [1, 2]),
      nextCommittee: chain[1].nextCommittee,
    }
    const result = verifyCheckpointChain([chain[0], twoOfFour, chain[2]], START)
    assert.deepEqual(epochs(result.verified), [2])
    assert.ok(code('REJECTED', /epoch 3 has 2 signers; 3 of 4/)(result.error), String(result.error))
  })
})

describe('catching up from peers', () => {
  test('the longest verified chain wins; forged, failing and silent peers lose', async () => {
    // A forger serves the honest chain up to epoch 3, then a checkpoint of epoch 4 of its own making
    // (another state root, signed by the committee it claims comes next), and more after it.
    const forgedNext = [keys[5], keys[4], keys[3], keys[2]]
    const forged4 = {
      checkpoint: signBy(
        { ...messageOf(4, forgedNext), stateRoot: new Uint8Array(32).fill(0xee) },
        forgedNext,
        [0, 1, 2, 3],
      ),
      nextCommittee: publicKeys(forgedNext),
    }
    const forged5 = {
      checkpoint: signBy(messageOf(5, committeeOf(6)), forgedNext, [0, 1, 2, 3]),
      nextCommittee: publicKeys(committeeOf(6)),
    }
    const bad: Array<[string, string]> = []
    const asked: number[] = []
    const deps = depsOf(
      {
        forger: chainPeer([chain[0], chain[1], forged4, forged5]),
        behind: chainPeer(chain.slice(0, 2)),
        honest: chainPeer(chain, asked),
        failing: failingPeer,
        silent: silentPeer,
        garbage: async () => Uint8Array.of(0xff),
        alsoHonest: chainPeer(chain),
      },
      200,
    )
    const peers = ['forger', 'behind', 'failing', 'silent', 'garbage', 'honest', 'alsoHonest']
    const latest = await fetchLatestCheckpoint(
      deps,
      peers,
      START,
      AbortSignal.timeout(10_000),
      (peer, reason) => bad.push([peer, reason]),
    )
    assert.ok(latest)
    assert.deepEqual(latest.chain, chain)
    assert.deepEqual([...latest.peers].sort(), ['alsoHonest', 'honest'])
    assert.deepEqual(asked, [2]) // from the node's own epoch; a short answer is the whole chain
    const reported = new Map(bad)
    assert.match(reported.get('forger') ?? '', /epoch 4 does not verify/)
    for (const peer of ['behind', 'honest', 'alsoHonest']) assert.ok(!reported.has(peer), peer)
  })

  test('undefined when no peer has a checkpoint the node can verify', async () => {
    const bad: string[] = []
    const onBad = (peer: string) => bad.push(peer)
    const signal = AbortSignal.timeout(10_000)
    assert.equal(await fetchLatestCheckpoint(depsOf({}), [], START, signal, onBad), undefined)
    const deps = depsOf({ empty: chainPeer([]), failing: failingPeer, stale: chainPeer(chain.slice(0, 1)) })
    // The node is at epoch 3 already: the peer with only epoch 2's checkpoint has nothing for it.
    const at3 = { epoch: 3, committee: publicKeys(committeeOf(3)) }
    assert.equal(
      await fetchLatestCheckpoint(deps, ['empty', 'failing', 'stale'], at3, signal, onBad),
      undefined,
    )
    // A peer whose first checkpoint is not signed by the node's committee proves nothing.
    const otherStart = { epoch: 2, committee: publicKeys(committeeOf(3)) }
    assert.equal(
      await fetchLatestCheckpoint(
        depsOf({ honest: chainPeer(chain) }),
        ['honest'],
        otherStart,
        signal,
        onBad,
      ),
      undefined,
    )
    assert.deepEqual(bad, ['honest'])
  })

  /** What a checkpoint of epoch 5 signs about its snapshot. */
  const signedAs = (snapshot: Uint8Array) => ({
    epoch: 5,
    snapshotBytes: snapshot.length,
    snapshotHash: hash(snapshot),
  })

  test('a 2.5 MiB snapshot is reassembled from 1 MiB chunks', async () => {
    const snapshot = seededBytes(2.5 * SNAPSHOT_CHUNK_BYTES, 11)
    const asked: number[] = []
    const got = await fetchSnapshot(
      depsOf({ peer: snapshotPeer(5, snapshot, undefined, asked) }),
      ['peer'],
      signedAs(snapshot),
      AbortSignal.timeout(10_000),
    )
    assert.equal(got.peer, 'peer')
    assert.equal(got.bytes.length, snapshot.length)
    assert.ok(Buffer.from(got.bytes).equals(snapshot))
    assert.deepEqual(asked, [0, SNAPSHOT_CHUNK_BYTES, 2 * SNAPSHOT_CHUNK_BYTES])
    // An empty snapshot takes one request.
    const none = await fetchSnapshot(
      depsOf({ peer: snapshotPeer(5, new Uint8Array(0)) }),
      ['peer'],
      signedAs(new Uint8Array(0)),
      AbortSignal.timeout(10_000),
    )
    assert.equal(none.bytes.length, 0)
  })

  test('a peer that announces another size, changes it, sends too much, an empty chunk or other bytes is refused', async () => {
    const snapshot = seededBytes(2.5 * SNAPSHOT_CHUNK_BYTES, 12)
    const signal = AbortSignal.timeout(10_000)
    const cases: Array<[string, Serve, (e: unknown) => boolean]> = [
      [
        'total changes',
        snapshotPeer(5, snapshot, (c, offset) => (offset === 0 ? c : { ...c, total: c.total + 1 })),
        code('INTEGRITY', /the checkpoint signed/),
      ],
      [
        'more than announced',
        snapshotPeer(5, snapshot, (c, offset) =>
          offset === 2 * SNAPSHOT_CHUNK_BYTES ? { ...c, bytes: seededBytes(SNAPSHOT_CHUNK_BYTES, 1) } : c,
        ),
        code('INVALID_INPUT', /more snapshot bytes than it announced/),
      ],
      [
        'empty chunk',
        snapshotPeer(5, snapshot, (c, offset) => (offset === 0 ? c : { ...c, bytes: new Uint8Array(0) })),
        code('INVALID_INPUT', /empty snapshot chunk/),
      ],
      [
        'another size announced',
        snapshotPeer(5, snapshot, (c) => ({ ...c, total: 2 ** 31 })),
        code('INTEGRITY', /announces a snapshot of 2147483648 bytes/),
      ],
      [
        'other bytes of the same size',
        snapshotPeer(5, snapshot, (c, offset) =>
          offset === SNAPSHOT_CHUNK_BYTES ? { ...c, bytes: seededBytes(c.bytes.length, 99) } : c,
        ),
        code('INTEGRITY', /does not hash to the signed one/),
      ],
      ['not held', snapshotPeer(4, snapshot), code('NOT_FOUND')],
    ]
    for (const [name, serve, check] of cases) {
      const reported: string[] = []
      await assert.rejects(
        fetchSnapshot(depsOf({ peer: serve }), ['peer'], signedAs(snapshot), signal, (peer) =>
          reported.push(peer),
        ),
        check,
        name,
      )
      assert.deepEqual(reported, name === 'not held' ? [] : ['peer'], `${name}: reported`)
    }
    await assert.rejects(
      fetchSnapshot(depsOf({}), [], signedAs(snapshot), signal),
      code('UNAVAILABLE', /epoch 5/),
    )
    // A checkpoint that signs a snapshot over the limit is refused before any peer is asked.
    await assert.rejects(
      fetchSnapshot(depsOf({}), ['peer'], { ...signedAs(snapshot), snapshotBytes: 2 ** 31 }, signal),
      code('REJECTED', /over the limit/),
    )
  })

  test('the snapshot comes from the first peer that serves it whole', async () => {
    const snapshot = seededBytes(2.5 * SNAPSHOT_CHUNK_BYTES, 13)
    const goodAsked: number[] = []
    const peers: Record<string, Serve> = {
      changes: snapshotPeer(5, snapshot, (c, offset) => (offset === 0 ? c : { ...c, total: c.total - 1 })),
      oversends: snapshotPeer(5, snapshot, (c) => ({ ...c, total: 10 })),
      empty: snapshotPeer(5, snapshot, (c, offset) =>
        offset < 2 * SNAPSHOT_CHUNK_BYTES ? c : { ...c, bytes: new Uint8Array(0) },
      ),
      failing: failingPeer,
      silent: silentPeer,
      good: snapshotPeer(5, snapshot, undefined, goodAsked),
      unused: failingPeer,
    }
    const got = await fetchSnapshot(
      depsOf(peers, 200),
      Object.keys(peers),
      signedAs(snapshot),
      AbortSignal.timeout(10_000),
    )
    assert.equal(got.peer, 'good')
    assert.ok(Buffer.from(got.bytes).equals(snapshot))
    assert.deepEqual(goodAsked, [0, SNAPSHOT_CHUNK_BYTES, 2 * SNAPSHOT_CHUNK_BYTES])
  })

  test('an aborted fetch stops at once instead of trying the next peer', async () => {
    const controller = new AbortController()
    const tried: string[] = []
    const abortingPeer: Serve = async () => {
      tried.push('first')
      controller.abort(new FleekError('INTERRUPTED', 'stopping'))
      throw new FleekError('UNAVAILABLE', 'connection reset')
    }
    const next: Serve = async () => {
      tried.push('next')
      throw new FleekError('NOT_FOUND', 'not here')
    }
    await assert.rejects(
      fetchSnapshot(
        depsOf({ first: abortingPeer, next }),
        ['first', 'next'],
        signedAs(new Uint8Array(0)),
        controller.signal,
      ),
      code('UNAVAILABLE'),
    )
    assert.deepEqual(tried, ['first'])
  })
})
