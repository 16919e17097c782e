import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { hash, toHex } from '../../../../src/lib/b3/index.ts'
import { decodeTransaction } from '../../../../src/lib/tx/index.ts'
import {
  chooseShuffledCommittee,
  computeBeaconCommit,
  computeBeaconSeed,
  shuffleWithSeed,
  type Receipt,
} from '../../../../src/node/application/index.ts'
import {
  EPOCH_MS,
  FLK,
  START_MS,
  createNetwork,
  nodeTx,
  secretFrom,
  type Network,
  type TestNode,
} from './fixtures.ts'

const END = START_MS + EPOCH_MS
const COMMIT_MS = 10_000
const REVEAL_MS = 20_000
const BEACON = { beaconEnabled: 1, beaconCommitTimeoutMs: COMMIT_MS, beaconRevealTimeoutMs: REVEAL_MS }

const vote = (n: TestNode, epoch = 0) => nodeTx(n, { method: 'ChangeEpoch', args: { epoch } })
const revealOf = (n: TestNode, round = 0, epoch = 0) =>
  secretFrom(`reveal ${toHex(n.publicKey)} ${epoch} ${round}`)
const commit = (n: TestNode, round = 0, epoch = 0, reveal = revealOf(n, round, epoch)) =>
  nodeTx(n, {
    method: 'CommitteeBeaconCommit',
    args: { epoch, round, commit: computeBeaconCommit(epoch, round, reveal) },
  })
const reveal = (n: TestNode, round = 0, epoch = 0, value = revealOf(n, round, epoch)) =>
  nodeTx(n, { method: 'CommitteeBeaconReveal', args: { epoch, round, reveal: value } })
const timeout = (n: TestNode, round = 0, epoch = 0) =>
  nodeTx(n, { method: 'CommitteeBeaconTimeout', args: { epoch, round } })

function statuses(receipts: Receipt[]): string[] {
  return receipts.map((r) => (r.status === 'success' ? 'success' : `${r.status}:${r.reason}`))
}

function beaconNetwork(count: number, params: Record<string, number> = {}): Network {
  return createNetwork(count, { params: { ...BEACON, ...params } })
}

