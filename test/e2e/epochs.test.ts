// A single node with short epochs: the node signals the epoch end, runs the commit–reveal beacon by
// itself (commit, then reveal) and moves through epochs; transactions around the boundaries all execute.
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'

import { derivePublicKey, ethAddress, generateKey } from '../../src/lib/keys/index.ts'
import { json, runFleek, scratchDir } from '../helpers/cli.ts'
import { rpc, startNode } from '../helpers/node-process.ts'

interface EpochJson {
  epoch: number
  phase: string
  beaconRound: number
  committee: string[]
}

test('a single node changes epochs through the beacon, losing no transaction at the boundary', async (t) => {
  const dir = scratchDir(t)
  const env = { FLEEK_HOME: join(dir, 'home'), FLEEK_APPLICATION_DEVNET_EPOCH_TIME_MS: '3000' }
  const node = await startNode(['--rpc-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0'], { env })
  t.after(() => node.kill9())
  const cli = (args: string[]) => runFleek([...args, '--rpc', node.rpcUrl], { env })
  const first = json<EpochJson>(await cli(['epoch', 'show', '--json']))
  assert.equal(first.epoch, 0)
  assert.ok(['running', 'signalling', 'commit', 'reveal'].includes(first.phase))

  // Transfers sent one after another while the epochs turn: each gets a successful receipt.
  const to = ethAddress(derivePublicKey(generateKey('account')))
  const phases = new Set<string>()
  const deadline = Date.now() + 90_000
  let transfers = 0
  let epoch = 0
  while (epoch < 3 && Date.now() < deadline) {
    const r = json<{ receipt: { status: string } }>(await cli(['account', 'transfer', to, '0.001', '--json']))
    assert.equal(r.receipt.status, 'success')
    transfers++
    const info = await rpc<EpochJson>(node.rpcUrl, 'flk_get_epoch_info')
    phases.add(info.phase)
    epoch = info.epoch
  }
  assert.ok(epoch >= 3, `reached epoch ${epoch} within the bounded wait`)
  const balance = json<{ flk: string }>(await cli(['account', 'show', to, '--json']))
  assert.equal(balance.flk, (transfers * 0.001).toFixed(3).replace(/0+$/, '').replace(/\.$/, ''))
  // The committee of one stays the node; past committees are recorded.
  const now = json<{ members: string[] }>(await cli(['committee', 'show', '--json']))
  const past = json<{ epoch: number; members: string[] }>(
    await cli(['committee', 'show', '--epoch', '1', '--json']),
  )
  assert.equal(past.epoch, 1)
  assert.deepEqual(past.members, now.members)
  assert.equal(await node.stop(), 0)
})
