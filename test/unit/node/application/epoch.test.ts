import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { toHex } from '../../../../src/lib/b3/index.ts'
import {
  Application,
  chooseCommittee,
  computeBoost,
  computeQuorum,
  createDevnetGenesis,
  defaultNodePorts,
  defaultProtocolParams,
  type NodeInfo,
} from '../../../../src/node/application/index.ts'
import { changeEpoch } from '../../../../src/node/application/epoch.ts'
import { State } from '../../../../src/node/application/records.ts'
import { StateOverlay } from '../../../../src/node/application/state.ts'
import { MemoryStorage } from '../../../../src/node/storage/index.ts'
import type { MethodCall } from '../../../../src/lib/tx/index.ts'
import {
  CHAIN_ID,
  EPOCH_MS,
  FLK,
  START_MS,
  accountTx,
  createNetwork,
  makeAccount,
  makeNode,
  nodeTx,
  type TestNode,
} from './fixtures.ts'

const END = START_MS + EPOCH_MS
const vote = (n: TestNode, epoch: number) => nodeTx(n, { method: 'ChangeEpoch', args: { epoch } })

/**
 * Credits `commodity` units of service `serviceId` (its commodity type's index, priced `price`) served by
 * `node` in epoch 0: the node's served record, the epoch's total and reward pool, the service revenue.
 */
function recordServed(state: State, node: TestNode, serviceId: number, commodity: bigint, price: bigint) {
  const pkHex = toHex(node.publicKey)
  const revenue = commodity * price
  const served = state.getServed(0, pkHex)
  served.served[serviceId] += commodity
  served.revenue += revenue
  state.putServed(0, pkHex, served)
  const total = state.getTotalServed(0)
  total.served[serviceId] += commodity
  total.rewardPool += revenue
  state.putTotalServed(0, total)
  state.putServiceRevenue(0, serviceId, state.getServiceRevenue(0, serviceId) + revenue)
}

