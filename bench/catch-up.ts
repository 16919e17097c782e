// `npm run bench catch-up`: how long a late node takes to catch up on a devnet that ran 10 epochs,
// restoring the latest checkpoint (sync mode checkpoint) against replaying every parcel (sync mode
// full, the baseline), in the same run.
//   - a real 6-node devnet (`fleek devnet`, committee 4, 5 s epochs) under a load of transfers;
//   - node 5 is stopped at once and stays down while the others run 10 epochs;
//   - its home is copied; it is started with `[sync] mode = "full"`, timed until its height reaches the
//     network's; stopped; its home put back; started with mode checkpoint, timed the same way;
//   - each time the six nodes must then agree on the state root (not timed).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { derivePublicKey, ethAddress, generateKey } from '../src/lib/keys/index.ts'
import {
  getStateRoot,
  readNodeKey,
  sendBatch,
  signCalls,
  startDevnet,
  waitForAgreement,
  waitUntil,
} from '../test/helpers/devnet.ts'
import { rpc } from '../test/helpers/node-process.ts'

const LATE = 5
const EPOCHS = 10

interface Status {
  epoch: number
  height: number
  sync: { restored?: { durationMs: number; snapshotBytes: number; height: number } }
}

export async function run(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'fleek-bench-catch-up-'))
  const afters: Array<() => Promise<void>> = []
  const devnet = await startDevnet(
    home,
    { after: (fn) => afters.push(fn) },
    {
      nodes: 6,
      committee: 4,
      epochTime: '5s',
    },
  )
  try {
    const urls = devnet.nodes.map((n) => n.rpcUrl)
    await devnet.stop(LATE)
    const chainId = await rpc<number>(urls[0], 'flk_chain_id')
    const to = ethAddress(derivePublicKey(generateKey('account'))).toLowerCase()

    // Load: each of nodes 0..3's accounts sends batches of 20 transfers through node 0, awaiting them.
    let loading = true
    let sent = 0
    const senders = [0, 1, 2, 3].map(async (i) => {
      const key = readNodeKey(devnet.nodes[i].home, 'account')
      let nonce = 1
      while (loading) {
        const txs = signCalls(key, {
          chainId,
          firstNonce: nonce,
          count: 20,
          call: () => ({ method: 'Transfer', args: { to, token: 'flk', amount: 1n } }),
        })
        const answers = await sendBatch(urls[0], txs)
        const hashes = answers.flatMap((a) => (a.txHash === undefined ? [] : [a.txHash]))
        await Promise.all(hashes.map((hash) => rpc(urls[0], 'flk_wait_receipt', { hash, timeoutMs: 30_000 })))
        sent += hashes.length
        // A rejected nonce (reordered batch) resyncs from the chain.
        const account = await rpc<{ nonce: number }>(urls[0], 'flk_get_account', [
          ethAddress(derivePublicKey(key)).toLowerCase(),
        ])
        nonce = account.nonce + 1
      }
    })
    await waitUntil(`${EPOCHS} epochs`, EPOCHS * 15_000, async () =>
      (await rpc<Status>(urls[0], 'flk_get_status')).epoch >= EPOCHS ? true : undefined,
    )
    loading = false
    await Promise.all(senders)
    const ran = await rpc<Status>(urls[0], 'flk_get_status')

    const lateHome = devnet.nodes[LATE].home
    const pristine = join(home, 'late-pristine')
    cpSync(lateHome, pristine, { recursive: true })
    const setMode = (mode: 'full' | 'checkpoint'): void => {
      const path = join(lateHome, 'config.toml')
      writeFileSync(path, readFileSync(path, 'utf8').replace(/^mode = "\w+"$/m, `mode = "${mode}"`))
    }
    const measure = async (mode: 'full' | 'checkpoint'): Promise<{ ms: number; status: Status }> => {
      rmSync(lateHome, { recursive: true, force: true })
      cpSync(pristine, lateHome, { recursive: true })
      setMode(mode)
      const target = (await getStateRoot(urls[0])).height
      const startedMs = performance.now()
      await devnet.start(LATE)
      await waitUntil(
        `node ${LATE} at height ${target}`,
        300_000,
        async () => ((await getStateRoot(urls[LATE])).height >= target ? true : undefined),
        50,
      )
      const ms = performance.now() - startedMs
      await waitForAgreement(urls, target, 60_000)
      const status = await rpc<Status>(urls[LATE], 'flk_get_status')
      await devnet.stop(LATE)
      return { ms, status }
    }
    const full = await measure('full')
    const checkpoint = await measure('checkpoint')

    console.log(
      `\ncatch-up: a node down from genesis rejoins a 6-node devnet (committee 4, 5 s epochs) after ${ran.epoch} epochs, ${ran.height} blocks, ${sent} transfers`,
    )
    console.log('mode        catch-up (start → at the network height)   ratio to full replay')
    console.log(`full        ${(full.ms / 1000).toFixed(2).padStart(8)} s${' '.repeat(31)}1.00`)
    console.log(
      `checkpoint  ${(checkpoint.ms / 1000).toFixed(2).padStart(8)} s${' '.repeat(31)}${(checkpoint.ms / full.ms).toFixed(2)}` +
        `   (restore ${checkpoint.status.sync.restored?.durationMs ?? '?'} ms, snapshot ${checkpoint.status.sync.restored?.snapshotBytes ?? '?'} B at height ${checkpoint.status.sync.restored?.height ?? '?'})`,
    )
    console.log(
      JSON.stringify({
        bench: 'catch-up',
        epochs: ran.epoch,
        blocks: ran.height,
        transfers: sent,
        fullMs: Math.round(full.ms),
        checkpointMs: Math.round(checkpoint.ms),
        ratio: checkpoint.ms / full.ms,
        restore: checkpoint.status.sync.restored,
      }),
    )
  } finally {
    for (const fn of afters) await fn()
  }
}
