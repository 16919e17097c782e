// State snapshots: a round trip rebuilds the same state and root; a tampered snapshot or another root
// is refused with nothing written; a node restored from a checkpoint then executing the next blocks
// reaches the same root as one that replayed every block from genesis.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import * as dagCbor from '@ipld/dag-cbor'

import { hash } from '../../../../src/lib/b3/index.ts'
import { isFleekError } from '../../../../src/lib/errors.ts'
import { derivePublicKey } from '../../../../src/lib/keys/index.ts'
import { Application } from '../../../../src/node/application/index.ts'
import {
  aggregateCheckpoint,
  decodeCheckpoint,
  encodeCheckpoint,
  exportSnapshot,
  computeCommitteeDigest,
  importSnapshot,
  signCheckpoint,
  verifyCheckpoint,
} from '../../../../src/node/checkpoint/index.ts'
import { ParcelProducer } from '../../../../src/node/parcels/index.ts'
import { MemoryStorage } from '../../../../src/node/storage/index.ts'
import {
  EPOCH_MS,
  FLK,
  START_MS,
  accountTx,
  createNetwork,
  dumpState,
  makeAccount,
  nodeTx,
} from '../application/fixtures.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const code = (c: string) => (e: unknown) => isFleekError(e, c as 'INTEGRITY')

/** A 4-node network that ran a few blocks of transfers; returns it with the blocks it ran. */
function runNetwork(blocks: number) {
  const net = createNetwork(4)
  const to = Array.from({ length: 5 }, (_, i) => makeAccount(`to ${i}`))
  const ran: Uint8Array[][] = []
  for (let b = 0; b < blocks; b++) {
    const txs = to.map((a, i) =>
      accountTx(net.owner, {
        method: 'Transfer',
        args: { to: a.address, token: 'flk', amount: BigInt(b * 10 + i + 1) * FLK },
      }),
    )
    net.run(txs, START_MS + b)
    ran.push(txs)
  }
  return { net, to }
}

/** A fresh node on the same genesis (what a late node has before it catches up). */
function freshNode(genesis: ReturnType<typeof createNetwork>['genesis']) {
  const storage = new MemoryStorage()
  Application.open(storage, genesis)
  return storage
}

