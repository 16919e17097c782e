import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'
import { toHex } from '../../../../src/lib/b3/index.ts'
import { isFleekError } from '../../../../src/lib/errors.ts'
import {
  defaultNodePorts,
  type FailReason,
  type RejectReason,
} from '../../../../src/node/application/index.ts'
import { getAccountPublicKey, type MethodCall } from '../../../../src/lib/tx/index.ts'
import {
  aggregatePublicKeys,
  CONSENSUS_POP_DST,
  derivePublicKey,
  proveConsensusKey,
  signConsensus,
  verifyConsensus,
} from '../../../../src/lib/keys/index.ts'
import { bls, G1Point } from '../../../../src/lib/keys/bls12-381.ts'
import {
  CHAIN_ID,
  EPOCH_MS,
  FLK,
  START_MS,
  USD,
  accountTx,
  createNetwork,
  diffState,
  dumpState,
  makeAccount,
  makeConsensusSecret,
  makeNode,
  nodeTx,
  type Network,
  type TestAccount,
  type TestNode,
} from './fixtures.ts'

function runOne(net: Network, tx: Uint8Array, timestampMs = START_MS) {
  const result = net.run([tx], timestampMs)
  assert.equal(result.receipts.length, 1)
  return result.receipts[0]
}

function expectSuccess(net: Network, tx: Uint8Array, timestampMs?: number) {
  const receipt = runOne(net, tx, timestampMs)
  assert.equal(receipt.status, 'success', `expected success, got ${receipt.reason}`)
  return receipt
}

/**
 * A failed transaction changes only the sender's nonce, the executed digests and the height — and an
 * account's recorded public key, on its first transaction.
 */
function expectFailed(
  net: Network,
  tx: Uint8Array,
  reason: FailReason,
  sender: TestAccount | TestNode,
  timestampMs?: number,
) {
  const before = dumpState(net.storage)
  const receipt = runOne(net, tx, timestampMs)
  assert.equal(receipt.status, 'failed')
  assert.equal(receipt.reason, reason)
  const senderKey = 'address' in sender ? `accounts/${sender.address}` : `nodes/${toHex(sender.publicKey)}`
  const changed = diffState(before, dumpState(net.storage))
  const allowed = new Set([
    senderKey,
    ...('address' in sender ? [`accountKeys/${sender.address}`] : []),
    'meta/height',
    `executedDigests/${toHex(receipt.txHash as Uint8Array)}`,
  ])
  assert.deepEqual(
    changed.filter((k) => !allowed.has(k)),
    [],
    `unexpected changes for ${reason}`,
  )
  if ('address' in sender) {
    assert.equal(net.app.account(sender.address).nonce, sender.nonce)
    assert.deepEqual(net.app.accountPublicKey(sender.address), getAccountPublicKey(sender.secret))
  } else assert.equal(net.app.node(sender.publicKey)?.nonce, sender.nonce)
  return receipt
}

/** A rejected transaction changes nothing but the height; its nonce is not consumed. */
function expectRejected(net: Network, tx: Uint8Array, reason: RejectReason) {
  const before = dumpState(net.storage)
  const receipt = runOne(net, tx)
  assert.equal(receipt.status, 'rejected')
  assert.equal(receipt.reason, reason)
  assert.deepEqual(diffState(before, dumpState(net.storage)), ['meta/height'])
  return receipt
}

const transfer = (to: string, amount: bigint, token: 'flk' | 'usd' = 'flk'): MethodCall => ({
  method: 'Transfer',
  args: { to, token, amount },
})

function registerCall(n: TestNode, amount: bigint): MethodCall {
  return {
    method: 'Stake',
    args: {
      amount,
      node: n.publicKey,
      consensusKey: n.consensusKey,
      consensusKeyProof: n.consensusKeyProof,
      host: '10.0.0.9',
      ports: defaultNodePorts,
    },
  }
}

