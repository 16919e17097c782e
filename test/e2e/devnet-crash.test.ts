// Crash faults on a real 4-node devnet (`fleek devnet up`, real processes, 127.0.0.1 only):
//   - kill -9 the author of the next anchor: commits go on, the survivors agree; it restarts and catches up;
//   - kill two: no commits and no divergence; restart them: the pending transaction commits, all agree;
//   - kill -9 a member during a load of transfers and restart it: every transaction with a receipt is
//     executed exactly once on every node, and every node holds the same blocks.
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

import { derivePublicKey, ethAddress, generateKey, type SecretKey } from '../../src/lib/keys/index.ts'
import { leaderOf } from '../../src/node/consensus/bullshark.ts'
import {
  type Block,
  getBlock,
  getStateRoot,
  readNodeKey,
  readConsensusRound,
  sendBatch,
  signCalls,
  startDevnet,
  waitForAgreement,
  waitUntil,
  type ReceiptJson as Receipt,
} from '../helpers/devnet.ts'
import { rpc } from '../helpers/node-process.ts'

test('a 4-member devnet: crashes of one and two members, kill -9 under load', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'fleek-devnet-crash-'))
  const devnet = await startDevnet(home, t)
  const nodes = devnet.nodes
  const urls = nodes.map((n) => n.rpcUrl)
  const chainId = await rpc<number>(urls[0], 'flk_chain_id')
  const status = await rpc<{ committee: string[] }>(urls[0], 'flk_get_status')
  assert.equal(status.committee.length, 4)
  // Committee index → devnet node index (the committee order is the genesis order).
  const nodeOfMember = status.committee.map((id) => nodes.findIndex((n) => n.nodeId === id))
  assert.ok(nodeOfMember.every((i) => i >= 0))

  const owners = nodes.map((n) => readNodeKey(n.home, 'account'))
  const nextNonce = owners.map(() => 1)
  const recipient = ethAddress(derivePublicKey(generateKey('account'))).toLowerCase()
  const signTransfers = (account: number, count: number): Uint8Array[] => {
    const txs = signCalls(owners[account] as SecretKey, {
      chainId,
      firstNonce: nextNonce[account],
      count,
      call: () => ({ method: 'Transfer', args: { to: recipient, token: 'flk', amount: 1n } }),
    })
    nextNonce[account] += count
    return txs
  }
  const submit = async (account: number, via: number): Promise<string> => {
    const [answer] = await sendBatch(urls[via], signTransfers(account, 1))
    assert.ok(answer.txHash, `flk_send_txn via node ${via}: ${answer.error}`)
    return answer.txHash
  }
  const waitReceipt = (url: string, hash: string, timeoutMs = 30_000): Promise<Receipt> =>
    rpc<Receipt>(url, 'flk_wait_receipt', { hash, timeoutMs })
  const up = new Set(nodes.map((n) => n.index))
  const upUrls = (): string[] => [...up].sort().map((i) => urls[i])

  await t.test('all four commit and agree', async () => {
    const hash = await submit(0, 1)
    const receipts = await Promise.all(urls.map((u) => waitReceipt(u, hash)))
    assert.ok(receipts.every((r) => r.status === 'success' && r.height === receipts[0].height))
    await waitForAgreement(urls, receipts[0].height, 30_000)
  })

  await t.test(
    'kill -9 the author of the next anchor: commits go on; it restarts and catches up',
    async () => {
      const observer = nodeOfMember[0]
      const round = await waitUntil('a proposed round in the log', 10_000, async () =>
        readConsensusRound(urls[observer]),
      )
      // The next even round whose anchor its author cannot have proposed yet.
      const anchorRound = round % 2 === 0 ? round + 2 : round + 3
      const victim = nodeOfMember[leaderOf(anchorRound, 4)]
      t.diagnostic(`round ${round}: killing node ${victim}, the author of the round-${anchorRound} anchor`)
      await devnet.stop(victim, { kill: true })
      up.delete(victim)
      const before = Math.max(...(await Promise.all(upUrls().map(getStateRoot))).map((r) => r.height))

      const survivors = [...up]
      const hashes = await Promise.all(survivors.map((i, k) => submit(i, survivors[(k + 1) % 3])))
      for (const url of upUrls())
        for (const h of hashes) assert.equal((await waitReceipt(url, h)).status, 'success')
      const agreed = await waitForAgreement(upUrls(), before + 1, 30_000)
      assert.ok(agreed.height > before)
      // The DAG went past the missing anchor.
      const roundAfter = await readConsensusRound(urls[survivors[0]])
      assert.ok(roundAfter !== undefined && roundAfter > anchorRound + 1, `round ${roundAfter}`)

      await devnet.start(victim)
      up.add(victim)
      const hash = await submit(victim, victim)
      for (const url of urls) assert.equal((await waitReceipt(url, hash, 60_000)).status, 'success')
      await waitForAgreement(urls, agreed.height + 1, 60_000)
    },
  )

  await t.test(
    'kill two: no commits, no divergence; restart them: the pending transaction commits',
    async () => {
      const victims = [nodeOfMember[2], nodeOfMember[3]]
      await Promise.all(victims.map((v) => devnet.stop(v, { kill: true })))
      for (const v of victims) up.delete(v)
      const [a, b] = [...up]
      const before = await waitForAgreement(upUrls(), 0, 10_000)

      const hash = await submit(a, a)
      await assert.rejects(waitReceipt(urls[a], hash, 5000), /no receipt/)
      await assert.rejects(rpc(urls[b], 'flk_get_receipt', [hash]), /no receipt/)
      for (const url of upUrls()) assert.deepEqual(await getStateRoot(url), before)

      for (const v of victims) {
        await devnet.start(v)
        up.add(v)
      }
      const receipts = await Promise.all(urls.map((u) => waitReceipt(u, hash, 60_000)))
      assert.ok(receipts.every((r) => r.status === 'success' && r.height === receipts[0].height))
      assert.ok(receipts[0].height > before.height)
      await waitForAgreement(urls, receipts[0].height, 60_000)
    },
  )

  await t.test(
    'kill -9 under a load of transfers, restart: every receipt is executed exactly once',
    async () => {
      const victim = nodeOfMember[1]
      // Account i submits through node (i + 1) % 4, in nonce order; an account stops at its first refusal
      // (the one sending through the victim stops when it dies), so no nonce gap follows a lost one.
      const TICKS = 50
      const PER_TICK = 2
      const plans = owners.map((_, i) => ({ via: (i + 1) % 4, txs: signTransfers(i, TICKS * PER_TICK) }))
      const sent: Array<{ hash: string; account: number; via: number; tx: Uint8Array }> = []
      const stopped = new Set<number>()
      let killed: Promise<void> | undefined
      const deadline = Date.now() + 60_000
      for (let tick = 0; tick < TICKS && Date.now() < deadline; tick++) {
        if (tick === 15) killed = devnet.stop(victim, { kill: true }).then(() => void up.delete(victim))
        const tickStart = Date.now()
        await Promise.all(
          plans.map(async (plan, account) => {
            if (stopped.has(account)) return
            const txs = plan.txs.slice(tick * PER_TICK, (tick + 1) * PER_TICK)
            const answers = await sendBatch(urls[plan.via], txs).catch(() => undefined)
            for (const [k, answer] of (answers ?? []).entries()) {
              if (answer.txHash === undefined) break
              sent.push({ hash: answer.txHash, account, via: plan.via, tx: txs[k] })
            }
            if (answers === undefined || answers.some((x) => x.txHash === undefined)) stopped.add(account)
          }),
        )
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tickStart))))
      }
      await killed
      assert.ok(!up.has(victim))
      t.diagnostic(`${sent.length} transfers admitted; node ${victim} killed at tick 15`)

      // Every transfer admitted by a node that stayed up commits.
      const survivorUrl = urls[[...up][0]]
      const durable = sent.filter((s) => s.via !== victim)
      await Promise.all(durable.map((s) => waitReceipt(survivorUrl, s.hash, 60_000)))

      await devnet.start(victim)
      up.add(victim)
      // Resubmitting through the restarted node is harmless.
      const replayed = await sendBatch(
        urls[victim],
        durable.slice(0, 20).map((s) => s.tx),
      )
      assert.ok(replayed.every((r) => r.txHash !== undefined))
      // A snapshot height: every receipt seen so far is at or below it, and all nodes agree there.
      // (A transaction the victim admitted may still commit later, above the snapshot: checked below.)
      const seen = await Promise.all(
        sent.map((s) => rpc<Receipt>(survivorUrl, 'flk_get_receipt', [s.hash]).catch(() => undefined)),
      )
      const highest = Math.max((await getStateRoot(survivorUrl)).height, ...seen.map((r) => r?.height ?? 0))
      const final = await waitForAgreement(urls, highest, 60_000)

      // Identical blocks on every node; each transaction hash in exactly one block.
      const chains: Block[][] = await Promise.all(
        urls.map((u) => Promise.all(Array.from({ length: final.height }, (_, h) => getBlock(u, h + 1)))),
      )
      for (const chain of chains.slice(1)) assert.deepEqual(chain, chains[0])
      const position = new Map<string, { height: number; index: number }>()
      for (const block of chains[0])
        block.txHashes.forEach((h, index) => {
          assert.ok(!position.has(h), `${h} appears in two blocks`)
          position.set(h, { height: block.height, index })
        })

      // Every transaction with a receipt anywhere: the same receipt on every node, at its one position.
      let receipted = 0
      const statuses = new Map<string, number>()
      for (const s of sent) {
        const found = await Promise.all(
          urls.map((u) => rpc<Receipt>(u, 'flk_get_receipt', [s.hash]).catch(() => undefined)),
        )
        if (s.via !== victim) assert.ok(found[0] !== undefined, `no receipt for ${s.hash}`)
        if (found.every((r) => r === undefined)) continue
        // Executed after the snapshot (a victim's transaction committing late): outside the blocks read.
        if (found.some((r) => r !== undefined && r.height > final.height)) continue
        receipted++
        assert.ok(
          found.every((r) => r !== undefined),
          `receipt of ${s.hash} missing on some node`,
        )
        const at = position.get(s.hash)
        assert.ok(at !== undefined, `${s.hash} has a receipt but is in no block`)
        for (const r of found) assert.deepEqual(r, found[0])
        assert.equal(found[0]!.height, at.height)
        assert.equal(found[0]!.index, at.index)
        const key = `${found[0]!.status}${found[0]!.reason ? ` ${found[0]!.reason}` : ''}`
        statuses.set(key, (statuses.get(key) ?? 0) + 1)
      }
      // A batch that commits after a later one of its sender fails the nonce check: still executed once.
      t.diagnostic(
        `${receipted} of ${sent.length} admitted transfers executed once on all 4 nodes: ${JSON.stringify(Object.fromEntries(statuses))}`,
      )
      assert.ok(receipted >= durable.length)
      assert.ok((statuses.get('success') ?? 0) >= durable.length / 2)
    },
  )
})