describe('commit–reveal beacon', () => {
  test('the commitment hashes the DAG-CBOR map {epoch, round, reveal} with BLAKE3', () => {
    const r = new Uint8Array(32).fill(7)
    // epoch 24 (one-byte uint 0x18 0x18), round 2, reveal 32 bytes.
    const expected = Uint8Array.from([
      0xa3,
      0x65,
      ...Buffer.from('epoch'),
      0x18,
      24,
      0x65,
      ...Buffer.from('round'),
      0x02,
      0x66,
      ...Buffer.from('reveal'),
      0x58,
      0x20,
      ...r,
    ])
    assert.deepEqual(dagCbor.encode({ epoch: 24, round: 2, reveal: r }), expected)
    assert.deepEqual(computeBeaconCommit(24, 2, r), hash(expected))
    assert.notDeepEqual(computeBeaconCommit(24, 3, r), computeBeaconCommit(24, 2, r))
    assert.throws(() => computeBeaconCommit(0, 0, new Uint8Array(31)), /32 bytes/)
  })

  test('the beacon transactions round-trip through the codec and a short commit is malformed', () => {
    const net = beaconNetwork(1)
    const [a] = net.nodes
    const bytes = commit(a)
    const tx = decodeTransaction(bytes)
    assert.equal(tx.payload.method, 'CommitteeBeaconCommit')
    assert.throws(
      () =>
        nodeTx(a, {
          method: 'CommitteeBeaconCommit',
          args: { epoch: 0, round: 0, commit: new Uint8Array(31) },
        }),
      /args\.commit must be 32 bytes/,
    )
  })

  test('a committee of one: vote, commit and reveal in one block change the epoch', () => {
    const net = beaconNetwork(1)
    const [a] = net.nodes
    const result = net.run([vote(a), commit(a), reveal(a)], END)
    assert.deepEqual(statuses(result.receipts), ['success', 'success', 'success'])
    assert.equal(result.receipts[0].newEpoch, undefined)
    assert.equal(result.receipts[2].newEpoch, 1)
    assert.equal(result.newEpoch, 1)
    const info = net.app.epochInfo()
    assert.equal(info.epoch, 1)
    assert.equal(info.phase, 'running')
    assert.equal(info.phaseEndsMs, END + EPOCH_MS)
    assert.deepEqual(info.committee, [a.publicKey])
    const done = net.app.beacon(0)
    assert.equal(done?.phase, 'done')
    assert.deepEqual(done?.seed, computeBeaconSeed([revealOf(a)]))
  })

  test('a committee of one, block by block: the phases and their deadlines', () => {
    const net = beaconNetwork(1)
    const [a] = net.nodes
    let info = net.app.epochInfo()
    assert.deepEqual([info.phase, info.beaconRound, info.phaseEndsMs], ['running', 0, END])
    // Too early: the epoch has not ended.
    assert.deepEqual(statuses(net.run([vote(a)], END - 1).receipts), ['failed:EPOCH_NOT_ENDED'])
    assert.deepEqual(statuses(net.run([vote(a)], END + 5).receipts), ['success'])
    info = net.app.epochInfo()
    assert.deepEqual([info.phase, info.beaconRound, info.phaseEndsMs], ['commit', 0, END + 5 + COMMIT_MS])
    assert.deepEqual(statuses(net.run([commit(a)], END + 6).receipts), ['success'])
    info = net.app.epochInfo()
    assert.deepEqual([info.phase, info.beaconRound, info.phaseEndsMs], ['reveal', 0, END + 6 + REVEAL_MS])
    const result = net.run([reveal(a)], END + 7)
    assert.equal(result.newEpoch, 1)
    assert.equal(net.app.epochInfo().phase, 'running')
  })

  test('four members: three votes open the commit phase, three commits the reveal phase, three reveals change the epoch', () => {
    const net = beaconNetwork(4)
    const [a, b, c, d] = net.nodes
    let r = net.run([vote(a)], END)
    assert.deepEqual(statuses(r.receipts), ['success'])
    assert.equal(net.app.epochInfo().phase, 'signalling')
    assert.equal(net.app.epochInfo().phaseEndsMs, undefined)
    r = net.run([vote(b), vote(c), commit(a), commit(b)], END + 1)
    assert.deepEqual(statuses(r.receipts), ['success', 'success', 'success', 'success'])
    assert.equal(net.app.epochInfo().phase, 'commit')
    // A reveal before the reveal phase is refused.
    r = net.run([reveal(a), commit(c), commit(d)], END + 2)
    assert.deepEqual(statuses(r.receipts), [
      'failed:BEACON_WRONG_PHASE',
      'success',
      'failed:BEACON_WRONG_PHASE',
    ])
    assert.equal(net.app.epochInfo().phase, 'reveal')
    r = net.run([reveal(a), reveal(b), reveal(d)], END + 3)
    assert.deepEqual(statuses(r.receipts), ['success', 'success', 'failed:NOT_COMMITTED'])
    assert.equal(r.newEpoch, undefined)
    r = net.run([reveal(c)], END + 4)
    assert.equal(r.newEpoch, 1)
    const seed = computeBeaconSeed([revealOf(c), revealOf(a), revealOf(b)])
    assert.deepEqual(net.app.beacon(0)?.seed, seed)
    const expected = chooseShuffledCommittee(net.app.nodes(), net.app.params(), seed)
    assert.deepEqual(net.app.epochInfo().committee, expected)
    assert.deepEqual(
      new Set(expected.map(toHex)),
      new Set(net.nodes.map((n) => toHex(n.publicKey))),
      'a committee of the whole active set',
    )
  })

  test('a reveal that does not match its commit is refused with a reason, and the right one is then taken', () => {
    const net = beaconNetwork(1)
    const [a] = net.nodes
    net.run([vote(a), commit(a)], END)
    const wrong = new Uint8Array(32).fill(1)
    let r = net.run([reveal(a, 0, 0, wrong), reveal(a, 1)], END + 1)
    assert.deepEqual(statuses(r.receipts), ['failed:REVEAL_MISMATCH', 'failed:ROUND_MISMATCH'])
    assert.equal(net.app.epochInfo().epoch, 0)
    r = net.run([reveal(a)], END + 2)
    assert.equal(r.newEpoch, 1)
  })

  test('a member that withholds its reveal is slashed after the timeout, a new round starts and the epoch still changes', () => {
    const net = beaconNetwork(4)
    const [a, b, c, d] = net.nodes
    const fund = net.genesis.protocolFundAddress
    const fundBefore = net.app.account(fund).flk
    const stakeBefore = (net.app.node(c.publicKey) as { stake: { staked: bigint } }).stake.staked
    net.run([vote(a), vote(b), vote(c), commit(a), commit(b), commit(c)], END)
    net.run([reveal(a), reveal(b)], END + 1)
    // c withholds. Before the deadline a timeout is refused and nothing changes.
    let r = net.run([timeout(d)], END + REVEAL_MS - 1)
    assert.deepEqual(statuses(r.receipts), ['failed:BEACON_TIMEOUT_NOT_REACHED'])
    assert.equal(net.app.epochInfo().beaconRound, 0)
    // The first block at the deadline closes the reveal phase: c is slashed, round 1 begins.
    r = net.run([timeout(d)], END + REVEAL_MS)
    assert.deepEqual(statuses(r.receipts), ['success'])
    const info = net.app.epochInfo()
    assert.deepEqual(
      [info.phase, info.beaconRound, info.phaseEndsMs],
      ['commit', 1, END + REVEAL_MS + COMMIT_MS],
    )
    const beacon = net.app.beacon()
    assert.deepEqual(beacon?.slashed, [{ node: c.publicKey, round: 0, amount: 100n * FLK }])
    assert.deepEqual(beacon?.excluded, [c.publicKey])
    const slashedNode = net.app.node(c.publicKey)
    assert.equal(slashedNode?.stake.staked, stakeBefore - 100n * FLK)
    assert.equal(
      slashedNode?.participation,
      'optedOut',
      'below the minimum stake it leaves at the epoch change',
    )
    assert.equal(net.app.account(fund).flk, fundBefore + 100n * FLK)
    // Round 1 among the rest: c is out, round-0 commits are stale; a, b, d commit and reveal.
    r = net.run([commit(c, 1), commit(a, 0), commit(a, 1), commit(b, 1), commit(d, 1)], END + REVEAL_MS + 1)
    assert.deepEqual(statuses(r.receipts), [
      'failed:EXCLUDED_FROM_BEACON',
      'failed:ROUND_MISMATCH',
      'success',
      'success',
      'success',
    ])
    assert.equal(net.app.epochInfo().phase, 'reveal')
    r = net.run([reveal(a, 1), reveal(b, 1), reveal(d, 1)], END + REVEAL_MS + 2)
    assert.equal(r.newEpoch, 1)
    const committee = net.app.epochInfo().committee.map(toHex)
    assert.equal(committee.length, 3)
    assert.ok(!committee.includes(toHex(c.publicKey)), 'the slashed member left the committee')
    assert.deepEqual(
      net.app.beacon(0)?.seed,
      computeBeaconSeed([revealOf(a, 1), revealOf(b, 1), revealOf(d, 1)]),
    )
  })

  test('a commit phase that times out short of the quorum starts the next round without slashing', () => {
    const net = beaconNetwork(4)
    const [a, b, c, d] = net.nodes
    net.run([vote(a), vote(b), vote(c), commit(a)], END)
    const r = net.run([commit(b)], END + COMMIT_MS)
    assert.deepEqual(statuses(r.receipts), ['failed:ROUND_MISMATCH'])
    assert.equal(net.app.epochInfo().beaconRound, 1)
    assert.deepEqual(net.app.beacon()?.slashed, [])
    assert.deepEqual(net.app.beacon()?.entries, [])
    net.run([commit(a, 1), commit(b, 1), commit(d, 1)], END + COMMIT_MS + 1)
    const done = net.run([reveal(a, 1), reveal(b, 1), reveal(d, 1)], END + COMMIT_MS + 2)
    assert.equal(done.newEpoch, 1)
  })

  test('a non-member, a replay, a second commit, a wrong epoch and a commit before the beacon are refused', () => {
    const net = beaconNetwork(5, { committeeSize: 4 })
    const [a, b, c, , outsider] = net.nodes
    assert.equal(net.app.epochInfo().committee.length, 4)
    let r = net.run([commit(a)], END)
    assert.deepEqual(statuses(r.receipts), ['failed:BEACON_NOT_RUNNING'])
    net.run([vote(a), vote(b), vote(c)], END)
    const first = commit(a)
    r = net.run(
      [commit(outsider), first, first, commit(a, 0, 0, new Uint8Array(32).fill(3)), commit(b, 0, 1)],
      END + 1,
    )
    assert.deepEqual(statuses(r.receipts), [
      'failed:NOT_COMMITTEE_MEMBER',
      'success',
      'rejected:DUPLICATE',
      'failed:ALREADY_COMMITTED',
      'failed:EPOCH_MISMATCH',
    ])
    // The replay in a later block is refused as well.
    r = net.run([first], END + 2)
    assert.deepEqual(statuses(r.receipts), ['rejected:DUPLICATE'])
    assert.equal(net.app.beacon()?.entries.length, 1)
  })

  test('two fresh applications executing the same blocks agree on every state root', () => {
    const blocks = (net: Network): Array<[Uint8Array[], number]> => {
      const [a, b, c, d] = net.nodes
      return [
        [[vote(a), vote(b), vote(c)], END],
        [[commit(a), commit(b), commit(c)], END + 1],
        [[reveal(a), reveal(b)], END + 2],
        [[timeout(d)], END + 2 + REVEAL_MS],
        [[commit(a, 1), commit(b, 1), commit(d, 1)], END + 3 + REVEAL_MS],
        [[reveal(a, 1), reveal(b, 1), reveal(d, 1)], END + 4 + REVEAL_MS],
      ]
    }
    const one = beaconNetwork(4)
    const two = beaconNetwork(4)
    const roots = (net: Network, list: Array<[Uint8Array[], number]>) =>
      list.map(([txs, at]) => toHex(net.run(txs, at).stateRoot))
    const list = blocks(one)
    const rootsOne = roots(one, list)
    const rootsTwo = roots(two, list)
    assert.deepEqual(rootsOne, rootsTwo)
    assert.equal(new Set(rootsOne).size, rootsOne.length, 'every block changed the root')
    assert.equal(one.app.epochInfo().epoch, 1)
    // Other reveals draw from another seed, so the root differs.
    const three = beaconNetwork(4)
    const [a, b, c] = three.nodes
    three.run([vote(a), vote(b), vote(c)], END)
    const other = (n: TestNode) => secretFrom(`other ${toHex(n.publicKey)}`)
    three.run([commit(a, 0, 0, other(a)), commit(b, 0, 0, other(b)), commit(c, 0, 0, other(c))], END + 1)
    const last = three.run(
      [reveal(a, 0, 0, other(a)), reveal(b, 0, 0, other(b)), reveal(c, 0, 0, other(c))],
      END + 2,
    )
    assert.equal(last.newEpoch, 1)
    assert.notEqual(toHex(last.stateRoot), rootsOne[2])
  })
})