describe('rejected transactions change nothing, not even the nonce', () => {
  test('MALFORMED: bytes that do not decode', () => {
    const net = createNetwork()
    const receipt = expectRejected(net, new Uint8Array([1, 2, 3]), 'MALFORMED')
    assert.equal(receipt.txHash, undefined)
  })

  test('WRONG_CHAIN_ID', () => {
    const net = createNetwork()
    expectRejected(
      net,
      accountTx(net.owner, transfer(makeAccount('b').address, 1n), { chainId: CHAIN_ID + 1 }),
      'WRONG_CHAIN_ID',
    )
    assert.equal(net.app.account(net.owner.address).nonce, 0)
  })

  test('INVALID_SIGNATURE: a flipped signature bit', () => {
    const net = createNetwork()
    const bytes = accountTx(net.owner, transfer(makeAccount('b').address, 1n))
    const tx = dagCbor.decode<{ payload: unknown; signature: Uint8Array }>(bytes)
    tx.signature[3] ^= 1
    expectRejected(net, dagCbor.encode(tx), 'INVALID_SIGNATURE')
    const node = makeNode('stranger')
    const other = nodeTx(net.nodes[0], { method: 'IncrementNonce', args: {} })
    const forged = dagCbor.decode<{ payload: { sender: { node: Uint8Array } }; signature: Uint8Array }>(other)
    forged.payload.sender.node = node.publicKey
    expectRejected(net, dagCbor.encode(forged), 'INVALID_SIGNATURE')
  })

  test('DUPLICATE: the same transaction again, in the same block or a later one', () => {
    const net = createNetwork()
    const bob = makeAccount('bob')
    const tx = accountTx(net.owner, transfer(bob.address, FLK))
    const first = net.run([tx, tx])
    assert.deepEqual(
      first.receipts.map((r) => [r.status, r.reason]),
      [
        ['success', undefined],
        ['rejected', 'DUPLICATE'],
      ],
    )
    expectRejected(net, tx, 'DUPLICATE')
    assert.equal(net.app.account(bob.address).flk, FLK)
    // The stored receipt stays the successful one.
    assert.equal(net.app.receipt(first.receipts[0].txHash as Uint8Array)?.status, 'success')
  })

  test('INVALID_NONCE: too high or already used', () => {
    const net = createNetwork()
    expectRejected(
      net,
      accountTx(net.owner, transfer(makeAccount('b').address, 1n), { nonce: 2 }),
      'INVALID_NONCE',
    )
    expectRejected(
      net,
      accountTx(net.owner, { method: 'IncrementNonce', args: {} }, { nonce: 0 }),
      'INVALID_NONCE',
    )
  })

  test('UNKNOWN_NODE: a node sender that is not registered', () => {
    const net = createNetwork()
    expectRejected(net, nodeTx(makeNode('stranger'), { method: 'IncrementNonce', args: {} }), 'UNKNOWN_NODE')
  })
})

describe('Transfer', () => {
  test('moves FLK and stablecoins; failure reasons', () => {
    const net = createNetwork()
    const bob = makeAccount('bob')
    expectSuccess(net, accountTx(net.owner, transfer(bob.address, 250n * FLK)))
    assert.equal(net.app.account(bob.address).flk, 250n * FLK)
    assert.equal(net.app.account(net.owner.address).flk, 9750n * FLK)
    assert.equal(net.app.account(net.owner.address).nonce, 1)
    expectSuccess(net, accountTx(net.owner, { method: 'Faucet', args: { token: 'usd', amount: 10n * USD } }))
    expectSuccess(net, accountTx(net.owner, transfer(bob.address, 3n * USD, 'usd')))
    assert.equal(net.app.account(bob.address).usd, 3n * USD)
    expectFailed(net, accountTx(bob, transfer(net.owner.address, 251n * FLK)), 'INSUFFICIENT_BALANCE', bob)
    expectFailed(net, accountTx(bob, transfer(net.owner.address, 0n)), 'INVALID_AMOUNT', bob)
    expectFailed(net, nodeTx(net.nodes[0], transfer(bob.address, 1n)), 'WRONG_SENDER_TYPE', net.nodes[0])
  })
})

