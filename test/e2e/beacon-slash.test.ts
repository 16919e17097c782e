// The commit–reveal beacon on a real 4-node devnet (`fleek devnet up`, real processes, 127.0.0.1 only,
// short epochs): a member whose config says `[consensus] fault_withhold_reveal = true` commits to the
// beacon but never reveals. Once the reveal timeout passes it is slashed (beaconNonRevealSlash FLK of its
// stake goes to the protocol fund, it is excluded from the later rounds), a new round runs without it,
// and the epoch still changes — to a committee without it (its stake is now below the minimum).
//
// The beacon's quorum is ⌊2n/3⌋+1 commits: with 4 members the reveal phase may start on three commits
// that do not include the faulty member's (its commit is then refused, BEACON_WRONG_PHASE, and the epoch
// changes normally). It stays on the committee (4 nodes, committee 4), so the test waits for the next
// beacon, a bounded number of times.
import * as dagCbor from '@ipld/dag-cbor'
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

import { formatNodeKey } from '../../src/lib/ids.ts'
import { derivePublicKey } from '../../src/lib/keys/index.ts'
import { computeTransactionDigest, decodeTransaction } from '../../src/lib/tx/index.ts'
import { json, runFleek } from '../helpers/cli.ts'
import {
  type DevnetNodeInfo,
  accountAddress,
  getBlock,
  getStateRoot,
  readNodeKey,
  sendBatch,
  signCalls,
  startDevnet,
  toHex,
  waitForAgreement,
  waitUntil,
  type ReceiptJson as Receipt,
} from '../helpers/devnet.ts'
import { rpc } from '../helpers/node-process.ts'

interface BeaconEntry {
  node: Uint8Array
  commit: Uint8Array
  reveal?: Uint8Array
}

interface Beacon {
  epoch: number
  round: number
  phase: 'commit' | 'reveal' | 'done'
  phaseStartMs: number
  phaseEndsMs: number
  entries: BeaconEntry[]
  excluded: Uint8Array[]
  slashed: Array<{ node: Uint8Array; round: number; amount: string }>
  seed?: Uint8Array
}

interface NodeInfoJson {
  publicKey: string
  stake: { staked: string; locked: string }
  participation: string
}

const NODES = 4
const COMMITTEE = 4
const FAULTY = 3
// Epochs short enough for a few beacons in the time bound; the reveal timeout (DEVNET_PARAMS, 10 s) is
// what the slashing waits for.
const EPOCH_TIME = '8s'
// Beacons to wait through for one in which the faulty member's commit is among the quorum.
const MAX_BEACONS = 5

/** Sets `[consensus] fault_withhold_reveal = true` in a config.toml text. */
function withholdReveal(text: string): string {
  if (/^fault_withhold_reveal = .*$/m.test(text))
    return text.replace(/^fault_withhold_reveal = .*$/m, 'fault_withhold_reveal = true')
  assert.match(text, /^\[consensus\]$/m, 'config.toml has a [consensus] section')
  return text.replace(/^\[consensus\]$/m, '[consensus]\nfault_withhold_reveal = true')
}

