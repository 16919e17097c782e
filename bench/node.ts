// `npm run bench node`: signed transactions per second executed by one node, beside the machine's raw
// signature-verify rate for the same key type measured in the same run.
//   - verify:   secp256k1 recovery (account transfers) and ed25519 verify (node transactions), alone
//   - executor: Application.executeBlock on a real lmdb store, blocks of 500 (decode, verify, execute,
//               state root, commit); transfers also with the signature check skipped (bytes the node
//               verified at admission, the `isVerified` cache): the ceiling a faster check could reach
//   - end to end: a real `fleek node run` process; transfers submitted over JSON-RPC, receipts awaited
//   - RSS of that process idle and under the load
// Rates are given per second of wall time and per second of this process's CPU time: on a machine
// shared with other work the CPU-time ratio is the steadier one.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { derivePublicKey, ethAddress, generateKey, type SecretKey } from '../src/lib/keys/index.ts'
import { verifyNode } from '../src/lib/keys/index.ts'
import { recoverAccountAddress } from '../src/lib/keys/index.ts'
import {
  type MethodCall,
  computeTransactionDigest,
  decodeTransaction,
  encodeTransaction,
  signTransaction,
} from '../src/lib/tx/index.ts'
import { Application, createDevnetGenesis } from '../src/node/application/index.ts'
import { openLmdbStorage } from '../src/node/storage/index.ts'
import { decodeKeyFile } from '../src/lib/keys/index.ts'
import { rpc, startNode } from '../test/helpers/node-process.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const CHAIN_ID = 1337

function signedBatch(
  key: SecretKey,
  count: number,
  call: (i: number) => MethodCall,
  firstNonce = 1,
): Uint8Array[] {
  const sender =
    key.kind === 'account'
      ? { account: ethAddress(derivePublicKey(key)).toLowerCase() }
      : { node: derivePublicKey(key) }
  return Array.from({ length: count }, (_, i) =>
    encodeTransaction(
      signTransaction(
        { sender, nonce: firstNonce + i, chainId: CHAIN_ID, ...call(i) },
        { kind: key.kind as 'account' | 'node', secret: key.secret },
      ),
    ),
  )
}