describe('Stake, StakeLock, Unstake, WithdrawUnstaked', () => {
  test('the first stake registers a node; later ones add to it', () => {
    const net = createNetwork()
    const n = makeNode('new')
    expectSuccess(net, accountTx(net.owner, registerCall(n, 600n * FLK)))
    const info = net.app.node(n.publicKey)
    assert.ok(info)
    assert.equal(info.owner, net.owner.address)
    assert.equal(info.stake.staked, 600n * FLK)
    assert.equal(info.participation, 'false')
    assert.equal(info.host, '10.0.0.9')
    assert.deepEqual(info.consensusKey, n.consensusKey)
    expectSuccess(
      net,
      accountTx(net.owner, { method: 'Stake', args: { amount: 400n * FLK, node: n.publicKey } }),
    )
    assert.equal(net.app.node(n.publicKey)?.stake.staked, 1000n * FLK)
    assert.equal(net.app.account(net.owner.address).flk, 9000n * FLK)
    assert.equal(net.app.nodes().length, 2)
  })

  test('Stake failure reasons', () => {
    const net = createNetwork()
    const bob = makeAccount('bob')
    expectSuccess(net, accountTx(net.owner, transfer(bob.address, 100n * FLK)))
    const n = makeNode('new')
    expectFailed(
      net,
      accountTx(bob, { method: 'Stake', args: { amount: FLK, node: n.publicKey } }),
      'MISSING_NODE_INFO',
      bob,
    )
    expectFailed(net, accountTx(bob, registerCall(n, 101n * FLK)), 'INSUFFICIENT_BALANCE', bob)
    expectFailed(net, accountTx(bob, registerCall(n, 0n)), 'INVALID_AMOUNT', bob)
    expectFailed(
      net,
      accountTx(bob, { method: 'Stake', args: { amount: FLK, node: net.nodes[0].publicKey } }),
      'NOT_NODE_OWNER',
      bob,
    )
    // a copied proof is a valid one: the key is refused for being in use
    const clash = {
      ...n,
      consensusKey: net.nodes[0].consensusKey,
      consensusKeyProof: net.nodes[0].consensusKeyProof,
    }
    expectFailed(net, accountTx(bob, registerCall(clash, FLK)), 'CONSENSUS_KEY_IN_USE', bob)
    expectFailed(net, nodeTx(net.nodes[0], registerCall(n, FLK)), 'WRONG_SENDER_TYPE', net.nodes[0])
  })

  test('a registration must prove possession of its consensus key (no rogue aggregate keys)', () => {
    const net = createNetwork(2)
    const [a, b] = net.nodes
    const n = makeNode('registrant')
    const attacker = makeConsensusSecret('attacker')
    const attackerKey = derivePublicKey(attacker)
    // K' = K_attacker − K_A − K_B: committee {A, B, K'} aggregates to K_attacker, whose secret it knows
    const rogueKey = G1Point.fromBytes(attackerKey)
      .subtract(G1Point.fromBytes(a.consensusKey))
      .subtract(G1Point.fromBytes(b.consensusKey))
      .toBytes(true)
    const message = new Uint8Array(32).fill(7)
    const forged = signConsensus(attacker, message)
    assert.ok(
      verifyConsensus(aggregatePublicKeys([a.consensusKey, b.consensusKey, rogueKey]), message, forged),
    )
    // the best the attacker can offer for K': its own key's proof, or its own signature of K' as a PoP
    const roguePoP = bls.Signature.toBytes(bls.sign(bls.hash(rogueKey, CONSENSUS_POP_DST), attacker.secret))
    const garbage = new Uint8Array(96).fill(0xab)
    const attempts: Array<[string, Uint8Array, Uint8Array]> = [
      ['a proof of another key', n.consensusKey, a.consensusKeyProof],
      ['a rogue key with the attacker’s proof', rogueKey, proveConsensusKey(attacker)],
      ['a rogue key with a proof signed by the attacker', rogueKey, roguePoP],
      ['a garbage proof', n.consensusKey, garbage],
      ['an all-zero proof', n.consensusKey, new Uint8Array(96)],
    ]
    const funds = net.app.account(net.owner.address).flk
    for (const [what, consensusKey, consensusKeyProof] of attempts) {
      const call: MethodCall = {
        method: 'Stake',
        args: {
          amount: FLK,
          node: n.publicKey,
          consensusKey,
          consensusKeyProof,
          host: 'h',
          ports: defaultNodePorts,
        },
      }
      expectFailed(net, accountTx(net.owner, call), 'INVALID_CONSENSUS_KEY_PROOF', net.owner)
      assert.equal(net.app.node(n.publicKey), undefined, what)
      assert.equal(net.app.account(net.owner.address).flk, funds, what)
    }
    // the same registration with the right proof goes through
    expectSuccess(net, accountTx(net.owner, registerCall(n, FLK)))
    assert.deepEqual(net.app.node(n.publicKey)?.consensusKey, n.consensusKey)
    // once registered, a later stake's key and proof are ignored, as the key never changes
    const later: MethodCall = {
      method: 'Stake',
      args: { amount: FLK, node: n.publicKey, consensusKey: rogueKey, consensusKeyProof: garbage },
    }
    expectSuccess(net, accountTx(net.owner, later))
    assert.deepEqual(net.app.node(n.publicKey)?.consensusKey, n.consensusKey)
  })

  test('StakeLock locks the stake against unstaking, within the maximum lock', () => {
    const net = createNetwork()
    const pk = net.nodes[0].publicKey
    expectSuccess(net, accountTx(net.owner, { method: 'StakeLock', args: { node: pk, lockedForEpochs: 10 } }))
    assert.equal(net.app.node(pk)?.stake.stakeLockedUntil, 10)
    expectFailed(
      net,
      accountTx(net.owner, { method: 'Unstake', args: { node: pk, amount: FLK } }),
      'STAKE_LOCKED',
      net.owner,
    )
    expectFailed(
      net,
      accountTx(net.owner, { method: 'StakeLock', args: { node: pk, lockedForEpochs: 1451 } }),
      'LOCK_TOO_LONG',
      net.owner,
    )
    expectFailed(
      net,
      accountTx(net.owner, { method: 'StakeLock', args: { node: pk, lockedForEpochs: 0 } }),
      'INVALID_AMOUNT',
      net.owner,
    )
    const unknown = makeNode('unknown').publicKey
    expectFailed(
      net,
      accountTx(net.owner, { method: 'StakeLock', args: { node: unknown, lockedForEpochs: 1 } }),
      'NODE_NOT_FOUND',
      net.owner,
    )
    const bob = makeAccount('bob')
    expectFailed(
      net,
      accountTx(bob, { method: 'StakeLock', args: { node: pk, lockedForEpochs: 1 } }),
      'NOT_NODE_OWNER',
      bob,
    )
  })

  test('Unstake moves stake to locked, opts the node out below the minimum; WithdrawUnstaked after the lock time', () => {
    const net = createNetwork(1, { params: { lockTime: 0 } })
    const pk = net.nodes[0].publicKey
    expectFailed(
      net,
      accountTx(net.owner, { method: 'WithdrawUnstaked', args: { node: pk } }),
      'NOTHING_TO_WITHDRAW',
      net.owner,
    )
    expectFailed(
      net,
      accountTx(net.owner, { method: 'Unstake', args: { node: pk, amount: 1001n * FLK } }),
      'INSUFFICIENT_STAKE',
      net.owner,
    )
    expectFailed(
      net,
      accountTx(net.owner, { method: 'Unstake', args: { node: pk, amount: 0n } }),
      'INVALID_AMOUNT',
      net.owner,
    )
    expectSuccess(net, accountTx(net.owner, { method: 'Unstake', args: { node: pk, amount: 10n * FLK } }))
    const info = net.app.node(pk)
    assert.equal(info?.stake.staked, 990n * FLK)
    assert.equal(info?.stake.locked, 10n * FLK)
    assert.equal(info?.stake.lockedUntil, 0)
    assert.equal(info?.participation, 'optedOut')
    const carol = makeAccount('carol')
    expectSuccess(
      net,
      accountTx(net.owner, { method: 'WithdrawUnstaked', args: { node: pk, recipient: carol.address } }),
    )
    assert.equal(net.app.account(carol.address).flk, 10n * FLK)
    assert.equal(net.app.node(pk)?.stake.locked, 0n)
  })

  test('WithdrawUnstaked before the lock time has passed fails', () => {
    const net = createNetwork()
    const pk = net.nodes[0].publicKey
    expectSuccess(net, accountTx(net.owner, { method: 'Unstake', args: { node: pk, amount: FLK } }))
    assert.equal(net.app.node(pk)?.stake.lockedUntil, 5)
    expectFailed(
      net,
      accountTx(net.owner, { method: 'WithdrawUnstaked', args: { node: pk } }),
      'WITHDRAW_LOCKED',
      net.owner,
    )
  })
})

