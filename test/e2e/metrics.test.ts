// `/metrics` of a real `fleek node run`: every component exports its own Prometheus metrics
// (`fleek_<component>_<what>_<unit>`), and they move with what the node does. Also the consensus round
// in `flk_get_status` and `fleek node status`.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { json, repoRoot, runFleek, scratchDir } from '../helpers/cli.ts'
import { rpc, startNode } from '../helpers/node-process.ts'

/** Samples of a Prometheus text exposition: `name{labels}` → value (comments skipped). */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line)
    assert.ok(m, `not an exposition line: ${line}`)
    samples.set(m[1], Number(m[2]))
  }
  return samples
}

/** The sum of a metric's samples over all its labels. */
const total = (samples: Map<string, number>, name: string): number =>
  [...samples].reduce(
    (sum, [key, value]) => (key === name || key.startsWith(`${name}{`) ? sum + value : sum),
    0,
  )

/** The metric names the Grafana dashboard in docs/ queries. */
function dashboardMetrics(): Set<string> {
  const dashboard = JSON.parse(readFileSync(join(repoRoot, 'docs', 'grafana-dashboard.json'), 'utf8')) as {
    panels: Array<{ targets?: Array<{ expr: string }> }>
  }
  const names = new Set<string>()
  for (const panel of dashboard.panels)
    for (const { expr } of panel.targets ?? [])
      for (const m of expr.matchAll(/\b((?:fleek|process|nodejs)_[a-z0-9_]+)/g)) names.add(m[1])
  return names
}

/** The metric families a Prometheus text exposition declares (`# TYPE`), with a histogram's series. */
function declaredMetrics(text: string): Set<string> {
  const names = new Set<string>()
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1])
    if (m[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m[1] + s)
  }
  return names
}

async function scrapeText(rpcUrl: string): Promise<string> {
  const res = await fetch(`${rpcUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/)
  return res.text()
}

const scrape = async (rpcUrl: string): Promise<Map<string, number>> =>
  parseExposition(await scrapeText(rpcUrl))

test('/metrics: each component exports its metrics, and they follow the node', async (t) => {
  const dir = scratchDir(t)
  const env = { FLEEK_HOME: join(dir, 'home') }
  const node = await startNode(['--rpc-port', '0', '--listen', '/ip4/127.0.0.1/tcp/0'], { env })
  t.after(() => node.kill9())
  const cli = (args: string[]) => runFleek([...args, '--rpc', node.rpcUrl], { env })

  const before = await scrape(node.rpcUrl)
  for (const name of [
    'fleek_application_height',
    'fleek_consensus_round',
    'fleek_txpool_pending_transactions',
    'fleek_network_connected_peers',
    'fleek_blockstore_blobs',
    'fleek_blockstore_bytes',
    'fleek_checkpoint_latest_epoch',
    'fleek_application_block_execution_seconds_count',
    'process_resident_memory_bytes',
  ])
    assert.ok(before.has(name), `${name} is missing from /metrics`)

  // A transaction and a blob move them.
  const faucet = json<{ receipt: { status: string; height: number } }>(
    await cli(['account', 'faucet', '1', '--json']),
  )
  assert.equal(faucet.receipt.status, 'success')
  const put = await runFleek(['content', 'put', '-'], { env, input: Buffer.alloc(300_000, 7) })
  assert.equal(put.code, 0, put.stderr)
  const after = await scrape(node.rpcUrl)
  assert.ok(after.get('fleek_application_height')! >= faucet.receipt.height)
  assert.ok(after.get('fleek_consensus_round')! >= 1)
  assert.ok((after.get('fleek_txpool_admitted_total{path="ordered"}') ?? 0) >= 1)
  assert.ok((after.get('fleek_application_transactions_total{status="success"}') ?? 0) >= 1)
  assert.ok((after.get('fleek_application_blocks_total{path="ordered"}') ?? 0) >= 1)
  assert.ok(after.get('fleek_application_block_execution_seconds_count')! >= 1)
  assert.ok(total(after, 'fleek_consensus_certificates_total') >= 1)
  assert.ok(after.get('fleek_consensus_commit_latency_seconds_count')! >= 1)
  assert.equal(after.get('fleek_blockstore_blobs'), 1)
  assert.equal(after.get('fleek_blockstore_bytes'), 300_000)
  assert.ok((after.get('fleek_rpc_requests_total{method="flk_send_txn",outcome="ok"}') ?? 0) >= 1)

  // A refused transaction is counted by its reason.
  const bad = await rpc<unknown>(node.rpcUrl, 'flk_send_txn', ['00']).catch((err: Error) => err)
  assert.ok(bad instanceof Error)
  const refused = await scrape(node.rpcUrl)
  assert.equal(refused.get('fleek_txpool_refused_total{reason="decode"}'), 1)

  // Every metric the Grafana dashboard reads is exported.
  const queried = dashboardMetrics()
  assert.ok(queried.size >= 20, `the dashboard queries ${queried.size} metrics`)
  const exported = declaredMetrics(await scrapeText(node.rpcUrl))
  for (const name of queried)
    assert.ok(exported.has(name), `the dashboard reads ${name}, which the node does not export`)

  // The consensus round, without reading logs.
  const status = json<{ consensusRound?: number; isCommitteeMember: boolean }>(
    await cli(['node', 'status', '--json']),
  )
  assert.equal(status.isCommitteeMember, true)
  assert.ok(status.consensusRound !== undefined && status.consensusRound >= 1)
  const human = await cli(['node', 'status'])
  assert.match(human.stdout, /^round\s+\d+$/m)
})
