import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { toHex } from '../../../../src/lib/b3/index.ts'
import { isFleekError } from '../../../../src/lib/errors.ts'
import {
  MemoryNodeStore,
  SparseMerkleTree,
  decodeProof,
  verifyProof,
} from '../../../../src/lib/merkle/index.ts'
import { computeStateKey } from '../../../../src/lib/tx/index.ts'
import { STATE_TABLES, type StateTable } from '../../../../src/node/application/index.ts'
import {
  EPOCH_MS,
  FLK,
  START_MS,
  accountTx,
  createNetwork,
  makeAccount,
  nodeTx,
  type Network,
} from './fixtures.ts'

/** The root of a tree built from scratch over every state entry. */
function recomputeRoot(net: Network): Uint8Array {
  const tree = new SparseMerkleTree(new MemoryNodeStore())
  const entries: Array<[Uint8Array, Uint8Array]> = []
  for (const table of STATE_TABLES) {
    for (const [key] of net.storage.table(table).entries()) {
      entries.push([computeStateKey(table, key), net.storage.table(table).getBytes(key) as Uint8Array])
    }
  }
  return tree.updateMany(entries)
}

function runScenario(net: Network): Uint8Array[] {
  const bob = makeAccount('bob')
  const roots: Uint8Array[] = []
  roots.push(
    net.run([
      accountTx(net.owner, { method: 'Transfer', args: { to: bob.address, token: 'flk', amount: 3n * FLK } }),
    ]).stateRoot,
  )
  roots.push(
    net.run([accountTx(bob, { method: 'Faucet', args: { token: 'usd', amount: 5n } }), new Uint8Array([7])])
      .stateRoot,
  )
  roots.push(
    net.run(
      net.nodes.map((n) => nodeTx(n, { method: 'ChangeEpoch', args: { epoch: 0 } })),
      START_MS + EPOCH_MS,
    ).stateRoot,
  )
  return roots
}

describe('state root', () => {
  test('the incremental root equals a root rebuilt from all state entries, including after deletions', () => {
    const net = createNetwork(2)
    assert.deepEqual(net.app.stateRoot(), recomputeRoot(net))
    runScenario(net)
    assert.equal(net.app.epochInfo().epoch, 1) // the epoch change deleted the executed digests
    assert.deepEqual(net.app.stateRoot(), recomputeRoot(net))
  })

  test('the same blocks from the same genesis give the same roots; a different transaction another root', () => {
    const first = runScenario(createNetwork(2))
    const second = runScenario(createNetwork(2))
    assert.deepEqual(first, second)
    assert.equal(new Set(first.map(toHex)).size, 3)
    const other = createNetwork(2)
    const r = other.run([
      accountTx(other.owner, {
        method: 'Transfer',
        args: { to: makeAccount('bob').address, token: 'flk', amount: 3n * FLK + 1n },
      }),
    ])
    assert.notDeepEqual(r.stateRoot, first[0])
  })

  test('a proof of an account verifies against the root; a changed value or root does not', () => {
    const net = createNetwork(1)
    runScenario(net)
    const bob = makeAccount('bob')
    const proof = net.app.stateProof('accounts', bob.address)
    assert.deepEqual(proof.root, net.app.stateRoot())
    assert.ok(proof.value)
    const key = computeStateKey('accounts', bob.address)
    assert.ok(verifyProof(proof.root, key, proof.value, decodeProof(proof.proof)))
    const tampered = proof.value.slice()
    tampered[tampered.length - 1] ^= 1
    assert.equal(verifyProof(proof.root, key, tampered, decodeProof(proof.proof)), false)
    assert.equal(
      verifyProof(net.app.block(1)?.stateRoot as Uint8Array, key, proof.value, decodeProof(proof.proof)),
      false,
    )
  })

  test('proofs of a node, of a committee (numeric key) and of an absent account', () => {
    const net = createNetwork(2)
    const pkHex = toHex(net.nodes[1].publicKey)
    const cases: Array<[StateTable, string | number, boolean]> = [
      ['nodes', pkHex, true],
      ['committees', 0, true],
      ['params', 'epochTimeMs', true],
      ['accounts', makeAccount('nobody').address, false],
    ]
    for (const [table, key, present] of cases) {
      const p = net.app.stateProof(table, key)
      assert.equal(p.value !== undefined, present, `${table}/${key}`)
      assert.ok(
        verifyProof(p.root, computeStateKey(table, key), p.value, decodeProof(p.proof)),
        `${table}/${key}`,
      )
      if (!present) {
        assert.equal(
          verifyProof(p.root, computeStateKey(table, key), new Uint8Array([1]), decodeProof(p.proof)),
          false,
        )
      }
    }
    assert.throws(
      () => net.app.stateProof('receipts' as StateTable, 'x'),
      (err: unknown) => isFleekError(err, 'INVALID_INPUT'),
    )
  })
})