describe('committee shuffle', () => {
  const items = Array.from({ length: 10 }, (_, i) => i)
  const seed = (label: string) => secretFrom(`seed ${label}`)

  test('is deterministic, a permutation, and depends on the seed', () => {
    const once = shuffleWithSeed(items, seed('x'))
    assert.deepEqual(shuffleWithSeed(items, seed('x')), once)
    assert.deepEqual(
      [...once].sort((p, q) => p - q),
      items,
    )
    assert.notDeepEqual(shuffleWithSeed(items, seed('y')), once)
    assert.deepEqual(
      items,
      Array.from({ length: 10 }, (_, i) => i),
      'the input is not modified',
    )
  })

  test('every item reaches every position over 400 fixed seeds', () => {
    const seen = items.map(() => new Set<number>())
    for (let s = 0; s < 400; s++) {
      shuffleWithSeed(items, seed(String(s))).forEach((item, position) => seen[item].add(position))
    }
    for (const positions of seen) assert.equal(positions.size, items.length)
  })

  test('the committee is the shuffled active set cut to committeeSize', () => {
    const net = beaconNetwork(6, { committeeSize: 3 })
    const nodes = net.app.nodes()
    const params = net.app.params()
    const first = chooseShuffledCommittee(nodes, params, seed('a'))
    assert.equal(first.length, 3)
    assert.deepEqual(chooseShuffledCommittee(nodes, params, seed('a')), first)
    const draws = new Set<string>()
    for (let s = 0; s < 20; s++) {
      draws.add(
        chooseShuffledCommittee(nodes, params, seed(String(s)))
          .map(toHex)
          .join(','),
      )
    }
    assert.ok(draws.size > 1, 'different seeds draw different committees')
  })
})
