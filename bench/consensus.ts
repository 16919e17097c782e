// `npm run bench consensus`: how far a 4-node devnet of real `fleek` processes follows an open-loop
// offered load of IncrementNonce transactions, and its submit→receipt latency on the way.
//   - the sweep doubles the offered load from START_LOAD until the devnet saturates (its committed
//     rate — receipts per second in the steady part of a phase, from STEADY_FROM_MS to the last
//     send — stops following the offered rate), then bisects twice between the last load it followed
//     and the first it did not; the peak is the highest committed rate of any phase, the knee the
//     highest offered load followed with p99 still sane (≤ P99_EXPLODED × the lightest load's, or 2 s)
//   - then one phase at half the peak: p50, p99 and p99/p50 there, and where the time of each batch
//     went inside consensus (seal → header → certificate → commit → execute), read from the nodes'
//     debug logs ("own batch committed", "sub-dag executed")
//   - the baseline, measured in the same run: the raw ed25519 verify rate of one core; the verify
//     bound = cores × that rate ÷ 4 nodes (every node verifies every transaction once when it executes)
//   - transactions are pre-signed before each phase with the nodes' own keys; sender i submits through
//     node i in JSON-RPC batches every TICK_MS; a receipt's time is when node 0 first shows the block
//     holding it (its height polled every 20 ms; every node executes the same blocks)
// Bounded: the sweep stops after MAX_PHASES phases or BUDGET_MS, whichever comes first.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'

import { type SecretKey, derivePublicKey, generateKey, verifyNode } from '../src/lib/keys/index.ts'
import { computeTransactionDigest, decodeTransaction } from '../src/lib/tx/index.ts'
import { readNodeKey, signCalls, startDevnet, toHex } from '../test/helpers/devnet.ts'
import { rpc } from '../test/helpers/node-process.ts'

const START_LOAD = Number(process.env.FLEEK_BENCH_START_LOAD ?? 250)
const PHASE_MS = Number(process.env.FLEEK_BENCH_PHASE_MS ?? 8000)
const STEADY_FROM_MS = 2000
const TICK_MS = 50
const DRAIN_MS = 15_000
const MAX_PHASES = 12
const BUDGET_MS = 7 * 60_000
/** Following: committed ≥ this share of the offered rate (and of what was sent). */
const FOLLOW_SHARE = 0.9
/** p99 "explodes" past this many times the p99 of the lightest load (and past 2 s). */
const P99_EXPLODED = 4

interface PhaseResult {
  offered: number
  sent: number
  committed: number
  refused: number
  txPerSec: number
  p50Ms: number
  p99Ms: number
  startMs: number
  endMs: number
  /** CPU this benchmark process used while sending and watching, in cores (it shares the machine). */
  clientCores: number
  /** Where the time of the batches of this phase went (filled in after the phase from the logs). */
  stages?: StageStats
}

interface StageStats {
  batches: number
  stages: Record<string, { p50: number; p90: number; p99: number; max: number }>
  /** Batches by how many rounds their certificate waited below the anchor that committed it. */
  lagRounds: Record<string, number>
  /** Batches proposed more than once (their header was not certified, or orphaned and re-proposed). */
  reproposed: number
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]
}

const incrementNonce = { method: 'IncrementNonce' as const, args: {} }

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

interface Target {
  urls: string[]
  homes: string[]
  senders: SecretKey[]
  chainId: number
  nextNonce: number[]
}

/** Why transactions were refused (message → count), printed with the results. */
const refusals = new Map<string, number>()
function noteRefusal(message: string): void {
  refusals.set(message, (refusals.get(message) ?? 0) + 1)
}

/** JSON-RPC batch of flk_send_txn; the tx hash of each accepted transaction. */
async function sendBatch(url: string, txs: Uint8Array[]): Promise<{ hashes: string[]; refused: number }> {
  const body = JSON.stringify(
    txs.map((tx, id) => ({ jsonrpc: '2.0', id, method: 'flk_send_txn', params: [toHex(tx)] })),
  )
  const post = () =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(30_000),
    })
  // A keep-alive connection the server closed while idle fails the first request on it: sent again
  // once (admission is idempotent: a known transaction just gets its hash back).
  const res = await post().catch(post)
  const answers = (await res.json()) as Array<{ result?: { txHash: string }; error?: { message: string } }>
  if (!Array.isArray(answers)) {
    noteRefusal(JSON.stringify(answers).slice(0, 120))
    return { hashes: [], refused: txs.length }
  }
  const hashes = answers.flatMap((a) => (a.result ? [a.result.txHash] : []))
  for (const a of answers) if (a.error !== undefined) noteRefusal(a.error.message)
  return { hashes, refused: txs.length - hashes.length }
}

