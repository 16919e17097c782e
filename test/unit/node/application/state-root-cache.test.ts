// The state root's node cache serves nodes by hash across blocks. A block whose database transaction
// is rolled back leaves its nodes in the cache but not in the table; later blocks, built from the last
// committed root, must still leave every reachable node in the table (read here without the cache).
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { SparseMerkleTree, hashValue } from '../../../../src/lib/merkle/index.ts'
import { computeStateKey } from '../../../../src/lib/tx/index.ts'
import { toHex } from '../../../../src/node/application/records.ts'
import type { StateChange } from '../../../../src/node/application/state.ts'
import { updateStateRoot } from '../../../../src/node/application/state-root.ts'
import { MemoryStorage } from '../../../../src/node/storage/index.ts'
import { EMPTY_ROOT } from '../../../../src/lib/merkle/index.ts'

function change(i: number, version: number): StateChange {
  return { table: 'accounts', key: `0x${i.toString(16).padStart(40, '0')}`, bytes: Uint8Array.of(i, version) }
}

test('nodes of a rolled-back block never stand in for nodes missing from the table', () => {
  const storage = new MemoryStorage()
  const merkle = storage.table('merkle')
  const first = Array.from({ length: 200 }, (_, i) => change(i, 0))
  const root1 = storage.transaction(() => updateStateRoot(merkle, EMPTY_ROOT, first))
  // A block that fails after hashing: its nodes reach the cache, not the table.
  const failed = Array.from({ length: 100 }, (_, i) => change(i * 2, 1))
  assert.throws(() =>
    storage.transaction(() => {
      updateStateRoot(merkle, root1, failed)
      throw new Error('block failed')
    }),
  )
  // The retried block and the next one start from the committed root.
  const root2 = storage.transaction(() => updateStateRoot(merkle, root1, failed))
  const next = Array.from({ length: 100 }, (_, i) => change(i * 2 + 1, 2))
  const root3 = storage.transaction(() => updateStateRoot(merkle, root2, next))

  const tableOnly = new SparseMerkleTree(
    {
      get: (hash) => merkle.getBytes(toHex(hash)),
      put: () => assert.fail('read-only'),
    },
    root3,
  )
  for (let i = 0; i < 200; i++) {
    const expected = change(i, i % 2 === 0 ? 1 : 2)
    const got = tableOnly.get(computeStateKey(expected.table, expected.key))
    assert.deepEqual(got, hashValue(expected.bytes as Uint8Array), `entry ${i}`)
  }
})