describe('epoch change', () => {
  test('quorum is ⌊2n/3⌋ + 1', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 7, 10, 100].map(computeQuorum), [1, 2, 3, 3, 4, 5, 7, 67])
  })

  test('a committee of one changes the epoch with its own vote once the epoch has ended', () => {
    const net = createNetwork(1)
    const result = net.run([vote(net.nodes[0], 0)], END)
    assert.equal(result.receipts[0].status, 'success')
    assert.equal(result.receipts[0].newEpoch, 1)
    assert.equal(result.newEpoch, 1)
    const info = net.app.epochInfo()
    assert.equal(info.epoch, 1)
    assert.equal(info.epochStartMs, END)
    assert.equal(info.epochEndMs, END + EPOCH_MS)
    assert.deepEqual(info.committee, [net.nodes[0].publicKey])
    assert.deepEqual(info.readyToChange, [])
    // The old epoch's committee record stays queryable.
    assert.equal(net.app.committee(0)?.readyToChange.length, 1)
  })

  test('with four members the third vote changes the epoch; a late fourth vote names an old epoch', () => {
    const net = createNetwork(4)
    const [a, b, c, d] = net.nodes
    const r = net.run([vote(a, 0), vote(b, 0)], END)
    assert.deepEqual(
      r.receipts.map((x) => x.status),
      ['success', 'success'],
    )
    assert.equal(r.newEpoch, undefined)
    assert.equal(net.app.epochInfo().epoch, 0)
    const r2 = net.run([vote(c, 0), vote(d, 0)], END + 1)
    assert.equal(r2.receipts[0].newEpoch, 1)
    assert.equal(r2.receipts[1].reason, 'EPOCH_MISMATCH')
    assert.equal(net.app.epochInfo().epoch, 1)
  })

  test('executed digests and measurements are cleared; opt-ins and opt-outs take effect; the committee follows', () => {
    const net = createNetwork(2)
    const [a, b] = net.nodes
    const fresh = makeNode('fresh')
    const register: MethodCall = {
      method: 'Stake',
      args: {
        amount: 2000n * FLK,
        node: fresh.publicKey,
        consensusKey: fresh.consensusKey,
        consensusKeyProof: fresh.consensusKeyProof,
        host: 'h',
        ports: defaultNodePorts,
      },
    }
    const uri = new Uint8Array(32).fill(9)
    net.run([
      accountTx(net.owner, register),
      nodeTx(fresh, { method: 'OptIn', args: {} }),
      nodeTx(a, { method: 'UpdateContentRegistry', args: { updates: [{ uri, remove: false }] } }),
      nodeTx(b, { method: 'UpdateContentRegistry', args: { updates: [{ uri, remove: false }] } }),
      nodeTx(b, { method: 'OptOut', args: {} }),
      nodeTx(a, {
        method: 'SubmitReputationMeasurements',
        args: { measurements: [{ node: b.publicKey, latencyMs: 5 }] },
      }),
    ])
    assert.equal([...net.storage.table('executedDigests').entries()].length, 6)
    assert.equal(net.app.contentProviders(uri).length, 2)
    net.run([vote(a, 0), vote(b, 0)], END)
    assert.equal(net.app.epochInfo().epoch, 1)
    assert.equal(net.app.node(fresh.publicKey)?.participation, 'true')
    assert.equal(net.app.node(b.publicKey)?.participation, 'false')
    // Highest stake first: the fresh node staked 2000 FLK, the genesis nodes 1000.
    assert.deepEqual(net.app.epochInfo().committee, [fresh.publicKey, a.publicKey])
    // Only the digest of the vote executed after the change remains.
    assert.equal([...net.storage.table('executedDigests').entries()].length, 1)
    assert.deepEqual(net.app.reputation(b.publicKey).measurements, [])
    // The node that left is no longer a provider.
    assert.deepEqual(net.app.contentProviders(uri), [a.publicKey])
    // Latencies are kept across epochs.
    assert.equal(net.app.latencies().length, 1)
  })

  test('after idle epochs the next end stays on the genesis grid, after the block time', () => {
    const net = createNetwork(1)
    net.run([vote(net.nodes[0], 0)], END + 3 * EPOCH_MS + 5)
    const info = net.app.epochInfo()
    assert.equal(info.epochStartMs, END)
    assert.equal(info.epochEndMs, END + 4 * EPOCH_MS)
  })

  test('the supply at the start of the year rolls over every epochsPerYear epochs', () => {
    const net = createNetwork(1, { params: { epochsPerYear: 2 } })
    const bob = makeAccount('bob')
    net.run([accountTx(bob, { method: 'Faucet', args: { token: 'flk', amount: 7n * FLK } })])
    const start = net.app.supply().yearStart
    net.run([vote(net.nodes[0], 0)], END)
    assert.equal(net.app.supply().yearStart, start)
    net.run([vote(net.nodes[0], 1)], END + EPOCH_MS)
    assert.equal(net.app.supply().yearStart, start + 7n * FLK)
  })
})

describe('committee selection', () => {
  const node = (i: number, staked: bigint, participation: NodeInfo['participation'] = 'true'): NodeInfo => ({
    publicKey: new Uint8Array(32).fill(i),
    owner: '0x' + '00'.repeat(20),
    consensusKey: new Uint8Array(48),
    host: 'h',
    ports: defaultNodePorts,
    stake: { staked, locked: 0n, lockedUntil: 0, stakeLockedUntil: 0 },
    stakedSince: 0,
    participation,
    nonce: 0,
  })

  test('top stakers among participating nodes with the minimum stake, ties by public key', () => {
    const params = { ...defaultProtocolParams, committeeSize: 3, nodeCount: 10 }
    const nodes = [
      node(1, 1000n * FLK),
      node(2, 5000n * FLK),
      node(3, 999n * FLK),
      node(4, 9000n * FLK, 'optedIn'),
      node(5, 1000n * FLK),
      node(6, 9000n * FLK, 'false'),
      node(7, 1000n * FLK),
    ]
    assert.deepEqual(
      chooseCommittee(nodes, params).map((k) => k[0]),
      [2, 1, 5],
    )
    assert.deepEqual(
      chooseCommittee(nodes, { ...params, nodeCount: 1, committeeSize: 1 }).map((k) => k[0]),
      [2],
    )
  })
})