/** Blocks `from..to` of one node in one JSON-RPC batch. */
async function getBlocks(url: string, from: number, to: number): Promise<Array<{ txHashes: string[] }>> {
  const body = []
  for (let h = from; h <= to; h++) body.push({ jsonrpc: '2.0', id: h, method: 'flk_get_block', params: [h] })
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })
  const answers = (await res.json()) as Array<{ id: number; result?: { txHashes: string[] } }>
  answers.sort((a, b) => a.id - b.id)
  if (answers.some((a) => a.result === undefined)) throw new Error('a block is missing')
  return answers.map((a) => a.result!)
}

/** Watches node 0's height; records when each awaited transaction first shows there. */
function watchReceipts(url: string, awaited: Map<string, number>) {
  const seen = new Map<string, number>()
  let running = true
  const loop = (async () => {
    let height = -1
    while (running) {
      try {
        const now = (await rpc<{ height: number }>(url, 'flk_get_state_root')).height
        if (height < 0) height = now
        else if (now > height) {
          const blocks = await getBlocks(url, height + 1, now)
          const at = performance.now()
          for (const block of blocks)
            for (const hash of block.txHashes) {
              const sentAt = awaited.get(hash)
              if (sentAt !== undefined && !seen.has(hash)) seen.set(hash, at - sentAt)
            }
          height = now
        }
      } catch {
        // a dropped keep-alive connection or a busy node: poll again
      }
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  return {
    seen,
    stop: async () => {
      running = false
      await loop
    },
  }
}

async function runPhase(target: Target, load: number): Promise<PhaseResult> {
  const n = target.senders.length
  const ticks = Math.round(PHASE_MS / TICK_MS)
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
  const awaited = new Map<string, number>()
  const watcher = watchReceipts(target.urls[0], awaited)
  let refused = 0
  const startWall = Date.now()
  const cpuBefore = process.cpuUsage()
  const start = performance.now()
  const inflight: Array<Promise<void>> = []
  for (let k = 0; k < ticks; k++) {
    const wait = start + k * TICK_MS - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    for (let s = 0; s < n; s++) {
      const plan = plans[s]
      const batch = plan.txs.slice(plan.offset, plan.offset + counts[k][s])
      plan.offset += batch.length
      if (batch.length === 0) continue
      const sentAt = performance.now()
      inflight.push(
        sendBatch(target.urls[s], batch).then(
          (r) => {
            refused += r.refused
            for (const h of r.hashes) awaited.set(h, sentAt)
          },
          (err: unknown) => {
            refused += batch.length
            noteRefusal(`request failed: ${(err as Error).message}`)
          },
        ),
      )
    }
  }
  await Promise.all(inflight)
  const drainEnd = performance.now() + DRAIN_MS
  while (watcher.seen.size < awaited.size && performance.now() < drainEnd)
    await new Promise((r) => setTimeout(r, 50))
  await watcher.stop()
  const cpu = process.cpuUsage(cpuBefore)
  const clientCores = (cpu.user + cpu.system) / 1000 / (performance.now() - start)
  // Nonces of transactions that never made it would block the later ones: restart from the chain's.
  if (watcher.seen.size < awaited.size || refused > 0)
    for (const [s, key] of target.senders.entries())
      target.nextNonce[s] =
        (await rpc<number>(target.urls[0], 'flk_get_nonce', [null, toHex(derivePublicKey(key))]).catch(
          () => target.nextNonce[s] - 1,
        )) + 1
  const latencies = [...watcher.seen.values()].sort((a, b) => a - b)
  let steady = 0
  for (const [hash, ms] of watcher.seen) {
    const at = awaited.get(hash)! + ms - start
    if (at >= STEADY_FROM_MS && at < PHASE_MS) steady++
  }
  return {
    offered: load,
    sent: awaited.size,
    committed: watcher.seen.size,
    refused,
    txPerSec: steady / ((PHASE_MS - STEADY_FROM_MS) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    startMs: startWall,
    endMs: Date.now(),
    clientCores,
  }
}

/** Where the time of the nodes' own batches went during [fromMs, toMs], from their debug logs. */
function readStages(homes: string[], fromMs: number, toMs: number): StageStats {
  const series: Record<string, number[]> = {
    sealMs: [],
    proposeMs: [],
    certifyMs: [],
    commitMs: [],
    totalMs: [],
    executeQueuedMs: [],
    executeMs: [],
  }
  const lagRounds: Record<string, number> = {}
  let batches = 0
  let reproposed = 0
  for (const home of homes) {
    let text: string
    try {
      text = readFileSync(join(home, 'node.log'), 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n')) {
      const batch = line.includes('"own batch committed"')
      if (!batch && !line.includes('"sub-dag executed"')) continue
      const e = JSON.parse(line) as Record<string, number> & { time: string | number }
      const at = typeof e.time === 'number' ? e.time : Date.parse(e.time)
      if (at < fromMs || at > toMs) continue
      if (batch) {
        batches++
        for (const k of ['sealMs', 'proposeMs', 'certifyMs', 'commitMs', 'totalMs']) series[k].push(e[k])
        const lag = e.lagRounds > 8 ? '>8' : String(e.lagRounds)
        lagRounds[lag] = (lagRounds[lag] ?? 0) + 1
        if (e.proposals > 1) reproposed++
      } else {
        series.executeQueuedMs.push(e.queuedMs)
        series.executeMs.push(e.executeMs)
      }
    }
  }
  const stages: StageStats['stages'] = {}
  for (const [k, values] of Object.entries(series)) {
    values.sort((a, b) => a - b)
    stages[k] = {
      p50: percentile(values, 50),
      p90: percentile(values, 90),
      p99: percentile(values, 99),
      max: values.at(-1) ?? NaN,
    }
  }
  return { batches, stages, lagRounds, reproposed }
}

function row(r: PhaseResult, note = ''): string {
  return `| ${r.offered} | ${r.sent} | ${r.committed} | ${r.refused} | ${r.txPerSec.toFixed(0)} | ${r.p50Ms.toFixed(0)} | ${r.p99Ms.toFixed(0)} | ${(r.p99Ms / r.p50Ms).toFixed(1)} | ${r.clientCores.toFixed(2)} | ${note} |`
}

export async function run(): Promise<void> {
  const began = performance.now()
  const cores = availableParallelism()
  const verifyBefore = measureVerify()
  const home = mkdtempSync(join(tmpdir(), 'fleek-bench-devnet-'))
  const cleanups: Array<() => Promise<void>> = []
  const sweep: PhaseResult[] = []
  let half: PhaseResult | undefined
  let stages: StageStats | undefined
  try {
    const devnet = await startDevnet(home, { after: (fn) => void cleanups.push(fn) }, { logLevel: 'debug' })
    const urls = devnet.nodes.map((n) => n.rpcUrl)
    const target: Target = {
      urls,
      homes: devnet.nodes.map((n) => n.home),
      senders: devnet.nodes.map((n) => readNodeKey(n.home, 'node')),
      chainId: await rpc<number>(urls[0], 'flk_chain_id'),
      nextNonce: urls.map(() => 1),
    }
    const follows = (r: PhaseResult): boolean =>
      r.txPerSec >= FOLLOW_SHARE * r.offered && r.committed >= FOLLOW_SHARE * (r.sent + r.refused)
    const sane = (r: PhaseResult): boolean =>
      follows(r) && r.p99Ms <= Math.max(2000, P99_EXPLODED * sweep[0].p99Ms)
    const over = (): boolean => sweep.length >= MAX_PHASES || performance.now() - began > BUDGET_MS
    // Doubling until it stops following…
    let good = 0
    let bad = 0
    // FLEEK_BENCH_MAX_LOAD caps the sweep (a quick look at low loads).
    const maxLoad = Number(process.env.FLEEK_BENCH_MAX_LOAD ?? Infinity)
    for (let load = START_LOAD; load <= maxLoad && !over(); load *= 2) {
      const r = await runPhase(target, load)
      r.stages = readStages(target.homes, r.startMs, r.endMs)
      sweep.push(r)
      console.error(
        `  offered ${load}: ${r.txPerSec.toFixed(0)} tx/s, p50 ${r.p50Ms.toFixed(0)} ms, p99 ${r.p99Ms.toFixed(0)} ms`,
      )
      if (!follows(r)) {
        bad = load
        break
      }
      good = load
    }
    // …then refining between the last load followed and the first one not.
    for (let i = 0; i < 2 && bad > 0 && good > 0 && !over(); i++) {
      const load = Math.round((good + bad) / 2)
      const r = await runPhase(target, load)
      r.stages = readStages(target.homes, r.startMs, r.endMs)
      sweep.push(r)
      console.error(
        `  offered ${load}: ${r.txPerSec.toFixed(0)} tx/s, p50 ${r.p50Ms.toFixed(0)} ms, p99 ${r.p99Ms.toFixed(0)} ms`,
      )
      if (follows(r)) good = load
      else bad = load
    }
    const peak = Math.max(...sweep.map((r) => r.txPerSec))
    half = await runPhase(target, Math.round(peak / 2))
    stages = readStages(target.homes, half.startMs, half.endMs)
    half.stages = stages
    const knee = Math.max(0, ...sweep.filter(sane).map((r) => r.offered))
    const verifyAfter = measureVerify()
    const verifyPerSec = Math.max(verifyBefore, verifyAfter)
    const verifyBound = (cores * verifyPerSec) / 4
    print({ sweep, half, stages, peak, knee, verifyPerSec, verifyBound, cores })
  } finally {
    // FLEEK_BENCH_KEEP=1 leaves the devnet's homes (and their debug logs) for a look afterwards.
    if (process.env.FLEEK_BENCH_KEEP === '1')
      console.error(`devnet kept in ${home} (fleek devnet down --home)`)
    else {
      for (const fn of cleanups) await fn()
      rmSync(home, { recursive: true, force: true })
    }
  }
}

function print(o: {
  sweep: PhaseResult[]
  half: PhaseResult
  stages: StageStats
  peak: number
  knee: number
  verifyPerSec: number
  verifyBound: number
  cores: number
}): void {
  const { sweep, half, stages, peak, knee, verifyPerSec, verifyBound, cores } = o
  console.log('\nconsensus: 4-node devnet, open-loop offered load, submit→receipt latency')
  console.log(
    '| offered tx/s | sent | committed | refused | tx/s | p50 ms | p99 ms | p99/p50 | client cores | |',
  )
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
  for (const r of sweep) console.log(row(r, 'sweep'))
  console.log(row(half, 'half the peak'))
  console.log(
    '\nper phase: p50/p99 ms of each stage of a batch (seal → header → certificate → commit; execute)',
  )
  console.log('| offered tx/s | seal | propose | certify | commit | total | execute |')
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of [...sweep, half]) {
    const st = r.stages?.stages
    if (st === undefined) continue
    const cell = (k: string) => `${st[k].p50}/${st[k].p99}`
    console.log(
      `| ${r.offered} | ${cell('sealMs')} | ${cell('proposeMs')} | ${cell('certifyMs')} | ${cell('commitMs')} | ${cell('totalMs')} | ${cell('executeMs')} |`,
    )
  }
  console.log("\nwhere the time of a batch goes at half the peak (ms, over the nodes' own batches)")
  console.log('| stage | p50 | p90 | p99 | max |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (const [k, s] of Object.entries(stages.stages))
    console.log(`| ${k} | ${s.p50} | ${s.p90} | ${s.p99} | ${s.max} |`)
  const lags = Object.entries(stages.lagRounds)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ')
  console.log(
    `batches ${stages.batches}, re-proposed ${stages.reproposed}; rounds a certificate waited for its anchor: ${lags}`,
  )
  if (refusals.size > 0) console.log(`refused: ${[...refusals].map(([m, c]) => `${c} × ${m}`).join('; ')}`)
  console.log(
    `| ed25519 verify (raw, 1 core) | ${verifyPerSec.toFixed(0)}/s | verify bound (${cores} cores ÷ 4 nodes) | ${verifyBound.toFixed(0)} tx/s |`,
  )
  const ratio = half.p99Ms / half.p50Ms
  console.log(
    `peak ${peak.toFixed(0)} tx/s (${((100 * peak) / verifyBound).toFixed(0)} % of the verify bound; ≥ 2500: ${peak >= 2500 ? 'met' : 'not met'}), knee ${knee} tx/s offered; at ${half.offered} tx/s (half the peak) p50 ${half.p50Ms.toFixed(0)} ms, p99 ${half.p99Ms.toFixed(0)} ms, p99/p50 ${ratio.toFixed(2)} (≤ 2: ${ratio <= 2 ? 'met' : 'not met'})`,
  )
  const compact = (r: PhaseResult) => ({
    offered: r.offered,
    sent: r.sent,
    committed: r.committed,
    refused: r.refused,
    txPerSec: Math.round(r.txPerSec),
    p50Ms: Math.round(r.p50Ms),
    p99Ms: Math.round(r.p99Ms),
    clientCores: Number(r.clientCores.toFixed(2)),
  })
  console.log(
    JSON.stringify({
      bench: 'consensus',
      cores,
      verifyEd25519PerSec: Math.round(verifyPerSec),
      verifyBoundTxPerSec: Math.round(verifyBound),
      sweep: sweep.map(compact),
      peakTxPerSec: Math.round(peak),
      kneeOfferedTxPerSec: knee,
      halfPeak: compact(half),
      p99OverP50AtHalfPeak: Number(ratio.toFixed(2)),
      peakOverVerifyBound: Number((peak / verifyBound).toFixed(3)),
      stagesAtHalfPeak: stages,
    }),
  )
}
