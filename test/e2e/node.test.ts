// `fleek node run` as a real process: client commands over JSON-RPC, bad input, then kill -9 in the
// middle of a load of transfers and a restart — every receipt that was given out is still there, and
// the state root equals a replay of the node's own blocks from genesis.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import {
  decodeKeyFile,
  ethAddress,
  derivePublicKey,
  generateKey,
  proveConsensusKey,
  verifyConsensusKeyProof,
} from '../../src/lib/keys/index.ts'
import { encodeTransaction, signTransaction } from '../../src/lib/tx/index.ts'
import { Application, parseGenesis } from '../../src/node/application/index.ts'
import { MemoryStorage } from '../../src/node/storage/index.ts'
import { json, runFleek, scratchDir } from '../helpers/cli.ts'
import { rpc, startNode } from '../helpers/node-process.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

interface Receipt {
  txHash: string
  status: string
  reason?: string
  height: number
  method?: string
}

test('a single node: client commands, refusals, kill -9 under load, restart and replay', async (t) => {
  const dir = scratchDir(t)
  const home = join(dir, 'home')
  const env = { FLEEK_HOME: home }
  let node = await startNode(['--rpc-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0'], { env })
  t.after(() => node.kill9())
  const rpcFlag = ['--rpc', node.rpcUrl]
  const cli = (args: string[]) => runFleek([...args, ...rpcFlag], { env })

  // --- one node per home: a second one is refused; commands find the running node without --rpc
  const second = await runFleek(['node', 'run', '--no-dashboard', '--rpc-port', '0'], { env })
  assert.equal(second.code, 4)
  assert.match(second.stderr, /already running on .* \(pid \d+\)/)
  const badSync = await runFleek(['node', 'run', '--no-dashboard', '--sync', 'sideways'], { env })
  assert.equal(badSync.code, 2)
  assert.match(badSync.stderr, /sideways/)
  assert.equal(badSync.stderr.trim().split('\n').length, 1, badSync.stderr)
  const found = json<{ rpcUrl: string }>(await runFleek(['node', 'status', '--json'], { env }))
  assert.equal(found.rpcUrl, node.rpcUrl)

  // --- the node is up: status, epoch, committee
  const status = json<{ height: number; committee: string[]; isCommitteeMember: boolean; nodeId: string }>(
    await cli(['node', 'status', '--json']),
  )
  assert.equal(status.isCommitteeMember, true)
  assert.deepEqual(status.committee, [status.nodeId])
  // Alone on its network: nothing to catch up from, no checkpoint restored.
  const sync = json<{ sync: { mode: string; restored?: unknown } }>(
    await cli(['node', 'status', '--json']),
  ).sync
  assert.equal(sync.mode, 'checkpoint')
  assert.equal(sync.restored, undefined)
  const epoch = json<{ epoch: number; phase: string }>(await cli(['epoch', 'show', '--json']))
  assert.equal(epoch.epoch, 0)
  assert.equal(epoch.phase, 'running')
  const committee = json<{ members: string[] }>(await cli(['committee', 'show', '--json']))
  assert.deepEqual(committee.members, [status.nodeId])
  const info = json<{ publicKey: string; participation: string; stake: { staked: string } }>(
    await cli(['node', 'info', '--json']),
  )
  assert.equal(info.publicKey, status.nodeId)
  assert.ok(BigInt(info.stake.staked) > 0n)

  // --- accounts: the genesis balance, the faucet, a transfer with a decimal amount
  const me = json<{ address: string; flk: string; nonce: number }>(await cli(['account', 'show', '--json']))
  assert.equal(me.flk, '10000')
  const faucet = json<{ txHash: string; receipt: Receipt }>(await cli(['account', 'faucet', '5', '--json']))
  assert.equal(faucet.receipt.status, 'success')
  const friend = ethAddress(derivePublicKey(generateKey('account')))
  const transfer = json<{ txHash: string; receipt: Receipt }>(
    await cli(['account', 'transfer', friend, '1.5', '--json']),
  )
  assert.equal(transfer.receipt.status, 'success')
  const friendAccount = json<{ flk: string }>(await cli(['account', 'show', friend, '--json']))
  assert.equal(friendAccount.flk, '1.5')
  assert.equal(json<{ flk: string }>(await cli(['account', 'show', '--json'])).flk, '10003.5')
  const shown = json<Receipt>(await cli(['tx', 'show', transfer.txHash, '--json']))
  assert.equal(shown.method, 'Transfer')
  assert.equal(shown.status, 'success')
  const human = await cli(['account', 'transfer', friend, '0.25'])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, /Transfer success at height \d+/)

  // --- staking on our own node, and a withdrawal that is refused by the chain (exit 10, receipt in JSON)
  assert.equal(
    json<{ receipt: Receipt }>(await cli(['stake', 'add', '10', '--json'])).receipt.status,
    'success',
  )
  assert.equal(
    json<{ receipt: Receipt }>(await cli(['stake', 'remove', '1', '--json'])).receipt.status,
    'success',
  )
  // registering another node proves possession of its consensus key: the proof is required with the
  // key (usage error), a proof of another key is refused by the chain, the right one registers it
  const ownProof = json<{ consensus: { publicKey: string }; consensusKeyProof: string }>(
    await runFleek(['keys', 'show', '--consensus-key-proof', '--json'], { env }),
  )
  assert.ok(
    verifyConsensusKeyProof(
      Buffer.from(ownProof.consensus.publicKey, 'hex'),
      Buffer.from(ownProof.consensusKeyProof, 'hex'),
    ),
  )
  const other = hex(derivePublicKey(generateKey('node')))
  const otherConsensus = generateKey('consensus')
  const register = [
    'stake',
    'add',
    '5',
    '--node',
    other,
    '--consensus-key',
    hex(derivePublicKey(otherConsensus)),
  ]
  const noProof = await cli([...register, '--json'])
  assert.equal(noProof.code, 2)
  assert.match(noProof.stdout + noProof.stderr, /--consensus-key needs --consensus-key-proof/)
  const wrongProof = await cli([...register, '--consensus-key-proof', ownProof.consensusKeyProof, '--json'])
  assert.equal(wrongProof.code, 10)
  assert.equal(
    (JSON.parse(wrongProof.stdout) as { error: { receipt: Receipt } }).error.receipt.reason,
    'INVALID_CONSENSUS_KEY_PROOF',
  )
  const registered = await cli([
    ...register,
    '--consensus-key-proof',
    hex(proveConsensusKey(otherConsensus)),
    '--json',
  ])
  assert.equal(registered.code, 0, registered.stderr)
  const otherInfo = json<{ consensusKey: string }>(await cli(['node', 'info', other, '--json']))
  assert.equal(otherInfo.consensusKey, hex(derivePublicKey(otherConsensus)))
  // a lock for a boost, then an unstake is refused while it holds
  assert.equal(
    json<{ receipt: Receipt }>(await cli(['stake', 'lock', '3', '--json'])).receipt.status,
    'success',
  )
  assert.equal((await cli(['stake', 'lock', 'forever'])).code, 5)
  const locked = await cli(['stake', 'remove', '1', '--json'])
  assert.equal(locked.code, 10)
  assert.equal(
    (JSON.parse(locked.stdout) as { error: { receipt: Receipt } }).error.receipt.reason,
    'STAKE_LOCKED',
  )
  const withdraw = await cli(['stake', 'withdraw', '--json'])
  assert.equal(withdraw.code, 10)
  const withdrawError = (JSON.parse(withdraw.stdout) as { error: { code: string; receipt: Receipt } }).error
  assert.equal(withdrawError.code, 'REJECTED')
  assert.equal(withdrawError.receipt.reason, 'WITHDRAW_LOCKED')
  // participation: already in (refused with the reason), then out from the next epoch
  const optIn = await cli(['node', 'opt-in', '--json'])
  assert.equal(optIn.code, 10)
  assert.equal(
    (JSON.parse(optIn.stdout) as { error: { receipt: Receipt } }).error.receipt.reason,
    'ALREADY_PARTICIPATING',
  )
  assert.equal(json<{ receipt: Receipt }>(await cli(['node', 'opt-out', '--json'])).receipt.status, 'success')
  assert.equal(
    json<{ participation: string }>(await cli(['node', 'info', '--json'])).participation,
    'optedOut',
  )
  const noWait = json<{ txHash: string; receipt?: Receipt }>(
    await cli(['account', 'transfer', friend, '0.1', '--no-wait', '--json']),
  )
  assert.match(noWait.txHash, /^[0-9a-f]{64}$/)
  assert.equal(noWait.receipt, undefined)

  // --- bad input at the boundary: one line, stable exit codes
  const badAddress = await cli(['account', 'transfer', '0x1234', '1'])
  assert.equal(badAddress.code, 5)
  assert.match(badAddress.stderr, /0x followed by 40 hex digits/)
  const badAmount = await cli(['account', 'transfer', friend, '1.2.3'])
  assert.equal(badAmount.code, 5)
  assert.equal(badAmount.stderr.trim().split('\n').length, 1)
  const unknownTx = await cli(['tx', 'show', 'ab'.repeat(32)])
  assert.equal(unknownTx.code, 3)
  const badHash = await cli(['tx', 'show', 'xyz'])
  assert.equal(badHash.code, 5)
  const unreachable = await runFleek(['node', 'status', '--rpc', 'http://127.0.0.1:1'], { env })
  assert.equal(unreachable.code, 8)
  assert.match(unreachable.stderr, /cannot reach a node/)
  const badNode = await cli(['node', 'info', 'not-a-key'])
  assert.equal(badNode.code, 5)

  // --- a load of signed transfers straight over RPC, kill -9 in the middle of it
  const keyText = readFileSync(join(home, 'keys', 'account.json'), 'utf8')
  const accountKey = decodeKeyFile(keyText, 'account', {})
  const sender = me.address
  const chainId = await rpc<number>(node.rpcUrl, 'flk_chain_id')
  let nonce = await rpc<number>(node.rpcUrl, 'flk_get_nonce', { address: sender })
  const receipts = new Map<string, Receipt>()
  const load = async (url: string, count: number): Promise<void> => {
    const waits: Array<Promise<void>> = []
    for (let i = 0; i < count; i++) {
      const tx = signTransaction(
        {
          sender: { account: sender },
          nonce: ++nonce,
          chainId,
          method: 'Transfer',
          args: { to: friend.toLowerCase(), token: 'flk', amount: 1000n + BigInt(i) },
        },
        { kind: 'account', secret: accountKey.secret },
      )
      const { txHash } = await rpc<{ txHash: string }>(url, 'flk_send_txn', [hex(encodeTransaction(tx))])
      waits.push(
        rpc<Receipt>(url, 'flk_wait_receipt', { hash: txHash, timeoutMs: 20_000 }).then(
          (r) => void receipts.set(txHash, r),
          () => undefined, // the node died before answering: no receipt was given out
        ),
      )
    }
    await Promise.all(waits)
  }
  await load(node.rpcUrl, 20)
  assert.equal(receipts.size, 20)
  // Start a second wave and kill the node once some of it has receipts.
  const before = receipts.size
  const wave = load(node.rpcUrl, 40).catch(() => undefined)
  const deadline = Date.now() + 30_000
  while (receipts.size < before + 5 && Date.now() < deadline) await new Promise((r) => setImmediate(r))
  await node.kill9()
  await wave
  assert.ok(receipts.size >= before + 5, 'part of the second wave got receipts before the kill')

  // --- restart on the same home: every receipt given out is still there, with the same outcome
  node = await startNode(['--rpc-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0'], { env })
  for (const [txHash, r] of receipts) {
    const again = await rpc<Receipt>(node.rpcUrl, 'flk_get_receipt', [txHash])
    assert.equal(again.status, r.status, txHash)
    assert.equal(again.height, r.height, txHash)
  }
  // The node goes on: a new transfer after the restart (nonce from the chain).
  const after = json<{ receipt: Receipt }>(
    await runFleek(['account', 'transfer', friend, '2', '--json', '--rpc', node.rpcUrl], { env }),
  )
  assert.equal(after.receipt.status, 'success')

  // --- replay every block from genesis in a fresh state: same roots, block by block
  const genesis = parseGenesis(readFileSync(join(home, 'genesis.toml'), 'utf8'))
  const replay = Application.open(new MemoryStorage(), genesis)
  const { height, stateRoot } = await rpc<{ height: number; stateRoot: string }>(
    node.rpcUrl,
    'flk_get_state_root',
  )
  assert.ok(height > 5, `height ${height}`)
  for (let h = 1; h <= height; h++) {
    const block = await rpc<{ timestampMs: number; transactions: string[]; stateRoot: string }>(
      node.rpcUrl,
      'flk_get_block',
      [h],
    )
    const result = replay.executeBlock({
      timestampMs: block.timestampMs,
      transactions: block.transactions.map((t) => Uint8Array.from(Buffer.from(t, 'hex'))),
    })
    assert.equal(hex(result.stateRoot), block.stateRoot, `state root of block ${h}`)
  }
  assert.equal(hex(replay.stateRoot()), stateRoot)

  // --- a clean stop on SIGTERM
  assert.equal(await node.stop(), 0)
})
