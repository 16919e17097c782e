// A real devnet for e2e tests and benchmarks: `fleek devnet up|stop|start|down` through bin/run.js (the
// built package), plus what the crash-fault tests check on it — state roots, blocks, receipts, rounds.
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

import { decodeKeyFile, derivePublicKey, ethAddress, type SecretKey } from '../../src/lib/keys/index.ts'
import { type MethodCall, encodeTransaction, signTransaction } from '../../src/lib/tx/index.ts'
import { json, runFleek } from './cli.ts'
import { rpc } from './node-process.ts'

export interface DevnetNodeInfo {
  index: number
  home: string
  nodeId: string
  rpcUrl: string
  committee: boolean
  pid?: number
}

export interface StartDevnetOptions {
  nodes?: number
  committee?: number
  /** Long by default, so that no epoch change happens during a test. */
  epochTime?: string
  /** Written into every node's config.toml (the nodes are restarted once to take them). */
  logLevel?: 'debug' | 'info'
  maxHeaderDelayMs?: number
  /** Edits one node's config.toml text before the nodes are restarted to take it (e.g. a fault switch). */
  editConfig?: (node: DevnetNodeInfo, text: string) => string
  timeoutMs?: number
}

export interface Devnet {
  /** The --home given to every devnet command (the devnet itself is <home>/devnet). */
  home: string
  nodes: DevnetNodeInfo[]
  /** `devnet stop <i>` (SIGKILL with `kill`). */
  stop(index: number, options?: { kill?: boolean }): Promise<void>
  /** `devnet start <i>`: resolves once the node answers /health. */
  start(index: number): Promise<void>
  /** `devnet down --clean`; idempotent. */
  down(): Promise<void>
}

/** The keys of a devnet node home (devnet keys are plaintext). */
export function readNodeKey(home: string, kind: 'account' | 'node'): SecretKey {
  return decodeKeyFile(readFileSync(join(home, 'keys', `${kind}.json`), 'utf8'), kind, {})
}

export function accountAddress(key: SecretKey): string {
  return ethAddress(derivePublicKey(key)).toLowerCase()
}

/** Encoded signed transactions with consecutive nonces from `firstNonce`. */
export function signCalls(
  key: SecretKey,
  options: { chainId: number; firstNonce: number; count: number; call: (i: number) => MethodCall },
): Uint8Array[] {
  const sender = key.kind === 'account' ? { account: accountAddress(key) } : { node: derivePublicKey(key) }
  return Array.from({ length: options.count }, (_, i) =>
    encodeTransaction(
      signTransaction(
        { sender, nonce: options.firstNonce + i, chainId: options.chainId, ...options.call(i) },
        { kind: key.kind as 'account' | 'node', secret: key.secret },
      ),
    ),
  )
}

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/**
 * `fleek devnet up` with `--home home`; `t.after` always takes it down with --clean and removes `home`
 * (after the nodes are gone).
 */
