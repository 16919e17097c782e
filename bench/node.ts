// `npm run bench node`: signed transactions per second executed by one node, beside the machine's raw
// signature-check rates for the same key types measured in the same run.
//   - verify:   secp256k1 recovery from SHA-256(digest) (noble: an account's first transaction),
//               secp256k1 ECDSA-SHA256 against a known key (OpenSSL, cached key object: every later
//               one), ed25519 verify (node transactions), alone
//   - executor: Application.executeBlock on a real lmdb store, blocks of 500 (decode, verify, execute,
//               state root, commit). 2000 funded accounts each send four transfers: the first ones are
//               checked by recovery (and record the sender's key); the second ones against the recorded
//               key, each the first use of its key since the node started (OpenSSL makes its key object,
//               ~0.2 ms); the third ones against the key with its key object cached (the steady state of
//               an account that sends); the fourth ones not at all (bytes the node verified at admission,
//               the `isVerified` cache: the ceiling of any signature check). The ratio column of these
//               rows is to the recovery row: what knowing the key buys.
//   - end to end: a real `fleek node run` process; transfers submitted over JSON-RPC, receipts awaited
//   - RSS of that process idle and under the load
// Rates are given per second of wall time and per second of this process's CPU time: on a machine
// shared with other work the CPU-time ratio is the steadier one.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'

