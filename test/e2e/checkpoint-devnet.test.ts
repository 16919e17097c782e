// Catching up after a long absence on a real 6-node devnet with a committee of 4 (`fleek devnet`, real
// processes, 127.0.0.1 only, 8 s epochs). An edge node is stopped for two epoch changes, twice:
//   - with `[sync] mode = "full"` it replays every parcel it missed (it then holds every block);
//   - with the default mode, checkpoint, it restores the state of the latest checkpoint the committee
//     signed (a snapshot verified against the checkpoint's root) and follows the parcels after it: the
//     blocks before the checkpoint are never fetched.
// Then, without a restart, the running node is cut off while the network changes epoch twice: frozen
// (SIGSTOP) with its TCP connections destroyed (`ss -K`), so nothing sent meanwhile reaches it. Once it
// runs again it finds a member's head more than an epoch ahead and restores a checkpoint too.
// Every time it ends on the same state root as everyone else.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

import { derivePublicKey, ethAddress, generateKey } from '../../src/lib/keys/index.ts'
import {
  getBlock,
  getStateRoot,
  readNodeKey,
  sendBatch,
  signCalls,
  startDevnet,
  waitForAgreement,
  waitUntil,
} from '../helpers/devnet.ts'
import { json, runFleek } from '../helpers/cli.ts'
import { rpc } from '../helpers/node-process.ts'

interface Status {
  epoch: number
  startedAtMs: number
  height: number
  isCommitteeMember: boolean
  sync: {
    mode: string
    checkpoint?: { epoch: number; height: number }
    restored?: { epoch: number; height: number; peer: string; snapshotBytes: number; durationMs: number }
  }
}

const LATE = 5

/**
 * Destroys the established TCP connections of process `pid` (`ss -K`: the peers see a reset), so that
 * nothing more reaches it over them; the count destroyed. Undefined when `ss` cannot do it here.
 */
function cutConnections(pid: number): number | undefined {
  let listing: string
  try {
    listing = execFileSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8' })
  } catch {
    return undefined
  }
  const split = (address: string): [string, string] => {
    const at = address.lastIndexOf(':')
    return [address.slice(0, at), address.slice(at + 1)]
  }
  let cut = 0
  for (const line of listing.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue
    const [, , local, peer] = line.trim().split(/\s+/)
    const [[lhost, lport], [phost, pport]] = [split(local), split(peer)]
    if (lhost !== '127.0.0.1' || phost !== '127.0.0.1') continue // loopback only
    try {
      execFileSync(
        'ss',
        ['-K', 'src', lhost, 'sport', '=', `:${lport}`, 'dst', phost, 'dport', '=', `:${pport}`],
        {
          stdio: 'ignore',
        },
      )
      cut++
    } catch {
      return undefined
    }
  }
  return cut
}