/** Operations per second of wall time and of this process's CPU time (steadier on a loaded machine). */
interface Rate {
  wall: number
  cpu: number
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

function rate(count: number, fn: () => void): Rate {
  const cpuStart = cpuSeconds()
  const start = performance.now()
  fn()
  return { wall: count / ((performance.now() - start) / 1000), cpu: count / (cpuSeconds() - cpuStart) }
}

function measureVerify(txs: Uint8Array[]): Rate {
  const decoded = txs.map((b) => decodeTransaction(b))
  const digests = decoded.map((t) => computeTransactionDigest(t.payload))
  return rate(decoded.length, () => {
    decoded.forEach((t, i) => {
      if ('account' in t.payload.sender) recoverAccountAddress(digests[i], t.signature)
      else verifyNode(t.payload.sender.node, digests[i], t.signature)
    })
  })
}

function measureExecutor(
  nodeKey: SecretKey,
  owner: SecretKey,
  txs: Uint8Array[],
  dir: string,
  options: { skipSignatures?: boolean } = {},
): Rate {
  const genesis = createDevnetGenesis({
    nodes: [
      {
        owner: ethAddress(derivePublicKey(owner)),
        publicKey: derivePublicKey(nodeKey),
        consensusKey: derivePublicKey(generateKey('consensus')),
      },
    ],
    chainId: CHAIN_ID,
    epochStartMs: 1_000_000,
    epochTimeMs: 3_600_000,
    ownerBalance: 1_000_000n,
  })
  const storage = openLmdbStorage(dir)
  const app = Application.open(storage, genesis)
  let failed = 0
  const r = rate(txs.length, () => {
    for (let i = 0; i < txs.length; i += 500) {
      const { receipts } = app.executeBlock({
        transactions: txs.slice(i, i + 500),
        timestampMs: 1_000_001,
        ...(options.skipSignatures === true && { isVerified: () => true }),
      })
      failed += receipts.filter((x) => x.status !== 'success').length
    }
  })
  void storage.close()
  if (failed > 0) throw new Error(`${failed} transactions did not succeed in the executor run`)
  return r
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  return kb / 1024
}

async function measureEndToEnd(
  count: number,
): Promise<{ txPerSec: number; idleRssMb: number; loadedRssMb: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'fleek-bench-node-'))
  const node = await startNode(['--rpc-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0'], {
    env: { FLEEK_HOME: dir },
  })
  try {
    await new Promise((r) => setTimeout(r, 2000)) // let start-up garbage settle before reading idle RSS
    const idleRssMb = rssMb(node.child.pid!)
    const owner = decodeKeyFile(readFileSync(join(dir, 'keys', 'account.json'), 'utf8'), 'account', {})
    const to = ethAddress(derivePublicKey(generateKey('account'))).toLowerCase()
    const txs = signedBatch(owner, count, () => ({
      method: 'Transfer',
      args: { to, token: 'flk', amount: 1n },
    }))
    let peakRss = 0
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(node.child.pid!))), 100)
    const start = performance.now()
    const hashes: string[] = []
    // Submit in nonce order as JSON-RPC batches (a batch is admitted in order).
    for (let i = 0; i < txs.length; i += 100) {
      const batch = txs.slice(i, i + 100).map((tx, j) => ({
        jsonrpc: '2.0',
        id: i + j,
        method: 'flk_send_txn',
        params: [hex(tx)],
      }))
      const res = await fetch(node.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(batch),
      })
      for (const r of (await res.json()) as Array<{
        result?: { txHash: string }
        error?: { message: string }
      }>) {
        if (r.result === undefined) throw new Error(`flk_send_txn failed: ${r.error?.message}`)
        hashes.push(r.result.txHash)
      }
    }
    await Promise.all(
      hashes.map((h) =>
        rpc<{ status: string }>(node.rpcUrl, 'flk_wait_receipt', { hash: h, timeoutMs: 60_000 }),
      ),
    )
    const seconds = (performance.now() - start) / 1000
    clearInterval(sampler)
    return { txPerSec: count / seconds, idleRssMb, loadedRssMb: peakRss }
  } finally {
    await node.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function run(): Promise<void> {
  const owner = generateKey('account')
  const nodeKey = generateKey('node')
  const to = ethAddress(derivePublicKey(generateKey('account'))).toLowerCase()
  const transfers = signedBatch(owner, 2000, () => ({
    method: 'Transfer',
    args: { to, token: 'flk', amount: 1n },
  }))
  const nodeTxs = signedBatch(nodeKey, 5000, () => ({ method: 'IncrementNonce', args: {} }))

  const verifySecp = measureVerify(transfers)
  const verifyEd = measureVerify(nodeTxs)
  const dir = mkdtempSync(join(tmpdir(), 'fleek-bench-exec-'))
  let execTransfers: Rate
  let execTransfersVerified: Rate
  let execNode: Rate
  try {
    execTransfers = measureExecutor(nodeKey, owner, transfers, join(dir, 'a'))
    execTransfersVerified = measureExecutor(nodeKey, owner, transfers, join(dir, 'c'), {
      skipSignatures: true,
    })
    execNode = measureExecutor(nodeKey, owner, nodeTxs, join(dir, 'b'))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const e2e = await measureEndToEnd(1000)

  const rows: Array<[string, Rate, Rate]> = [
    ['secp256k1 recover (raw)', verifySecp, verifySecp],
    ['executor: transfers (secp256k1)', execTransfers, verifySecp],
    ['executor: transfers, signatures pre-verified', execTransfersVerified, verifySecp],
    ['end to end over RPC: transfers', { wall: e2e.txPerSec, cpu: NaN }, verifySecp],
    ['ed25519 verify (raw)', verifyEd, verifyEd],
    ['executor: node txs (ed25519)', execNode, verifyEd],
  ]
  console.log('\nnode: signed transactions per second (ratio to the raw verify rate of the same key type)')
  console.log(
    "(CPU columns: per second of this process's CPU time, steadier when other work shares the machine)",
  )
  console.log('| what | tx/s | ratio | tx/s (CPU) | ratio (CPU) |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  const show = (x: number, digits: number): string => (Number.isNaN(x) ? '' : x.toFixed(digits))
  for (const [what, value, base] of rows)
    console.log(
      `| ${what} | ${show(value.wall, 0)} | ${show(value.wall / base.wall, 2)} | ${show(value.cpu, 0)} | ${show(value.cpu / base.cpu, 2)} |`,
    )
  console.log(
    `| fleek node run RSS idle / under load | ${e2e.idleRssMb.toFixed(0)} MB / ${e2e.loadedRssMb.toFixed(0)} MB | | | |`,
  )
  const ratio = (a: number, b: number): number => Number((a / b).toFixed(3))
  console.log(
    JSON.stringify({
      bench: 'node',
      verifySecp256k1PerSec: Math.round(verifySecp.wall),
      verifyEd25519PerSec: Math.round(verifyEd.wall),
      executorTransfersPerSec: Math.round(execTransfers.wall),
      executorTransfersPreVerifiedPerSec: Math.round(execTransfersVerified.wall),
      executorPreVerifiedVsRecoveryCpu: ratio(execTransfersVerified.cpu, execTransfers.cpu),
      executorNodeTxPerSec: Math.round(execNode.wall),
      endToEndTransfersPerSec: Math.round(e2e.txPerSec),
      executorVsVerify: ratio(execTransfers.wall, verifySecp.wall),
      executorNodeVsVerify: ratio(execNode.wall, verifyEd.wall),
      executorVsVerifyCpu: ratio(execTransfers.cpu, verifySecp.cpu),
      executorNodeVsVerifyCpu: ratio(execNode.cpu, verifyEd.cpu),
      idleRssMb: Math.round(e2e.idleRssMb),
      loadedRssMb: Math.round(e2e.loadedRssMb),
    }),
  )
}
