// A block delivered again by consensus after a crash (same epoch and sub-DAG index) is recognised and
// refused, so nothing executes twice; the position is stored with the block, atomically.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { isFleekError } from '../../../../src/lib/errors.ts'
import { Application } from '../../../../src/node/application/index.ts'
import { FLK, START_MS, accountTx, createNetwork, makeAccount } from './fixtures.ts'

test('hasExecuted follows the last executed (epoch, index), across a reopen', () => {
  const net = createNetwork(1)
  const to = makeAccount('to')
  assert.equal(net.app.hasExecuted({ epoch: 0, index: 0 }), false)
  const tx = accountTx(net.owner, { method: 'Transfer', args: { to: to.address, token: 'flk', amount: FLK } })
  net.app.executeBlock({ transactions: [tx], timestampMs: START_MS, sequence: { epoch: 0, index: 3 } })
  assert.equal(net.app.hasExecuted({ epoch: 0, index: 2 }), true)
  assert.equal(net.app.hasExecuted({ epoch: 0, index: 3 }), true)
  assert.equal(net.app.hasExecuted({ epoch: 0, index: 4 }), false)
  assert.equal(net.app.hasExecuted({ epoch: 1, index: 0 }), false)

  const rootBefore = net.app.stateRoot()
  assert.throws(
    () =>
      net.app.executeBlock({ transactions: [tx], timestampMs: START_MS, sequence: { epoch: 0, index: 3 } }),
    (e) => isFleekError(e, 'INVALID_INPUT') && /already executed/.test(e.message),
  )
  assert.deepEqual(net.app.stateRoot(), rootBefore)
  assert.equal(net.app.height(), 1)

  const reopened = Application.open(net.storage, net.genesis)
  assert.equal(reopened.hasExecuted({ epoch: 0, index: 3 }), true)
  reopened.executeBlock({ transactions: [], timestampMs: START_MS, sequence: { epoch: 1, index: 0 } })
  assert.equal(reopened.hasExecuted({ epoch: 0, index: 9 }), true)
  assert.equal(reopened.account(to.address).flk, FLK)
})
