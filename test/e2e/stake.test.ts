// `fleek stake add` unlocks the consensus key only to register a node (the proof of possession): a
// top-up of a registered node reads the account key alone, so it works whatever guards the consensus
// key — another passphrase, or a key file that is not readable at all.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { json, runFleek, scratchDir } from '../helpers/cli.ts'
import { startNode } from '../helpers/node-process.ts'

const PASS = 'stake e2e passphrase'

interface Receipt {
  status: string
  reason?: string
  method?: string
}

test('stake add: the consensus key is unlocked to register a node, never to top one up', async (t) => {
  const dir = scratchDir(t, 'fleek-stake-')
  const homeA = join(dir, 'a')
  const node = await startNode(['--rpc-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0'], {
    env: { FLEEK_HOME: homeA },
  })
  t.after(() => node.kill9())
  const fleek = (home: string, args: string[], env: Record<string, string> = {}) =>
    runFleek([...args, '--home', home, '--rpc', node.rpcUrl], { env })

  // Node A is registered by its genesis. Its consensus key is now put under a passphrase nobody
  // gives below (the account key stays plaintext).
  const pem = join(dir, 'consensus.pem')
  assert.equal((await runFleek(['keys', 'export', 'consensus', '--out', pem, '--home', homeA])).code, 0)
  const reimport = await runFleek(['keys', 'import', 'consensus', pem, '--force', '--home', homeA], {
    env: { FLEEK_KEY_PASSPHRASE: 'a passphrase only the consensus key has' },
  })
  assert.equal(reimport.code, 0, reimport.stderr)
  const idsA = json<{ consensus: { encrypted: boolean }; account: { encrypted: boolean } }>(
    await runFleek(['keys', 'show', '--json', '--home', homeA]),
  )
  assert.deepEqual([idsA.consensus.encrypted, idsA.account.encrypted], [true, false])
  const topUp = await fleek(homeA, ['stake', 'add', '5', '--json'])
  assert.equal(topUp.code, 0, `a top-up asks for no passphrase: ${topUp.stderr}${topUp.stdout}`)
  assert.equal((JSON.parse(topUp.stdout) as { receipt: Receipt }).receipt.status, 'success')

  // Home B: encrypted keys, funded from the faucet, not registered yet.
  assert.equal(
    (await runFleek(['init', '--home', join(dir, 'b')], { env: { FLEEK_KEY_PASSPHRASE: PASS } })).code,
    0,
  )
  const homeB = join(dir, 'b')
  const idsB = json<{ node: { publicKey: string }; consensus: { publicKey: string } }>(
    await runFleek(['keys', 'show', '--json', '--home', homeB]),
  )
  const funded = json<{ receipt: Receipt }>(
    await fleek(homeB, ['account', 'faucet', '2000', '--json'], { FLEEK_KEY_PASSPHRASE: PASS }),
  )
  assert.equal(funded.receipt.status, 'success')
  const unknown = await fleek(homeB, ['node', 'info', '--json'])
  assert.equal(unknown.code, 3, unknown.stderr)

  // Registering needs the consensus key: without its passphrase, refused in one line (exit 6).
  const locked = await fleek(homeB, ['stake', 'add', '1000'])
  assert.equal(locked.code, 6, locked.stderr)
  assert.equal(locked.stderr.trim().split('\n').length, 1, locked.stderr)
  assert.match(locked.stderr, /the account and consensus keys is encrypted/)
  const registered = json<{ receipt: Receipt }>(
    await fleek(homeB, ['stake', 'add', '1000', '--json'], { FLEEK_KEY_PASSPHRASE: PASS }),
  )
  assert.equal(registered.receipt.status, 'success', registered.receipt.reason)
  const infoB = json<{ publicKey: string; consensusKey: string; stake: { staked: string } }>(
    await fleek(homeB, ['node', 'info', '--json']),
  )
  assert.equal(infoB.publicKey, idsB.node.publicKey)
  assert.equal(infoB.consensusKey.replace(/^0x/, ''), idsB.consensus.publicKey)
  assert.equal(BigInt(infoB.stake.staked), 1000n * 10n ** 18n)

  // B registered: a top-up does not even read the consensus key file (here no longer a key at all).
  writeFileSync(join(homeB, 'keys', 'consensus.json'), 'not a key file')
  const more = json<{ receipt: Receipt }>(
    await fleek(homeB, ['stake', 'add', '2.5', '--json'], { FLEEK_KEY_PASSPHRASE: PASS }),
  )
  assert.equal(more.receipt.status, 'success', more.receipt.reason)
  const after = json<{ stake: { staked: string } }>(await fleek(homeB, ['node', 'info', '--json']))
  assert.equal(BigInt(after.stake.staked), 10025n * 10n ** 17n)
})