export async function startDevnet(
  home: string,
  t: { after: (fn: () => Promise<void>) => void } | undefined,
  options: StartDevnetOptions = {},
): Promise<Devnet> {
  const timeoutMs = options.timeoutMs ?? 90_000
  const cli = (args: string[]) => runFleek([...args, '--home', home], { timeoutMs })
  let downed = false
  const devnet: Devnet = {
    home,
    nodes: [],
    async stop(index, { kill = false } = {}) {
      json(await cli(['devnet', 'stop', String(index), ...(kill ? ['--kill'] : []), '--json']))
    },
    async start(index) {
      json(await cli(['devnet', 'start', String(index), '--json']))
    },
    async down() {
      if (downed) return
      downed = true
      await cli(['devnet', 'down', '--clean', '--json'])
    },
  }
  // Registered before anything can fail, so that no process outlives the test.
  t?.after(async () => {
    await devnet.down()
    rmSync(home, { recursive: true, force: true })
  })
  const up = ['devnet', 'up', '--base-port', '0', '--epoch-time', options.epochTime ?? '1h', '--json']
  if (options.nodes !== undefined) up.push('--nodes', String(options.nodes))
  if (options.committee !== undefined) up.push('--committee', String(options.committee))
  const edits =
    options.logLevel !== undefined ||
    options.maxHeaderDelayMs !== undefined ||
    options.editConfig !== undefined
  // With config edits, the homes are written first (--no-start), edited, and only then started: no node
  // runs a moment with the defaults (a restart mid-epoch would disturb what the test watches).
  let state = json<{ nodes: DevnetNodeInfo[] }>(await cli(edits ? [...up, '--no-start'] : up))
  if (edits) {
    for (const node of state.nodes) {
      const path = join(node.home, 'config.toml')
      let text = readFileSync(path, 'utf8')
      if (options.logLevel !== undefined)
        text = text.replace(/^level = ".*"$/m, `level = "${options.logLevel}"`)
      if (options.maxHeaderDelayMs !== undefined)
        text = text.replace(
          /^max_header_delay_ms = \d+$/m,
          `max_header_delay_ms = ${options.maxHeaderDelayMs}`,
        )
      if (options.editConfig !== undefined) text = options.editConfig(node, text)
      writeFileSync(path, text)
    }
    state = json<{ nodes: DevnetNodeInfo[] }>(await cli(up))
  }
  devnet.nodes = state.nodes
  return devnet
}

/** Polls `probe` every `intervalMs` until it returns a value other than undefined; throws after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const value = await probe()
      if (value !== undefined) return value
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, intervalMs))
  }
}

export interface StateRoot {
  height: number
  stateRoot: string
}

export function getStateRoot(url: string): Promise<StateRoot> {
  return rpc<StateRoot>(url, 'flk_get_state_root')
}

/** Waits until every node reports the same height (≥ `minHeight`) and the same state root. */
export function waitForAgreement(urls: string[], minHeight: number, timeoutMs: number): Promise<StateRoot> {
  return waitUntil(`${urls.length} nodes to agree at height ≥ ${minHeight}`, timeoutMs, async () => {
    const roots = await Promise.all(urls.map(getStateRoot))
    const first = roots[0]
    if (first.height < minHeight) return undefined
    return roots.every((r) => r.height === first.height && r.stateRoot === first.stateRoot)
      ? first
      : undefined
  })
}

/** A receipt as flk_get_receipt / flk_wait_receipt return it. */
export interface ReceiptJson {
  txHash: string
  height: number
  index: number
  status: string
  reason?: string
  method?: string
}

export interface Block {
  height: number
  txHashes: string[]
  stateRoot: string
  prevStateRoot: string
  timestampMs: number
  transactions: string[]
}

export function getBlock(url: string, height: number): Promise<Block> {
  return rpc<Block>(url, 'flk_get_block', [height])
}

/**
 * The highest round a node has proposed a header for, read from its debug log ("proposing header").
 * Undefined when the log has none (log level above debug).
 */
/** The consensus round a member last proposed in, from `flk_get_status` (undefined off the committee). */
export async function readConsensusRound(url: string): Promise<number | undefined> {
  return (await rpc<{ consensusRound?: number }>(url, 'flk_get_status')).consensusRound
}

/** Sends encoded transactions as one JSON-RPC batch; the tx hash of each, or its error message. */
export async function sendBatch(
  url: string,
  txs: Uint8Array[],
): Promise<Array<{ txHash?: string; error?: string }>> {
  const body = txs.map((tx, id) => ({ jsonrpc: '2.0', id, method: 'flk_send_txn', params: [toHex(tx)] }))
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  })
  const answers = (await res.json()) as Array<{
    id: number
    result?: { txHash: string }
    error?: { message: string }
  }>
  const out = new Array<{ txHash?: string; error?: string }>(txs.length)
  for (const a of answers) out[a.id] = a.result ? { txHash: a.result.txHash } : { error: a.error?.message }
  return out
}
