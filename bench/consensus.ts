// `npm run bench consensus`: committed tx/s and p50/p99 submit→receipt latency of a 4-node devnet at
// several offered loads (open loop, fixed rates, spread over the nodes), beside one `fleek node run`
// at the same loads and the machine's raw ed25519 verify rate, all measured in this run.
//   - transactions: IncrementNonce signed with the nodes' own ed25519 keys, pre-signed before each run;
//     sender i submits through node i (the single node: one sender)
//   - a receipt's time is when the node the transaction went to first shows the block holding it
//     (each node's height polled every 20 ms)
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { type SecretKey, derivePublicKey, generateKey, verifyNode } from '../src/lib/keys/index.ts'
import { computeTransactionDigest, decodeTransaction } from '../src/lib/tx/index.ts'
import {
  getBlock,
  getStateRoot,
  readNodeKey,
  sendBatch,
  signCalls,
  startDevnet,
} from '../test/helpers/devnet.ts'
import { rpc, startNode } from '../test/helpers/node-process.ts'

const LOADS = [50, 100, 200, 400]
const PHASE_MS = 10_000
const TICK_MS = 50
const DRAIN_MS = 20_000

interface PhaseResult {
  offered: number
  sent: number
  committed: number
  rejected: number
  txPerSec: number
  p50Ms: number
  p99Ms: number
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

function measureVerify(): number {
  const key = generateKey('node')
  const txs = signCalls(key, { chainId: 1, firstNonce: 1, count: 5000, call: () => incrementNonce })
  const decoded = txs.map((b) => decodeTransaction(b))
  const digests = decoded.map((t) => computeTransactionDigest(t.payload))
  const publicKey = derivePublicKey(key)
  const start = performance.now()
  decoded.forEach((t, i) => {
    if (!verifyNode(publicKey, digests[i], t.signature)) throw new Error('verify failed')
  })
  return decoded.length / ((performance.now() - start) / 1000)
}

const incrementNonce = { method: 'IncrementNonce' as const, args: {} }

interface Target {
  urls: string[]
  senders: SecretKey[]
  chainId: number
  nextNonce: number[]
}

/** Watches every node's height; records when each awaited transaction first shows on its node. */
function watchReceipts(urls: string[], awaited: Map<string, { node: number; sentAt: number }>) {
  const seen = new Map<string, number>()
  let rejected = 0
  const heights = urls.map(() => 0)
  let running = true
  const loops = urls.map(async (url, node) => {
    heights[node] = -1
    while (running) {
      try {
        const { height } = await getStateRoot(url)
        if (heights[node] < 0) heights[node] = height
        for (let h = heights[node] + 1; h <= height; h++) {
          const block = await getBlock(url, h)
          const now = performance.now()
          for (const hash of block.txHashes) {
            const want = awaited.get(hash)
            if (want?.node === node && !seen.has(hash)) seen.set(hash, now - want.sentAt)
          }
          heights[node] = h
        }
      } catch {
        // a dropped keep-alive connection or a busy node: poll again
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  })
  return {
    seen,
    countRejected: async (hashes: string[], url: string) => {
      for (const h of hashes) {
        const r = await rpc<{ status: string }>(url, 'flk_get_receipt', [h]).catch(() => undefined)
        if (r !== undefined && r.status !== 'success') rejected++
      }
      return rejected
    },
    stop: async () => {
      running = false
      await Promise.all(loops)
    },
  }
}

async function runPhase(target: Target, load: number): Promise<PhaseResult> {
  const n = target.senders.length
  const ticks = PHASE_MS / TICK_MS
  const perTick = (load * TICK_MS) / 1000
  // Pre-signed: sender s sends its share of every tick, in nonce order.
  const counts = Array.from({ length: ticks }, (_, k) =>
    Array.from(
      { length: n },
      (_, s) => Math.floor(((k + 1) * perTick + s) / n) - Math.floor((k * perTick + s) / n),
    ),
  )
  const plans = target.senders.map((key, s) => {
    const total = counts.reduce((a, c) => a + c[s], 0)
    const txs = signCalls(key, {
      chainId: target.chainId,
      firstNonce: target.nextNonce[s],
      count: total,
      call: () => incrementNonce,
    })
    target.nextNonce[s] += total
    return { txs, offset: 0 }
  })
  const awaited = new Map<string, { node: number; sentAt: number }>()
  const watcher = watchReceipts(target.urls, awaited)
  const start = performance.now()
  const inflight: Array<Promise<void>> = []
  for (let k = 0; k < ticks; k++) {
    const due = start + k * TICK_MS
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    for (let s = 0; s < n; s++) {
      const plan = plans[s]
      const batch = plan.txs.slice(plan.offset, plan.offset + counts[k][s])
      plan.offset += batch.length
      if (batch.length === 0) continue
      const sentAt = performance.now()
      inflight.push(
        sendBatch(target.urls[s], batch).then(
          (answers) => {
            for (const a of answers) if (a.txHash !== undefined) awaited.set(a.txHash, { node: s, sentAt })
          },
          () => undefined,
        ),
      )
    }
  }
  await Promise.all(inflight)
  const drainEnd = performance.now() + DRAIN_MS
  while (watcher.seen.size < awaited.size && performance.now() < drainEnd)
    await new Promise((r) => setTimeout(r, 50))
  await watcher.stop()
  const latencies = [...watcher.seen.values()].sort((a, b) => a - b)
  const lastAt = Math.max(...[...watcher.seen].map(([hash, ms]) => awaited.get(hash)!.sentAt + ms - start), 1)
  const rejected = await watcher.countRejected([...watcher.seen.keys()].slice(0, 50), target.urls[0])
  return {
    offered: load,
    sent: awaited.size,
    committed: watcher.seen.size,
    rejected,
    txPerSec: watcher.seen.size / (Math.max(lastAt, PHASE_MS) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  }
}

async function runSingleNode(): Promise<PhaseResult[]> {
  const home = mkdtempSync(join(tmpdir(), 'fleek-bench-single-'))
  const node = await startNode(['--rpc-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0'], {
    env: { FLEEK_HOME: home, FLEEK_APPLICATION_DEVNET_EPOCH_TIME_MS: '3600000' },
  })
  try {
    const key = readNodeKey(home, 'node')
    const target: Target = {
      urls: [node.rpcUrl],
      senders: [key],
      chainId: await rpc<number>(node.rpcUrl, 'flk_chain_id'),
      nextNonce: [1],
    }
    const results: PhaseResult[] = []
    for (const load of LOADS) results.push(await runPhase(target, load))
    return results
  } finally {
    await node.stop()
    rmSync(home, { recursive: true, force: true })
  }
}

async function runDevnet(): Promise<PhaseResult[]> {
  const home = mkdtempSync(join(tmpdir(), 'fleek-bench-devnet-'))
  const cleanups: Array<() => Promise<void>> = []
  try {
    const devnet = await startDevnet(home, { after: (fn) => void cleanups.push(fn) })
    const urls = devnet.nodes.map((n) => n.rpcUrl)
    const target: Target = {
      urls,
      senders: devnet.nodes.map((n) => readNodeKey(n.home, 'node')),
      chainId: await rpc<number>(urls[0], 'flk_chain_id'),
      nextNonce: urls.map(() => 1),
    }
    const results: PhaseResult[] = []
    for (const load of LOADS) results.push(await runPhase(target, load))
    return results
  } finally {
    for (const fn of cleanups) await fn()
    rmSync(home, { recursive: true, force: true })
  }
}

export async function run(): Promise<void> {
  const verifyPerSec = measureVerify()
  const single = await runSingleNode()
  const devnet = await runDevnet()

  const peak = (rs: PhaseResult[]): number => Math.max(...rs.map((r) => r.txPerSec))
  const singlePeak = peak(single)
  const devnetPeak = peak(devnet)
  // p50 at the offered load closest to half the devnet's peak throughput.
  const half = devnet.reduce((best, r) =>
    Math.abs(r.offered - devnetPeak / 2) < Math.abs(best.offered - devnetPeak / 2) ? r : best,
  )
  console.log('\nconsensus: committed tx/s and submit→receipt latency at fixed offered loads (open loop)')
  console.log('| setup | offered tx/s | sent | committed | tx/s | p50 ms | p99 ms |')
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const [name, rs] of [
    ['1 node', single],
    ['4-node devnet', devnet],
  ] as const)
    for (const r of rs)
      console.log(
        `| ${name} | ${r.offered} | ${r.sent} | ${r.committed} | ${r.txPerSec.toFixed(0)} | ${r.p50Ms.toFixed(0)} | ${r.p99Ms.toFixed(0)} |`,
      )
  console.log(`| ed25519 verify (raw, 1 core) | | | | ${verifyPerSec.toFixed(0)} | | |`)
  console.log(
    `targets: devnet peak ${devnetPeak.toFixed(0)} tx/s = ${((100 * devnetPeak) / singlePeak).toFixed(0)} % of the single node's ${singlePeak.toFixed(0)} (≥ 50 %: ${devnetPeak >= singlePeak / 2 ? 'met' : 'not met'}); p50 at ${half.offered} tx/s offered ≈ half the peak: ${half.p50Ms.toFixed(0)} ms (≤ 1000 ms: ${half.p50Ms <= 1000 ? 'met' : 'not met'})`,
  )
  const round = (r: PhaseResult) => ({
    offered: r.offered,
    sent: r.sent,
    committed: r.committed,
    txPerSec: Math.round(r.txPerSec),
    p50Ms: Math.round(r.p50Ms),
    p99Ms: Math.round(r.p99Ms),
  })
  console.log(
    JSON.stringify({
      bench: 'consensus',
      verifyEd25519PerSec: Math.round(verifyPerSec),
      singleNode: single.map(round),
      devnet4: devnet.map(round),
      singlePeakTxPerSec: Math.round(singlePeak),
      devnetPeakTxPerSec: Math.round(devnetPeak),
      devnetVsSingle: Number((devnetPeak / singlePeak).toFixed(3)),
      p50AtHalfPeakMs: Math.round(half.p50Ms),
    }),
  )
}