describe('OptIn and OptOut', () => {
  test('a new node opts in with enough stake; opting out and back in', () => {
    const net = createNetwork()
    const n = makeNode('new')
    expectSuccess(net, accountTx(net.owner, registerCall(n, 999n * FLK)))
    expectFailed(net, nodeTx(n, { method: 'OptIn', args: {} }), 'INSUFFICIENT_STAKE', n)
    expectFailed(net, nodeTx(n, { method: 'OptOut', args: {} }), 'NOT_PARTICIPATING', n)
    expectSuccess(net, accountTx(net.owner, { method: 'Stake', args: { amount: FLK, node: n.publicKey } }))
    expectSuccess(net, nodeTx(n, { method: 'OptIn', args: {} }))
    assert.equal(net.app.node(n.publicKey)?.participation, 'optedIn')
    expectFailed(net, nodeTx(n, { method: 'OptIn', args: {} }), 'ALREADY_PARTICIPATING', n)
    expectSuccess(net, nodeTx(n, { method: 'OptOut', args: {} }))
    assert.equal(net.app.node(n.publicKey)?.participation, 'false')
    const genesisNode = net.nodes[0]
    expectFailed(
      net,
      nodeTx(genesisNode, { method: 'OptIn', args: {} }),
      'ALREADY_PARTICIPATING',
      genesisNode,
    )
    expectSuccess(net, nodeTx(genesisNode, { method: 'OptOut', args: {} }))
    assert.equal(net.app.node(genesisNode.publicKey)?.participation, 'optedOut')
    expectSuccess(net, nodeTx(genesisNode, { method: 'OptIn', args: {} }))
    assert.equal(net.app.node(genesisNode.publicKey)?.participation, 'true')
    expectFailed(net, accountTx(net.owner, { method: 'OptIn', args: {} }), 'WRONG_SENDER_TYPE', net.owner)
  })
})