describe('state snapshots', () => {
  test('round trip: same entries, same root, same bytes when exported again', () => {
    const { net } = runNetwork(3)
    const bytes = exportSnapshot(net.storage)
    assert.deepEqual(exportSnapshot(net.storage), bytes) // deterministic
    const storage = freshNode(net.genesis)
    const imported = importSnapshot(storage, bytes, net.app.stateRoot())
    assert.equal(hex(imported.stateRoot), hex(net.app.stateRoot()))
    assert.equal(imported.height, 3)
    assert.equal(imported.epoch, 0)
    const restored = Application.open(storage, net.genesis)
    assert.equal(hex(restored.stateRoot()), hex(net.app.stateRoot()))
    assert.deepEqual(dumpState(storage), dumpState(net.storage))
    assert.deepEqual(exportSnapshot(storage), bytes)
  })

  test('a tampered snapshot, another root or another chain is refused and nothing is written', () => {
    const { net } = runNetwork(2)
    const bytes = exportSnapshot(net.storage)
    const storage = freshNode(net.genesis)
    const before = dumpState(storage)
    const rootBefore = Application.open(storage, net.genesis).stateRoot()

    const snapshot = dagCbor.decode(bytes) as { tables: Record<string, Array<[string, Uint8Array]>> }
    const accounts = snapshot.tables.accounts
    const value = new Uint8Array(accounts[0][1])
    value[value.length - 1] ^= 1
    accounts[0] = [accounts[0][0], value]
    assert.throws(
      () => importSnapshot(storage, dagCbor.encode(snapshot), net.app.stateRoot()),
      code('INTEGRITY'),
    )
    // An entry dropped.
    const dropped = dagCbor.decode(bytes) as typeof snapshot
    dropped.tables.nodes.pop()
    assert.throws(
      () => importSnapshot(storage, dagCbor.encode(dropped), net.app.stateRoot()),
      code('INTEGRITY'),
    )
    // The right bytes against another root.
    assert.throws(() => importSnapshot(storage, bytes, new Uint8Array(32)), code('INTEGRITY'))
    assert.deepEqual(dumpState(storage), before)
    assert.equal(hex(Application.open(storage, net.genesis).stateRoot()), hex(rootBefore))

    assert.throws(
      () => importSnapshot(storage, Uint8Array.of(1, 2), net.app.stateRoot()),
      code('INVALID_INPUT'),
    )
    const unknownTable = dagCbor.decode(bytes) as typeof snapshot
    unknownTable.tables.other = []
    assert.throws(
      () => importSnapshot(storage, dagCbor.encode(unknownTable), net.app.stateRoot()),
      code('INVALID_INPUT'),
    )
    const otherChain = dagCbor.decode(bytes) as { genesisHash: Uint8Array }
    otherChain.genesisHash = new Uint8Array(32)
    assert.throws(
      () => importSnapshot(storage, dagCbor.encode(otherChain), net.app.stateRoot()),
      code('INVALID_INPUT'),
    )
    assert.deepEqual(dumpState(storage), before)
  })

  test('a late node restored from an epoch checkpoint, then executing the next blocks, matches a full replay', () => {
    const full = createNetwork(4, { params: { beaconEnabled: 0 } }) // the epoch changes at the ChangeEpoch quorum
    const late = freshNode(full.genesis)
    const to = makeAccount('late to')
    const transfer = (n: bigint) =>
      accountTx(full.owner, { method: 'Transfer', args: { to: to.address, token: 'flk', amount: n * FLK } })
    const end = START_MS + EPOCH_MS
    // Members' producers follow the blocks (the parcel digest goes into the checkpoint).
    const producer = new ParcelProducer(
      {},
      {
        storage: new MemoryStorage(),
        nodeKey: {
          secret: new Uint8Array(32).fill(1),
          publicKey: derivePublicKey({ kind: 'node', secret: new Uint8Array(32).fill(1) }),
        },
      },
    )
    const blocks: Array<{ txs: Uint8Array[]; timestampMs: number }> = [
      { txs: [transfer(1n), transfer(2n)], timestampMs: START_MS + 1 },
      { txs: [transfer(3n)], timestampMs: START_MS + 2 },
      // Three of four members signal the end of epoch 0: the epoch changes in this block.
      {
        txs: full.nodes.slice(0, 3).map((n) => nodeTx(n, { method: 'ChangeEpoch', args: { epoch: 0 } })),
        timestampMs: end,
      },
    ]
    let last
    for (const [index, b] of blocks.entries()) {
      const parcel = producer.onBlockExecuted({
        sequence: { epoch: 0, index },
        timestampMs: b.timestampMs,
        transactions: b.txs,
      })
      last = {
        result: full.app.executeBlock({
          transactions: b.txs,
          timestampMs: b.timestampMs,
          sequence: { epoch: 0, index },
        }),
        parcel,
      }
    }
    assert.ok(last)
    assert.equal(last.result.newEpoch, 1)

    // The committee of epoch 0 signs the checkpoint with its consensus keys (fixture members' BLS keys are
    // placeholders, so real ones stand in for them here).
    const bls = full.nodes.map((_, i) => {
      const secret = new Uint8Array(32).fill(i + 11)
      return { secret, publicKey: derivePublicKey({ kind: 'consensus', secret }) }
    })
    const snapshot = exportSnapshot(full.storage)
    const message = {
      epoch: 0,
      height: last.result.height,
      stateRoot: last.result.stateRoot,
      parcel: last.parcel.digest,
      index: 2,
      nextCommittee: computeCommitteeDigest([]),
      snapshotBytes: snapshot.length,
      snapshotHash: hash(snapshot),
    }
    const checkpoint = decodeCheckpoint(
      encodeCheckpoint(
        aggregateCheckpoint(
          bls.slice(1).map((k) => signCheckpoint(k, message)),
          bls.map((k) => k.publicKey),
        ),
      ),
    )

    // The late node: verify, restore, then follow.
    verifyCheckpoint(
      checkpoint,
      bls.map((k) => k.publicKey),
    )
    const imported = importSnapshot(late, snapshot, checkpoint.stateRoot, {
      lastSequence: { epoch: checkpoint.epoch, index: checkpoint.index },
    })
    assert.equal(imported.height, checkpoint.height)
    assert.equal(imported.epoch, 1)
    const lateApp = Application.open(late, full.genesis)
    assert.equal(lateApp.hasExecuted({ epoch: 0, index: 2 }), true)
    assert.equal(lateApp.hasExecuted({ epoch: 1, index: 0 }), false)
    assert.deepEqual(lateApp.epochInfo(), full.app.epochInfo())

    const next = [
      { txs: [transfer(4n), transfer(5n)], timestampMs: end + 10 },
      { txs: [transfer(6n)], timestampMs: end + 20 },
    ]
    for (const [index, b] of next.entries()) {
      const block = { transactions: b.txs, timestampMs: b.timestampMs, sequence: { epoch: 1, index } }
      const a = full.app.executeBlock(block)
      const l = lateApp.executeBlock(block)
      assert.equal(hex(l.stateRoot), hex(a.stateRoot))
      assert.equal(l.height, a.height)
      assert.deepEqual(
        l.receipts.map((r) => r.status),
        a.receipts.map((r) => r.status),
      )
    }
    assert.equal(lateApp.account(to.address).flk, full.app.account(to.address).flk)
    assert.deepEqual(dumpState(late), dumpState(full.storage))
  })
})