describe('rewards', () => {
  test('boost grows linearly with the lock, up to maxBoost', () => {
    const p = defaultProtocolParams
    assert.equal(computeBoost(0, 0, p), FLK)
    assert.equal(computeBoost(146, 0, p), (13n * FLK) / 10n)
    assert.equal(computeBoost(1460, 0, p), 4n * FLK)
    assert.equal(computeBoost(5000, 0, p), 4n * FLK)
    assert.equal(computeBoost(10, 20, p), FLK)
  })

  test('stablecoin revenue shares and FLK emissions go to node and service owners (reference §3.7)', () => {
    const alice = makeAccount('alice')
    const bob = makeAccount('bob')
    const carol = makeAccount('carol')
    const [a, b] = [makeNode('a'), makeNode('b')]
    const genesis = createDevnetGenesis({
      nodes: [
        { owner: alice.address, publicKey: a.publicKey, consensusKey: a.consensusKey },
        { owner: bob.address, publicKey: b.publicKey, consensusKey: b.consensusKey },
      ],
      chainId: CHAIN_ID,
      epochTimeMs: EPOCH_MS,
      epochStartMs: START_MS,
      params: { protocolShare: 10, nodeShare: 70, serviceBuilderShare: 20 },
    })
    genesis.services = genesis.services.map((s) => ({ ...s, owner: carol.address }))
    genesis.protocolFundAddress = makeAccount('fund').address
    const storage = new MemoryStorage()
    const app = Application.open(storage, genesis)
    app.executeBlock({
      transactions: [
        accountTx(alice, { method: 'StakeLock', args: { node: a.publicKey, lockedForEpochs: 146 } }),
      ],
      timestampMs: START_MS,
    })
    // No transaction credits served work while client acknowledgements go unverified
    // (DELIVERY_ACKNOWLEDGMENTS_UNVERIFIED): the epoch's served records are written here as a verified
    // aggregation will write them, and the epoch change runs on that state.
    const state = new State(new StateOverlay(storage))
    recordServed(state, a, 0, 1000n, 1n) // bandwidth × 1 → revenue 1000
    recordServed(state, b, 1, 30n, 10n) // compute × 10 → revenue 300
    const before = {
      alice: state.getAccount(alice.address),
      bob: state.getAccount(bob.address),
      supply: state.getMetaAmount('totalSupply'),
    }
    assert.equal(changeEpoch(state, END), 1)
    const account = (address: string) => state.getAccount(address)

    const emissions = (1_000_000n * FLK * 10n) / 100n / 8760n
    const nodeEmissions = (emissions * 70n) / 100n
    const shareA = 1000n * ((13n * FLK) / 10n)
    const shareB = 300n * FLK
    const flkA = (nodeEmissions * shareA) / (shareA + shareB)
    const flkB = (nodeEmissions * shareB) / (shareA + shareB)
    const builder = (emissions * 20n) / 100n
    const flkCarol = (builder * 1000n) / 1300n + (builder * 300n) / 1300n
    const flkFund = (emissions * 10n) / 100n

    assert.equal(account(alice.address).flk - before.alice.flk, flkA)
    assert.equal(account(bob.address).flk - before.bob.flk, flkB)
    assert.equal(account(alice.address).usd, 700n)
    assert.equal(account(bob.address).usd, 210n)
    assert.equal(account(carol.address).flk, flkCarol)
    assert.equal(account(carol.address).usd, 200n + 60n)
    assert.equal(account(genesis.protocolFundAddress).flk, flkFund)
    assert.equal(account(genesis.protocolFundAddress).usd, 130n)
    assert.equal(state.getMetaAmount('totalSupply') - before.supply, flkA + flkB + flkCarol + flkFund)
    // The served record of the old epoch stays; the new epoch starts empty.
    assert.equal(state.getTotalServed(0).rewardPool, 1300n)
    assert.equal(state.listServed(1).length, 0)
  })

  test('an epoch without revenue pays nothing', () => {
    const net = createNetwork(1)
    const supply = net.app.supply().total
    const owner = net.app.account(net.owner.address)
    net.run([vote(net.nodes[0], 0)], END)
    assert.equal(net.app.supply().total, supply)
    assert.deepEqual({ ...net.app.account(net.owner.address), nonce: 0 }, { ...owner, nonce: 0 })
  })
})