describe('ChangeEpoch failure reasons', () => {
  test('not a member, wrong epoch, too early, twice', () => {
    const net = createNetwork(4)
    const late = START_MS + EPOCH_MS
    const outsider = makeNode('outsider')
    expectSuccess(net, accountTx(net.owner, registerCall(outsider, 1000n * FLK)))
    expectFailed(
      net,
      nodeTx(outsider, { method: 'ChangeEpoch', args: { epoch: 0 } }),
      'NOT_COMMITTEE_MEMBER',
      outsider,
      late,
    )
    const [a] = net.nodes
    expectFailed(net, nodeTx(a, { method: 'ChangeEpoch', args: { epoch: 1 } }), 'EPOCH_MISMATCH', a, late)
    expectFailed(
      net,
      nodeTx(a, { method: 'ChangeEpoch', args: { epoch: 0 } }),
      'EPOCH_NOT_ENDED',
      a,
      late - 1,
    )
    expectSuccess(net, nodeTx(a, { method: 'ChangeEpoch', args: { epoch: 0 } }), late)
    expectFailed(net, nodeTx(a, { method: 'ChangeEpoch', args: { epoch: 0 } }), 'ALREADY_SIGNALLED', a, late)
    assert.equal(net.app.epochInfo().epoch, 0)
    assert.equal(net.app.epochInfo().readyToChange.length, 1)
  })
})

describe('SubmitReputationMeasurements', () => {
  test('stores measurements and latencies; at most two submissions per epoch; refuses self and unknown nodes', () => {
    const net = createNetwork(3)
    const [a, b, c] = net.nodes
    expectSuccess(
      net,
      nodeTx(a, {
        method: 'SubmitReputationMeasurements',
        args: {
          measurements: [
            { node: b.publicKey, latencyMs: 12 },
            { node: c.publicKey, uptimePercent: 90 },
          ],
        },
      }),
    )
    const rep = net.app.reputation(b.publicKey)
    assert.deepEqual(rep.measurements, [{ reporter: a.publicKey, latencyMs: 12 }])
    assert.deepEqual(
      net.app.latencies().map((l) => l.latencyMs),
      [12],
    )
    // The first measurement is valid, the second is not: nothing of the transaction stays.
    expectFailed(
      net,
      nodeTx(a, {
        method: 'SubmitReputationMeasurements',
        args: { measurements: [{ node: b.publicKey, latencyMs: 99 }, { node: a.publicKey }] },
      }),
      'INVALID_MEASUREMENT',
      a,
    )
    expectFailed(
      net,
      nodeTx(a, {
        method: 'SubmitReputationMeasurements',
        args: { measurements: [{ node: makeNode('x').publicKey }] },
      }),
      'INVALID_MEASUREMENT',
      a,
    )
    expectSuccess(
      net,
      nodeTx(a, {
        method: 'SubmitReputationMeasurements',
        args: { measurements: [{ node: b.publicKey, latencyMs: 14 }] },
      }),
    )
    expectFailed(
      net,
      nodeTx(a, { method: 'SubmitReputationMeasurements', args: { measurements: [{ node: b.publicKey }] } }),
      'TOO_MANY_SUBMISSIONS',
      a,
    )
    assert.deepEqual(net.app.reputation(b.publicKey).measurements, [{ reporter: a.publicKey, latencyMs: 14 }])
  })

  test('an unstaked node may not submit', () => {
    const net = createNetwork()
    const n = makeNode('new')
    expectSuccess(net, accountTx(net.owner, registerCall(n, FLK)))
    const call: MethodCall = {
      method: 'SubmitReputationMeasurements',
      args: { measurements: [{ node: net.nodes[0].publicKey }] },
    }
    expectFailed(net, nodeTx(n, call), 'INSUFFICIENT_STAKE', n)
  })
})