test('a member that withholds its reveal is slashed and the epoch still changes', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'fleek-devnet-beacon-'))
  // On a failure the node logs are kept (this hook runs before the devnet's own, which removes them).
  let succeeded = false
  let logged: DevnetNodeInfo[] = []
  t.after(() => {
    if (succeeded) return
    const kept = mkdtempSync(join(tmpdir(), 'fleek-beacon-logs-'))
    for (const n of logged)
      cpSync(join(n.home, 'node.log'), join(kept, `node-${n.index}.log`), { force: true })
    console.log(`node logs kept in ${kept}`)
  })
  const devnet = await startDevnet(home, t, {
    nodes: NODES,
    committee: COMMITTEE,
    epochTime: EPOCH_TIME,
    logLevel: process.env.FLEEK_E2E_DEBUG ? 'debug' : undefined,
    editConfig: (node, text) => (node.index === FAULTY ? withholdReveal(text) : text),
  })
  const nodes = devnet.nodes
  logged = nodes
  const urls = nodes.map((n) => n.rpcUrl)
  const faulty = nodes[FAULTY]
  const faultyKey = derivePublicKey(readNodeKey(faulty.home, 'node'))
  assert.equal(formatNodeKey(faultyKey), faulty.nodeId)
  const isFaulty = (k: Uint8Array): boolean => toHex(k) === toHex(faultyKey)
  // The node took the switch (it says so at start).
  await waitUntil('the fault-injection warning in the faulty node log', 10_000, async () =>
    readFileSync(join(faulty.home, 'node.log'), 'utf8').includes('fault injection') ? true : undefined,
  )

  const beaconOf = async (epoch: number, url = urls[0]): Promise<Beacon | undefined> => {
    const proof = await rpc<{ value?: string }>(url, 'flk_get_state_proof', ['beacon', epoch])
    return proof.value === undefined ? undefined : dagCbor.decode<Beacon>(Buffer.from(proof.value, 'hex'))
  }
  const epochOf = async (url = urls[0]): Promise<number> =>
    (await rpc<{ epoch: number }>(url, 'flk_get_epoch_info')).epoch
  const nodeInfo = (): Promise<NodeInfoJson> =>
    rpc<NodeInfoJson>(urls[0], 'flk_get_node_info', [faulty.nodeId])
  const params = await rpc<{ beaconNonRevealSlash: number; minStake: number; beaconRevealTimeoutMs: number }>(
    urls[0],
    'flk_get_protocol_params',
  )
  const FLK = 10n ** 18n
  const before = await nodeInfo()
  const startMs = Date.now()

  // 1. A beacon whose reveal phase holds the faulty member's commit: every other committer reveals, it does
  //    not. Beacons that went ahead without its commit are passed over.
  let epoch = await epochOf()
  let seen: { epoch: number; round: number; revealEndsMs: number } | undefined
  const passed: number[] = []
  for (let attempt = 0; seen === undefined; attempt++) {
    assert.ok(attempt < MAX_BEACONS, `no beacon with the faulty member's commit in ${MAX_BEACONS} epochs`)
    const committee = (await rpc<{ members: string[] }>(urls[0], 'flk_get_committee', [epoch])).members
    assert.ok(committee.includes(faulty.nodeId), `node ${FAULTY} on the committee of epoch ${epoch}`)
    const current = epoch
    const outcome = await waitUntil(`the reveal phase of the epoch-${current} beacon`, 60_000, async () => {
      const b = await beaconOf(current)
      if (b?.phase === 'reveal') return { beacon: b }
      if (b?.phase === 'done') return { done: true }
      return undefined
    })
    if ('done' in outcome) {
      // The reveal phase came and went between two polls: it cannot have held the faulty commit (that
      // phase lasts the whole reveal timeout).
      passed.push(current)
      epoch = current + 1
      continue
    }
    const beacon = outcome.beacon
    if (!beacon.entries.some((e) => isFaulty(e.node))) {
      passed.push(current)
      await waitUntil(`epoch ${current + 1}`, 30_000, async () =>
        (await epochOf()) > current ? true : undefined,
      )
      epoch = current + 1
      continue
    }
    // Every other committer reveals within the timeout; the faulty member's entry keeps its commit only.
    const revealed = await waitUntil(`the other committers' reveals (epoch ${current})`, 30_000, async () => {
      const b = await beaconOf(current)
      assert.ok(b !== undefined)
      if (b.round !== beacon.round || b.phase !== 'reveal') return b
      return b.entries.every((e) => isFaulty(e.node) || e.reveal !== undefined) ? b : undefined
    })
    assert.equal(revealed.round, beacon.round, 'the reveal phase closed before the others revealed')
    assert.equal(revealed.phase, 'reveal')
    const mine = revealed.entries.find((e) => isFaulty(e.node))
    assert.ok(mine !== undefined && mine.commit.length === 32, 'the faulty member commit is recorded')
    assert.equal(mine.reveal, undefined, 'the faulty member revealed')
    assert.ok(revealed.entries.length >= 3)
    seen = { epoch: current, round: beacon.round, revealEndsMs: beacon.phaseEndsMs }
  }
  t.diagnostic(
    `epoch ${seen.epoch}, beacon round ${seen.round}: node ${FAULTY} committed, did not reveal` +
      `${passed.length > 0 ? ` (beacons of epochs ${passed.join(', ')} went ahead without its commit)` : ''}; ` +
      `${Date.now() - startMs} ms after the start`,
  )

  // 2. After the reveal timeout: slashed and excluded, and a new round (round + 1) runs.
  const seenAtMs = Date.now()
  const afterSlash = await waitUntil(
    'the slash of the faulty member',
    params.beaconRevealTimeoutMs + 30_000,
    async () => {
      const b = await beaconOf(seen.epoch)
      return b !== undefined && b.slashed.some((s) => isFaulty(s.node)) ? b : undefined
    },
  )
  const slash = afterSlash.slashed.find((s) => isFaulty(s.node))
  assert.ok(slash !== undefined)
  assert.equal(afterSlash.slashed.length, 1, 'only the faulty member is slashed')
  assert.equal(slash.round, seen.round)
  assert.equal(BigInt(slash.amount), BigInt(params.beaconNonRevealSlash) * FLK)
  assert.ok(afterSlash.excluded.some(isFaulty), 'the faulty member is excluded from later rounds')
  assert.ok(afterSlash.round > seen.round, 'a new beacon round started')

  // 3. The epoch changes (round ≥ round + 1 finished: every remaining member revealed) and all nodes agree.
  const changed = await waitUntil(`epoch ${seen.epoch + 1} on all nodes`, 60_000, async () => {
    const epochs = await Promise.all(urls.map((u) => epochOf(u)))
    return epochs.every((e) => e > seen.epoch) ? epochs : undefined
  })
  t.diagnostic(
    `slashed ~${params.beaconRevealTimeoutMs} ms after the reveal phase began; epoch ${seen.epoch + 1} on all nodes ` +
      `${Date.now() - seenAtMs} ms after the withheld reveal was seen (epochs ${changed.join(',')})`,
  )
  const done = await beaconOf(seen.epoch)
  assert.ok(done !== undefined)
  assert.equal(done.phase, 'done')
  assert.ok(done.round > seen.round, `the epoch changed in round ${done.round}`)
  assert.ok(done.seed !== undefined && done.seed.length === 32)
  assert.ok(!done.entries.some((e) => isFaulty(e.node)), 'the faulty member took part in the last round')
  assert.ok(done.entries.every((e) => e.reveal !== undefined))
  assert.deepEqual(
    done.slashed.map((s) => toHex(s.node)),
    [toHex(faultyKey)],
  )

  // Its stake: the slash came out of what it had staked; below the minimum, it left at the epoch change.
  const after = await nodeInfo()
  const slashed = BigInt(before.stake.staked) - BigInt(after.stake.staked)
  assert.equal(slashed + BigInt(before.stake.locked) - BigInt(after.stake.locked), BigInt(slash.amount))
  const minStake = BigInt(params.minStake) * FLK
  t.diagnostic(
    `node ${FAULTY}: staked ${BigInt(before.stake.staked) / FLK} → ${BigInt(after.stake.staked) / FLK} FLK, ` +
      `participation ${before.participation} → ${after.participation}`,
  )
  const next = json<{ epoch: number; members: string[] }>(
    await runFleek(['committee', 'show', '--epoch', String(seen.epoch + 1), '--rpc', urls[0], '--json']),
  )
  if (BigInt(after.stake.staked) < minStake) {
    assert.equal(after.participation, 'false')
    // The active set is the three others now: the next committee is exactly them.
    assert.deepEqual(
      [...next.members].sort(),
      nodes
        .filter((n) => n.index !== FAULTY)
        .map((n) => n.nodeId)
        .sort(),
    )
  }
  assert.ok(!next.members.includes(faulty.nodeId) || BigInt(after.stake.staked) >= minStake)

  // The chain itself. Every node holds the same blocks, with the same state roots, through the block that
  // changed the epoch (the one whose timestamp closed the beacon); the members of the new epoch agree at
  // their tip, and the faulty node, now off the committee, follows them there through parcels.
  const changeBlock = await waitUntil('the epoch-changing block', 10_000, async () => {
    const tip = (await getStateRoot(urls[0])).height
    for (let h = tip; h >= 1; h--) if ((await getBlock(urls[0], h)).timestampMs === done.phaseEndsMs) return h
    return undefined
  })
  await waitUntil(`every node at height ${changeBlock}`, 30_000, async () =>
    (await Promise.all(urls.map(getStateRoot))).every((r) => r.height >= changeBlock) ? true : undefined,
  )
  const chains = await Promise.all(
    urls.map((u) => Promise.all(Array.from({ length: changeBlock }, (_, h) => getBlock(u, h + 1)))),
  )
  for (const [i, chain] of chains.entries()) assert.deepEqual(chain, chains[0], `node ${i}'s blocks`)
  const memberUrls = next.members.map((m) => urls[nodes.findIndex((n) => n.nodeId === m)])
  const agreed = await waitForAgreement(memberUrls, changeBlock, 30_000)
  await waitForAgreement(urls, agreed.height, 30_000)
  // The new committee of 3 orders transactions, and the faulty node keeps following: a transfer through
  // it (it forwards to the members) executes, and all four agree past it.
  const owner = readNodeKey(nodes[1].home, 'account')
  const chainId = await rpc<number>(urls[0], 'flk_chain_id')
  const account = await rpc<{ nonce: number }>(urls[0], 'flk_get_account', [accountAddress(owner)])
  const [transfer] = signCalls(owner, {
    chainId,
    firstNonce: account.nonce + 1,
    count: 1,
    call: () => ({
      method: 'Transfer',
      args: { to: accountAddress(readNodeKey(nodes[2].home, 'account')), token: 'flk', amount: 1n },
    }),
  })
  const [sent] = await sendBatch(urls[FAULTY], [transfer])
  assert.ok(sent.txHash, sent.error)
  const receipt = await rpc<Receipt>(urls[0], 'flk_wait_receipt', { hash: sent.txHash, timeoutMs: 30_000 })
  assert.equal(receipt.status, 'success')
  await waitForAgreement(urls, receipt.height, 30_000)
  const seenBy = await Promise.all(
    urls.map((u) => rpc<{ epoch: number; height: number }>(u, 'flk_get_status')),
  )
  const mineTxs: Array<{ method: string; epoch: number; round: number; receipt?: Receipt }> = []
  for (const block of chains[0]) {
    for (const txHex of block.transactions) {
      const tx = decodeTransaction(Buffer.from(txHex, 'hex'))
      const sender = tx.payload.sender
      if (!('node' in sender) || !isFaulty(sender.node)) continue
      if (!tx.payload.method.startsWith('CommitteeBeacon')) continue
      const args = (tx.payload as unknown as { args: { epoch: number; round: number } }).args
      const hash = toHex(computeTransactionDigest(tx.payload))
      const receipt = await rpc<Receipt>(urls[0], 'flk_get_receipt', [hash]).catch(() => undefined)
      mineTxs.push({ method: tx.payload.method, epoch: args.epoch, round: args.round, receipt })
    }
  }
  assert.ok(
    mineTxs.some(
      (x) =>
        x.method === 'CommitteeBeaconCommit' &&
        x.epoch === seen.epoch &&
        x.round === seen.round &&
        x.receipt?.status === 'success',
    ),
    `its commit in a block: ${JSON.stringify(mineTxs)}`,
  )
  assert.ok(
    !mineTxs.some((x) => x.method === 'CommitteeBeaconReveal'),
    `a reveal of its in a block: ${JSON.stringify(mineTxs)}`,
  )
  t.diagnostic(
    `all ${NODES} nodes hold the same ${changeBlock} blocks through the epoch change; the ${memberUrls.length} ` +
      `members of epoch ${seen.epoch + 1} agree at height ${agreed.height}, the faulty node with them; epoch/height by node now: ` +
      seenBy.map((x) => `${x.epoch}/${x.height}`).join(' '),
  )
  succeeded = true
})