import {
  createAccountVerifyKey,
  derivePublicKey,
  ethAddress,
  generateKey,
  recoverAccountAddress,
  verifyAccountSha256,
  verifyNode,
  type SecretKey,
} from '../src/lib/keys/index.ts'
import {
  type MethodCall,
  computeAccountMessageHash,
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

function measureVerify(txs: Uint8Array[], how: 'recover' | 'known-key' | 'node'): Rate {
  const decoded = txs.map((b) => decodeTransaction(b))
  const digests = decoded.map((t) => computeTransactionDigest(t.payload))
  const keys = new Map<string, ReturnType<typeof createAccountVerifyKey>>()
  if (how === 'known-key') {
    // The key objects are made beforehand, as the executor's cache holds them.
    for (const t of decoded) {
      const sender = t.payload.sender as { account: string }
      if (!keys.has(sender.account)) keys.set(sender.account, createAccountVerifyKey(keyOf(sender.account)))
    }
  }
  return rate(decoded.length, () => {
    decoded.forEach((t, i) => {
      const sender = t.payload.sender
      let ok: boolean
      if ('node' in sender) ok = verifyNode(sender.node, digests[i], t.signature)
      else if (how === 'recover')
        ok =
          recoverAccountAddress(computeAccountMessageHash(digests[i]), t.signature).toLowerCase() ===
          sender.account
      else ok = verifyAccountSha256(keys.get(sender.account)!, digests[i], t.signature)
      if (!ok) throw new Error('a valid signature was refused')
    })
  })
}

/** Public keys of the accounts the bench made, by address. */
const accountKeys = new Map<string, Uint8Array>()
function keyOf(address: string): Uint8Array {
  const key = accountKeys.get(address)
  if (key === undefined) throw new Error(`no key for ${address}`)
  return key
}

function addressOf(key: SecretKey): string {
  const publicKey = derivePublicKey(key)
  const address = ethAddress(publicKey).toLowerCase()
  accountKeys.set(address, publicKey)
  return address
}

function openExecutor(
  nodeKey: SecretKey,
  owner: SecretKey,
  dir: string,
  funded: readonly string[] = [],
): { app: Application; close: () => Promise<void> } {
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
  for (const address of funded) genesis.accounts.push({ address, flk: 10n ** 18n, usd: 0n })
  const storage = openLmdbStorage(dir)
  return { app: Application.open(storage, genesis), close: () => storage.close() }
}

function measureExecutor(
  app: Application,
  txs: Uint8Array[],
  options: { skipSignatures?: boolean } = {},
): Rate {
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

const SENDERS = 2000

export async function run(): Promise<void> {
  const owner = generateKey('account')
  const nodeKey = generateKey('node')
  const to = addressOf(generateKey('account'))
  const transfer = (): MethodCall => ({ method: 'Transfer', args: { to, token: 'flk', amount: 1n } })
  // SENDERS accounts, four transfers each (nonces 1 to 4), one block set per nonce.
  const senders = Array.from({ length: SENDERS }, () => generateKey('account'))
  const funded = senders.map(addressOf)
  const round = (nonce: number): Uint8Array[] => senders.map((key) => signedBatch(key, 1, transfer, nonce)[0])
  const [first, second, third, fourth] = [round(1), round(2), round(3), round(4)]
  const nodeTxs = signedBatch(nodeKey, 5000, () => ({ method: 'IncrementNonce', args: {} }))

  const verifyRecover = measureVerify(first, 'recover')
  const verifyKnown = measureVerify(second, 'known-key')
  const verifyEd = measureVerify(nodeTxs, 'node')
  const dir = mkdtempSync(join(tmpdir(), 'fleek-bench-exec-'))
  let execRecovery: Rate
  let execKnownCold: Rate
  let execKnown: Rate
  let execPreVerified: Rate
  let execNode: Rate
  try {
    const transfers = openExecutor(nodeKey, owner, join(dir, 'a'), funded)
    try {
      execRecovery = measureExecutor(transfers.app, first)
      for (const address of funded) {
        if (transfers.app.accountPublicKey(address) === undefined) throw new Error('a key was not recorded')
      }
      execKnownCold = measureExecutor(transfers.app, second)
      execKnown = measureExecutor(transfers.app, third)
      execPreVerified = measureExecutor(transfers.app, fourth, { skipSignatures: true })
    } finally {
      await transfers.close()
    }
    const nodes = openExecutor(nodeKey, owner, join(dir, 'b'))
    try {
      execNode = measureExecutor(nodes.app, nodeTxs)
    } finally {
      await nodes.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const e2e = await measureEndToEnd(1000)

  const rows: Array<[string, Rate, Rate]> = [
    ['secp256k1 recover (raw, noble)', verifyRecover, verifyRecover],
    ['secp256k1 known key (raw, OpenSSL)', verifyKnown, verifyRecover],
    ['executor: transfers, sender key unknown (recovery)', execRecovery, execRecovery],
    ['executor: transfers, sender key known, first use (OpenSSL)', execKnownCold, execRecovery],
    ['executor: transfers, sender key known, cached (OpenSSL)', execKnown, execRecovery],
    ['executor: transfers, signatures pre-verified', execPreVerified, execRecovery],
    ['end to end over RPC: transfers', { wall: e2e.txPerSec, cpu: NaN }, execRecovery],
    ['ed25519 verify (raw)', verifyEd, verifyEd],
    ['executor: node txs (ed25519)', execNode, verifyEd],
  ]
  console.log(
    '\nnode: signed transactions per second (ratio to secp256k1 recovery of the same kind of row; node rows to ed25519)',
  )
  console.log(
    "(CPU columns: per second of this process's CPU time, steadier when other work shares the machine)",
  )
  console.log(
    `(${availableParallelism()} cores, load average ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')})`,
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
      recoverSecp256k1PerSec: Math.round(verifyRecover.wall),
      knownKeySecp256k1PerSec: Math.round(verifyKnown.wall),
      verifyEd25519PerSec: Math.round(verifyEd.wall),
      executorTransfersRecoveryPerSec: Math.round(execRecovery.wall),
      executorTransfersKnownKeyFirstUsePerSec: Math.round(execKnownCold.wall),
      executorTransfersKnownKeyPerSec: Math.round(execKnown.wall),
      executorTransfersPreVerifiedPerSec: Math.round(execPreVerified.wall),
      cores: availableParallelism(),
      loadAverage1m: Number(loadavg()[0].toFixed(2)),
      executorKnownKeyVsRecovery: ratio(execKnown.wall, execRecovery.wall),
      executorKnownKeyVsRecoveryCpu: ratio(execKnown.cpu, execRecovery.cpu),
      executorPreVerifiedVsRecoveryCpu: ratio(execPreVerified.cpu, execRecovery.cpu),
      executorNodeTxPerSec: Math.round(execNode.wall),
      endToEndTransfersPerSec: Math.round(e2e.txPerSec),
      executorNodeVsVerifyCpu: ratio(execNode.cpu, verifyEd.cpu),
      idleRssMb: Math.round(e2e.idleRssMb),
      loadedRssMb: Math.round(e2e.loadedRssMb),
    }),
  )
}