describe('SubmitDeliveryAcknowledgmentAggregation', () => {
  const dack = (serviceId: number, commodity: bigint, proofs: Uint8Array[] = []): MethodCall => ({
    method: 'SubmitDeliveryAcknowledgmentAggregation',
    args: { serviceId, commodity, proofs },
  })

  test('is refused with DELIVERY_ACKNOWLEDGMENTS_UNVERIFIED: no served commodity, revenue or pool is credited', () => {
    const net = createNetwork(2)
    const [a, b] = net.nodes
    const servedBefore = net.app.served()
    // A staked node, an existing service, a non-zero claim, with or without (unverifiable) proofs:
    // expectFailed also checks that nothing but the sender's nonce and the digest changed.
    expectFailed(net, nodeTx(a, dack(0, 1000n)), 'DELIVERY_ACKNOWLEDGMENTS_UNVERIFIED', a)
    expectFailed(
      net,
      nodeTx(b, dack(1, 30n, [new Uint8Array(64).fill(1)])),
      'DELIVERY_ACKNOWLEDGMENTS_UNVERIFIED',
      b,
    )
    expectFailed(net, nodeTx(a, dack(99, 1n)), 'DELIVERY_ACKNOWLEDGMENTS_UNVERIFIED', a)
    const served = net.app.served()
    assert.deepEqual(served, servedBefore)
    assert.deepEqual(served.nodes, [])
    assert.equal(served.total.rewardPool, 0n)
    assert.deepEqual(served.total.served, [0n, 0n, 0n])
    // The node's next transaction follows the consumed nonce.
    expectSuccess(net, nodeTx(a, { method: 'IncrementNonce', args: {} }))
  })

  test('from an account it is refused as a node method', () => {
    const net = createNetwork()
    expectFailed(net, accountTx(net.owner, dack(0, 1n)), 'WRONG_SENDER_TYPE', net.owner)
  })
})

describe('UpdateContentRegistry', () => {
  test('adds and removes the sender as a provider of content', () => {
    const net = createNetwork(2)
    const [a, b] = net.nodes
    const uri = new Uint8Array(32).fill(7)
    expectSuccess(
      net,
      nodeTx(a, { method: 'UpdateContentRegistry', args: { updates: [{ uri, remove: false }] } }),
    )
    expectSuccess(
      net,
      nodeTx(b, { method: 'UpdateContentRegistry', args: { updates: [{ uri, remove: false }] } }),
    )
    assert.equal(net.app.contentProviders(uri).length, 2)
    expectSuccess(
      net,
      nodeTx(a, { method: 'UpdateContentRegistry', args: { updates: [{ uri, remove: true }] } }),
    )
    assert.deepEqual(net.app.contentProviders(uri), [b.publicKey])
    const n = makeNode('new')
    expectSuccess(net, accountTx(net.owner, registerCall(n, FLK)))
    expectFailed(
      net,
      nodeTx(n, { method: 'UpdateContentRegistry', args: { updates: [{ uri, remove: false }] } }),
      'INSUFFICIENT_STAKE',
      n,
    )
  })
})

describe('governance: AddService and ChangeProtocolParam', () => {
  test('only the governance account, with valid values', () => {
    const net = createNetwork()
    const bob = makeAccount('bob')
    const addService: MethodCall = {
      method: 'AddService',
      args: { serviceId: 5, owner: bob.address, commodityType: 'gpu' },
    }
    expectFailed(net, accountTx(bob, addService), 'NOT_GOVERNANCE', bob)
    expectSuccess(net, accountTx(net.owner, addService))
    assert.deepEqual(
      net.app.services().map((s) => s.id),
      [0, 1, 5],
    )
    expectFailed(net, accountTx(net.owner, addService), 'SERVICE_EXISTS', net.owner)

    const change = (value: number): MethodCall => ({
      method: 'ChangeProtocolParam',
      args: { param: 'committeeSize', value },
    })
    expectFailed(net, accountTx(bob, change(7)), 'NOT_GOVERNANCE', bob)
    expectFailed(net, accountTx(net.owner, change(0)), 'INVALID_PARAM_VALUE', net.owner)
    expectFailed(
      net,
      accountTx(net.owner, { method: 'ChangeProtocolParam', args: { param: 'nodeShare', value: 81 } }),
      'INVALID_PARAM_VALUE',
      net.owner,
    )
    expectSuccess(net, accountTx(net.owner, change(7)))
    assert.equal(net.app.params().committeeSize, 7)
  })
})