test('an edge node down for two epochs catches up: by full replay, then through a checkpoint', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'fleek-devnet-checkpoint-'))
  const devnet = await startDevnet(home, t, { nodes: 6, committee: 4, epochTime: '8s' })
  const urls = devnet.nodes.map((n) => n.rpcUrl)
  const status = (url: string): Promise<Status> => rpc<Status>(url, 'flk_get_status')
  assert.equal(devnet.nodes[LATE].committee, false, 'the late node starts off the committee')

  const chainId = await rpc<number>(urls[0], 'flk_chain_id')
  const owner = readNodeKey(devnet.nodes[0].home, 'account')
  const to = ethAddress(derivePublicKey(generateKey('account'))).toLowerCase()
  let nonce = 1
  /** A few transfers through node 0, each awaited: the state moves on while the late node is away. */
  const transfer = async (count: number): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const [tx] = signCalls(owner, {
        chainId,
        firstNonce: nonce++,
        count: 1,
        call: () => ({ method: 'Transfer', args: { to, token: 'flk', amount: 1n } }),
      })
      const [answer] = await sendBatch(urls[0], [tx])
      assert.ok(answer.txHash, answer.error)
      const receipt = await rpc<{ status: string }>(urls[0], 'flk_wait_receipt', {
        hash: answer.txHash,
        timeoutMs: 30_000,
      })
      assert.equal(receipt.status, 'success')
    }
  }
  const setSyncMode = (mode: 'full' | 'checkpoint'): void => {
    const path = join(devnet.nodes[LATE].home, 'config.toml')
    const text = readFileSync(path, 'utf8')
    const next = text.replace(/^mode = "(checkpoint|full)"$/m, `mode = "${mode}"`)
    assert.match(next, new RegExp(`^mode = "${mode}"$`, 'm'), 'config.toml has a [sync] mode')
    writeFileSync(path, next)
  }
  /** Stops the late node and waits until the others have changed epoch twice (and hold a checkpoint). */
  const awayForTwoEpochs = async (stop = () => devnet.stop(LATE)): Promise<number> => {
    await stop()
    const from = (await status(urls[0])).epoch
    await transfer(3)
    await waitUntil('two epoch changes', 60_000, async () => {
      const s = await status(urls[0])
      return s.epoch >= from + 2 && (s.sync.checkpoint?.epoch ?? -1) >= from + 1 ? true : undefined
    })
    await transfer(2)
    return from
  }
  /** Starts the late node and waits until all six agree; the milliseconds that took. */
  const rejoin = async (): Promise<number> => {
    const target = (await getStateRoot(urls[0])).height
    const startedMs = Date.now()
    await devnet.start(LATE)
    await waitForAgreement(urls, target, 60_000)
    return Date.now() - startedMs
  }

  await t.test('full replay', async () => {
    setSyncMode('full')
    const from = await awayForTwoEpochs()
    const ms = await rejoin()
    const late = await status(urls[LATE])
    assert.equal(late.sync.mode, 'full')
    assert.equal(late.sync.restored, undefined, 'full mode restores no checkpoint')
    // It replayed: it holds the first block, identical to a member's.
    assert.deepEqual(await getBlock(urls[LATE], 1), await getBlock(urls[0], 1))
    // It was away when the committee's votes for those checkpoints went round: it fetches them after,
    // so that it can serve the chain of checkpoints to late nodes in turn.
    for (let epoch = from; epoch < from + 2; epoch++)
      await waitUntil(`node ${LATE} to hold the checkpoint of epoch ${epoch}`, 20_000, async () =>
        (await rpc<{ epoch: number }>(urls[LATE], 'flk_get_checkpoint', [epoch])).epoch === epoch
          ? true
          : undefined,
      )
    t.diagnostic(`full replay after epochs ${from}..${late.epoch}: caught up in ${ms} ms`)
  })

  await t.test('through a checkpoint', async () => {
    setSyncMode('checkpoint')
    const before = (await getStateRoot(urls[LATE])).height
    const from = await awayForTwoEpochs()
    const ms = await rejoin()
    const late = await status(urls[LATE])
    const restored = late.sync.restored
    assert.ok(restored, 'the node restored a checkpoint')
    assert.ok(restored.epoch >= from + 1, `restored epoch ${restored.epoch}, away from epoch ${from}`)
    assert.ok(restored.height > before, 'the checkpoint is past where the node stopped')
    // The checkpoint's own block was never fetched: the state came from the snapshot.
    await assert.rejects(getBlock(urls[LATE], restored.height), /no block|not found/i)
    // The blocks after it were: the node follows the chain from the checkpoint on.
    const head = (await getStateRoot(urls[LATE])).height
    if (head > restored.height)
      assert.deepEqual(await getBlock(urls[LATE], head), await getBlock(urls[0], head))
    // And the rest of the network goes on with it.
    await transfer(2)
    await waitForAgreement(urls, (await getStateRoot(urls[0])).height, 30_000)
    // The CLI shows the checkpoint the late node restored: the same signed message as a member's, with
    // 2f+1 = 3 signers (which 3 may differ: each node aggregates the first quorum of votes it sees).
    type Shown = {
      epoch: number
      stateRoot: string
      snapshotBytes: number
      signers: number[]
      signature?: string
    }
    const show = async (url: string): Promise<Shown> =>
      json(await runFleek(['checkpoint', 'show', '--epoch', String(restored.epoch), '--rpc', url, '--json']))
    const message = ({ signers: _signers, signature: _signature, ...rest }: Shown) => rest
    const [shown, member] = [await show(urls[LATE]), await show(urls[0])]
    assert.deepEqual(message(shown), message(member))
    assert.equal(shown.snapshotBytes, restored.snapshotBytes)
    for (const s of [shown, member]) assert.ok(s.signers.length >= 3, `${s.signers.length} signers`)
    const missing = await runFleek(['checkpoint', 'show', '--epoch', '100000', '--rpc', urls[LATE]])
    assert.equal(missing.code, 3, missing.stderr)
    assert.match(missing.stderr, /no checkpoint of epoch 100000/)
    // Honest peers only: nobody was recorded as an offender.
    assert.deepEqual(json(await runFleek(['node', 'offenders', '--rpc', urls[LATE], '--json'])), [])
    t.diagnostic(
      `checkpoint after epochs ${from}..${late.epoch}: caught up in ${ms} ms (restore ${restored.durationMs} ms, snapshot ${restored.snapshotBytes} B from ${restored.peer.slice(0, 8)}…)`,
    )
  })

  await t.test(
    'while running: cut off for two epochs, it restores a checkpoint without a restart',
    async (st) => {
      const before = await status(urls[LATE])
      const nodes = json<{ nodes: Array<{ index: number; pid?: number }> }>(
        await runFleek(['devnet', 'status', '--json', '--home', home]),
      ).nodes
      const pid = nodes.find((n) => n.index === LATE)?.pid
      assert.ok(pid !== undefined, 'the late node runs')
      let frozen = false
      t.after(() => {
        if (frozen) process.kill(pid, 'SIGCONT')
      })
      let cut: number | undefined
      const from = await awayForTwoEpochs(async () => {
        process.kill(pid, 'SIGSTOP')
        frozen = true
        cut = cutConnections(pid)
      })
      if (cut === undefined) {
        process.kill(pid, 'SIGCONT')
        frozen = false
        st.skip('`ss -K` cannot destroy sockets on this machine')
        return
      }
      assert.ok(cut > 0, 'the late node had connections to cut')
      const target = (await getStateRoot(urls[0])).height
      process.kill(pid, 'SIGCONT')
      frozen = false
      await waitForAgreement(urls, target, 60_000)
      const late = await status(urls[LATE])
      assert.equal(late.startedAtMs, before.startedAtMs, 'the same process, never restarted')
      const restored = late.sync.restored
      assert.ok(restored, 'the node restored a checkpoint')
      assert.ok(restored.epoch >= from + 1, `restored epoch ${restored.epoch}, frozen in epoch ${from}`)
      assert.ok(restored.height > (before.sync.restored?.height ?? 0), 'a new restore, not the one at start')
      await assert.rejects(getBlock(urls[LATE], restored.height), /no block|not found/i)
      await transfer(1)
      await waitForAgreement(urls, (await getStateRoot(urls[0])).height, 30_000)
      t.diagnostic(`restored epoch ${restored.epoch} while running (${restored.durationMs} ms)`)
    },
  )
})