describe('IncrementNonce and Faucet', () => {
  test('IncrementNonce bumps the nonce of an account or a node and nothing else', () => {
    const net = createNetwork()
    const before = dumpState(net.storage)
    expectSuccess(net, accountTx(net.owner, { method: 'IncrementNonce', args: {} }))
    expectSuccess(net, nodeTx(net.nodes[0], { method: 'IncrementNonce', args: {} }))
    const changed = diffState(before, dumpState(net.storage)).filter((k) => !k.startsWith('executedDigests/'))
    // The account's first transaction also records its public key.
    assert.deepEqual(changed, [
      `accountKeys/${net.owner.address}`,
      `accounts/${net.owner.address}`,
      'meta/height',
      `nodes/${toHex(net.nodes[0].publicKey)}`,
    ])
    assert.equal(net.app.account(net.owner.address).nonce, 1)
    assert.equal(net.app.node(net.nodes[0].publicKey)?.nonce, 1)
    const again = dumpState(net.storage)
    expectSuccess(net, accountTx(net.owner, { method: 'IncrementNonce', args: {} }))
    const changedAgain = diffState(again, dumpState(net.storage)).filter(
      (k) => !k.startsWith('executedDigests/'),
    )
    assert.deepEqual(changedAgain, [`accounts/${net.owner.address}`, 'meta/height'])
  })

  test('Faucet mints to the sender and grows the supply, only when genesis enables it', () => {
    const net = createNetwork()
    const bob = makeAccount('bob')
    const supply = net.app.supply().total
    expectSuccess(net, accountTx(bob, { method: 'Faucet', args: { token: 'flk', amount: 5n * FLK } }))
    assert.equal(net.app.account(bob.address).flk, 5n * FLK)
    assert.equal(net.app.supply().total, supply + 5n * FLK)
    expectFailed(
      net,
      accountTx(bob, { method: 'Faucet', args: { token: 'usd', amount: 1_000_001n * USD } }),
      'INVALID_AMOUNT',
      bob,
    )
    expectFailed(
      net,
      nodeTx(net.nodes[0], { method: 'Faucet', args: { token: 'flk', amount: 1n } }),
      'WRONG_SENDER_TYPE',
      net.nodes[0],
    )
    const closed = createNetwork(1, { faucet: false })
    const carol = makeAccount('carol')
    expectFailed(
      closed,
      accountTx(carol, { method: 'Faucet', args: { token: 'flk', amount: 1n } }),
      'FAUCET_DISABLED',
      carol,
    )
  })
})

describe('blocks and receipts', () => {
  test('heights, roots and receipts are recorded per block', () => {
    const net = createNetwork()
    const genesisRoot = net.app.stateRoot()
    assert.equal(net.app.height(), 0)
    const bob = makeAccount('bob')
    const r1 = net.run([accountTx(net.owner, transfer(bob.address, FLK)), new Uint8Array([0])], START_MS + 5)
    assert.equal(r1.height, 1)
    assert.deepEqual(r1.prevStateRoot, genesisRoot)
    assert.notDeepEqual(r1.stateRoot, genesisRoot)
    const block = net.app.block(1)
    assert.equal(block?.timestampMs, START_MS + 5)
    assert.deepEqual(block?.stateRoot, r1.stateRoot)
    assert.deepEqual(block?.txHashes, [r1.receipts[0].txHash])
    assert.deepEqual(net.app.receipt(r1.receipts[0].txHash as Uint8Array), r1.receipts[0])
    assert.deepEqual(net.app.receipt(toHex(r1.receipts[0].txHash as Uint8Array)), r1.receipts[0])
    // A rejected transaction's receipt is kept until the transaction executes; then the applied one wins.
    const early = accountTx(net.owner, { method: 'IncrementNonce', args: {} }, { nonce: 3 })
    const rejected = net.run([early]).receipts[0]
    assert.equal(net.app.receipt(rejected.txHash as Uint8Array)?.reason, 'INVALID_NONCE')
    net.run([accountTx(net.owner, { method: 'IncrementNonce', args: {} }), early])
    assert.equal(net.app.receipt(rejected.txHash as Uint8Array)?.status, 'success')
    assert.equal(net.app.account(net.owner.address).nonce, 3)
    const r2 = net.run([])
    assert.equal(r2.height, 4)
    assert.deepEqual(r2.prevStateRoot, net.app.block(3)?.stateRoot)
    assert.equal(net.app.block(5), undefined)
    for (const bad of [
      { transactions: 'x' as unknown as Uint8Array[], timestampMs: 1 },
      { transactions: [], timestampMs: -1 },
      { transactions: [], timestampMs: 1.5 },
    ]) {
      assert.throws(
        () => net.app.executeBlock(bad),
        (err: unknown) => isFleekError(err, 'INVALID_INPUT'),
      )
    }
    assert.equal(net.app.height(), 4)
  })
})

describe('account public keys: recorded by the first transaction, then checked against', () => {
  /** The same encoded transaction with its signature's v changed to `v`. */
  const withV = (bytes: Uint8Array, v: number): Uint8Array => {
    const tx = dagCbor.decode<{ payload: unknown; signature: Uint8Array }>(bytes)
    tx.signature[64] = v
    return dagCbor.encode(tx)
  }
  const otherV = (bytes: Uint8Array): Uint8Array => {
    const v = dagCbor.decode<{ signature: Uint8Array }>(bytes).signature[64]
    return withV(bytes, v === 27 ? 28 : 27)
  }

  test('a rejected first transaction records nothing; a failed one records the key', () => {
    const net = createNetwork()
    const bob = makeAccount('bob')
    assert.equal(net.app.accountPublicKey(bob.address), undefined)
    expectRejected(net, accountTx(bob, transfer(net.owner.address, 1n), { nonce: 5 }), 'INVALID_NONCE')
    assert.equal(net.app.accountPublicKey(bob.address), undefined)
    expectFailed(net, accountTx(bob, transfer(net.owner.address, 1n)), 'INSUFFICIENT_BALANCE', bob)
    assert.deepEqual(net.app.accountPublicKey(bob.address), getAccountPublicKey(bob.secret))
    // Also in the state root: a proof of the entry verifies against it.
    const proof = net.app.stateProof('accountKeys', bob.address)
    assert.deepEqual(proof.value, dagCbor.encode(getAccountPublicKey(bob.secret)))
  })

  test('the other v: refused by recovery before the key is known, accepted against the known key', () => {
    const net = createNetwork()
    const bob = makeAccount('bob')
    const first = accountTx(net.owner, transfer(bob.address, FLK))
    // Before any transaction of the owner: recovery with the other v finds another signer.
    expectRejected(net, otherV(first), 'INVALID_SIGNATURE')
    expectSuccess(net, first)
    // Known key: the copy with the other v verifies (v is not bound), and executes at most once: the
    // two copies have the same digest.
    const second = accountTx(net.owner, transfer(bob.address, FLK))
    const copy = otherV(second)
    const receipts = net.run([copy, second]).receipts
    assert.deepEqual(
      receipts.map((r) => [r.status, r.reason]),
      [
        ['success', undefined],
        ['rejected', 'DUPLICATE'],
      ],
    )
    assert.equal(net.app.account(bob.address).flk, 2n * FLK)
    // v outside {0, 1, 27, 28} and a flipped bit stay refused on the known-key path.
    const third = accountTx(net.owner, transfer(bob.address, FLK))
    for (const v of [2, 26, 29, 255]) expectRejected(net, withV(third, v), 'INVALID_SIGNATURE')
    const flipped = dagCbor.decode<{ payload: unknown; signature: Uint8Array }>(third)
    flipped.signature[40] ^= 4
    expectRejected(net, dagCbor.encode(flipped), 'INVALID_SIGNATURE')
    // v as 0/1 is accepted as 27/28 are.
    const v = dagCbor.decode<{ signature: Uint8Array }>(third).signature[64]
    expectSuccess(net, withV(third, v - 27))
  })

  test('bytes verified at admission still record the key of a first transaction', () => {
    const net = createNetwork()
    const tx = accountTx(net.owner, { method: 'IncrementNonce', args: {} })
    const result = net.app.executeBlock({ transactions: [tx], timestampMs: START_MS, isVerified: () => true })
    assert.equal(result.receipts[0].status, 'success')
    assert.deepEqual(net.app.accountPublicKey(net.owner.address), getAccountPublicKey(net.owner.secret))
    // And a forged signature is still refused on a first transaction, whatever the cache says.
    const bob = makeAccount('bob')
    const forged = dagCbor.decode<{ payload: unknown; signature: Uint8Array }>(
      accountTx(bob, { method: 'IncrementNonce', args: {} }),
    )
    forged.signature[10] ^= 1
    const refused = net.app.executeBlock({
      transactions: [dagCbor.encode(forged)],
      timestampMs: START_MS,
      isVerified: () => true,
    })
    assert.equal(refused.receipts[0].reason, 'INVALID_SIGNATURE')
    assert.equal(net.app.accountPublicKey(bob.address), undefined)
  })

  test('a replay of the same blocks on another store gives the same keys and root', () => {
    const a = createNetwork()
    const bob = makeAccount('bob')
    const blocks = [
      [accountTx(a.owner, transfer(bob.address, FLK))],
      [accountTx(bob, transfer(a.owner.address, 1n)), accountTx(a.owner, transfer(bob.address, 1n))],
    ]
    for (const txs of blocks) a.run(txs)
    const b = createNetwork()
    for (const txs of blocks) b.run(txs)
    assert.deepEqual(b.app.stateRoot(), a.app.stateRoot())
    assert.deepEqual(b.app.accountPublicKey(bob.address), getAccountPublicKey(bob.secret))
  })
})
