// Epoch changes on a real 6-node devnet with a committee of 4 (`fleek devnet up`, real processes,
// 127.0.0.1 only, 10 s epochs): a load of transfers from six accounts through members and edges while at
// least three epoch changes happen. The committee rotates (the beacon's shuffle), every node holds the
// same blocks and reports the same state root at the same height, and every transaction with a receipt
// was applied exactly once.
//
// Exactly once, not "in exactly one block": Narwhal may order one transaction twice (forwarded to two
// members, or handed on again at an epoch handover); the application rejects the second inclusion
// (DUPLICATE, or INVALID_NONCE once a later epoch cleared the executed digests) and keeps the first
// receipt. The test sees block contents and stored receipts, not the outcome of each inclusion, so it
// checks what exactly-once implies from outside:
//   - the receipt names one inclusion of the hash, the same on every node;
//   - any other inclusion of a sender's k-th transfer lies after the receipt's position, or before the
//     (k−1)-th transfer's: the nonce rule allows no application there (anywhere between the two, the
//     transfer would have been applied at that earlier position);
//   - the balances add up: each fresh recipient holds exactly the successful transfers sent to it, each
//     fresh sender lost exactly them, and its nonce counts them once.
import assert from 'node:assert/strict'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

import { generateKey, type SecretKey } from '../../src/lib/keys/index.ts'
import { json, runFleek } from '../helpers/cli.ts'
import {
  type Block,
  accountAddress,
  getBlock,
  getStateRoot,
  readNodeKey,
  sendBatch,
  signCalls,
  startDevnet,
  waitForAgreement,
  type ReceiptJson as Receipt,
} from '../helpers/devnet.ts'
import { rpc } from '../helpers/node-process.ts'

interface Status {
  epoch: number
  height: number
  committee: string[]
}

const NODES = 6
const COMMITTEE = 4
// Long enough for many transfers per epoch, short enough for three changes in well under a minute. The
// beacon's commit and reveal timeouts (DEVNET_PARAMS: 10 s each) only matter when a member is silent.
const EPOCH_TIME = '10s'
const EPOCH_CHANGES = 3
const FLK = 10n ** 18n
const FUNDING = 1000n * FLK
const AMOUNT = 1n

test('6 nodes, a committee of 4: three epoch changes under a load of transfers', async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'fleek-devnet-epochs-'))
  const startMs = Date.now()
  const devnet = await startDevnet(home, t, { nodes: NODES, committee: COMMITTEE, epochTime: EPOCH_TIME })
  const nodes = devnet.nodes
  assert.equal(nodes.length, NODES)
  const urls = nodes.map((n) => n.rpcUrl)
  const chainId = await rpc<number>(urls[0], 'flk_chain_id')
  const status = (i: number): Promise<Status> => rpc<Status>(urls[i], 'flk_get_status')
  const indexOf = (nodeId: string): number => nodes.findIndex((n) => n.nodeId === nodeId)
  const waitReceipt = (url: string, hash: string, timeoutMs = 30_000): Promise<Receipt> =>
    rpc<Receipt>(url, 'flk_wait_receipt', { hash, timeoutMs })
  const balance = async (url: string, address: string): Promise<bigint> =>
    BigInt((await rpc<{ flk: string }>(url, 'flk_get_balance', [address])).flk)

  // Fresh senders (funded by the node owners, so no epoch reward reaches them) and fresh recipients: the
  // balances of both change only through this test's transfers.
  const senders = nodes.map(() => generateKey('account'))
  const recipients = nodes.map(() => accountAddress(generateKey('account')))
  const nextNonce = senders.map(() => 1)
  // Every transfer admitted: its hash, sender, nonce, and the node it went through.
  const sent: Array<{ hash: string; account: number; nonce: number; via: number }> = []
  const signTransfer = (key: SecretKey, nonce: number, to: string, amount: bigint): Uint8Array =>
    signCalls(key, {
      chainId,
      firstNonce: nonce,
      count: 1,
      call: () => ({ method: 'Transfer', args: { to, token: 'flk', amount } }),
    })[0]

  const funded = await Promise.all(
    nodes.map(async (n, i) => {
      const owner = readNodeKey(n.home, 'account')
      const nonce = (await rpc<number>(urls[i], 'flk_get_nonce', [accountAddress(owner)])) + 1
      const [answer] = await sendBatch(urls[i], [
        signTransfer(owner, nonce, accountAddress(senders[i]), FUNDING),
      ])
      assert.ok(answer.txHash, `funding via node ${i}: ${answer.error}`)
      return waitReceipt(urls[i], answer.txHash, 30_000)
    }),
  )
  for (const r of funded) assert.equal(r.status, 'success', `funding: ${r.reason}`)

  const first = await status(0)
  const startEpoch = first.epoch
  const members0 = new Set(first.committee.map(indexOf))
  assert.equal(members0.size, COMMITTEE)
  assert.ok(!members0.has(-1))
  // Account i submits through node (i + 1) % 6: members and edges of the first epoch alike. One transfer
  // in flight per account: a sender's transfers pipelined through one node may execute out of nonce order
  // (the later one is then rejected), so each waits for its receipt before the next.
  const vias = senders.map((_, i) => (i + 1) % NODES)
  assert.ok(vias.some((v) => members0.has(v)) && vias.some((v) => !members0.has(v)))
  const deadline = Date.now() + 90_000
  let epoch = startEpoch
  let failed = false // the first failure stops every sender
  const loadMs = Date.now()
  await Promise.all(
    senders.map(async (key, account) => {
      while (!failed && epoch < startEpoch + EPOCH_CHANGES && Date.now() < deadline) {
        const via = vias[account]
        const nonce = nextNonce[account]++
        const [answer] = await sendBatch(urls[via], [signTransfer(key, nonce, recipients[account], AMOUNT)])
        if (answer.txHash === undefined) failed = true
        assert.ok(answer.txHash, `flk_send_txn via node ${via}: ${answer.error}`)
        sent.push({ hash: answer.txHash, account, nonce, via })
        const receipt = await waitReceipt(urls[via], answer.txHash, 30_000).catch((err: unknown) => {
          failed = true
          throw err
        })
        if (receipt.status !== 'success') failed = true
        assert.equal(receipt.status, 'success', `${answer.txHash}: ${receipt.reason}`)
        epoch = Math.max(epoch, (await status(via)).epoch)
      }
    }),
  )
  assert.ok(
    epoch >= startEpoch + EPOCH_CHANGES,
    `reached epoch ${epoch} (from ${startEpoch}) within the bounded wait`,
  )
  t.diagnostic(
    `${sent.length} transfers executed across epochs ${startEpoch}..${epoch} in ${Date.now() - loadMs} ms ` +
      `(devnet up ${loadMs - startMs} ms before, with funding)`,
  )

  // The committee of each epoch, as recorded on chain: it rotates.
  const committees: string[][] = []
  for (let e = startEpoch; e <= epoch; e++)
    committees.push(
      json<{ epoch: number; members: string[] }>(
        await runFleek(['committee', 'show', '--epoch', String(e), '--rpc', urls[0], '--json']),
      ).members,
    )
  t.diagnostic(
    `committees by node index, epochs ${startEpoch}..${epoch}: ${committees.map((c) => `[${c.map(indexOf).join(',')}]`).join(' ')}`,
  )
  for (const c of committees) {
    assert.equal(c.length, COMMITTEE)
    assert.equal(new Set(c).size, COMMITTEE)
    assert.ok(c.every((m) => indexOf(m) >= 0))
  }
  const sorted = committees.map((c) => JSON.stringify([...c].sort()))
  assert.ok(
    sorted.some((c) => c !== sorted[0]),
    'the committee never changed',
  )

  // A snapshot height: every receipt seen is at or below it, and all nodes agree there.
  const receipts = await Promise.all(sent.map((s) => rpc<Receipt>(urls[0], 'flk_get_receipt', [s.hash])))
  const highest = Math.max((await getStateRoot(urls[0])).height, ...receipts.map((r) => r.height))
  const final = await waitForAgreement(urls, highest, 60_000)

  // Identical blocks on every node.
  const chains: Block[][] = await Promise.all(
    urls.map((u) => Promise.all(Array.from({ length: final.height }, (_, h) => getBlock(u, h + 1)))),
  )
  for (const [i, chain] of chains.entries()) assert.deepEqual(chain, chains[0], `node ${i}'s blocks`)
  const inclusions = new Map<string, Array<{ height: number; index: number }>>()
  for (const block of chains[0])
    block.txHashes.forEach((h, index) => {
      const list = inclusions.get(h) ?? []
      list.push({ height: block.height, index })
      inclusions.set(h, list)
    })

  // Every transfer: the same receipt on every node, naming one of its inclusions.
  const before = (a: { height: number; index: number }, b: { height: number; index: number }): boolean =>
    a.height < b.height || (a.height === b.height && a.index < b.index)
  const applied = new Map<string, Receipt>()
  for (let k = 0; k < sent.length; k += 50) {
    const found = await Promise.all(
      sent
        .slice(k, k + 50)
        .map((s) => Promise.all(urls.map((u) => rpc<Receipt>(u, 'flk_get_receipt', [s.hash])))),
    )
    for (const [j, all] of found.entries()) {
      const s = sent[k + j]
      for (const r of all) assert.deepEqual(r, all[0], `the receipt of ${s.hash} differs between nodes`)
      const r = all[0]
      assert.equal(r.status, 'success')
      assert.ok(r.height <= final.height)
      const at = inclusions.get(s.hash) ?? []
      assert.ok(
        at.some((p) => p.height === r.height && p.index === r.index),
        `the receipt of ${s.hash} names height ${r.height} index ${r.index}, not one of its inclusions ${JSON.stringify(at)}`,
      )
      applied.set(s.hash, r)
    }
  }
  // Per sender, in nonce order: applied positions strictly increase, and every other inclusion of a
  // transfer lies where the nonce rule rejects it.
  let twice = 0
  for (let account = 0; account < senders.length; account++) {
    const mine = sent.filter((s) => s.account === account).sort((a, b) => a.nonce - b.nonce)
    mine.forEach((s, k) => assert.equal(s.nonce, k + 1))
    let previous: Receipt | undefined
    for (const s of mine) {
      const r = applied.get(s.hash) as Receipt
      if (previous !== undefined)
        assert.ok(
          before(previous, r),
          `sender ${account}: nonce ${s.nonce} applied before nonce ${s.nonce - 1}`,
        )
      for (const p of inclusions.get(s.hash) ?? []) {
        if (p.height === r.height && p.index === r.index) continue
        twice++
        const rejected = before(r, p) || (previous !== undefined && before(p, previous))
        assert.ok(
          rejected,
          `sender ${account} nonce ${s.nonce}: a second inclusion at ${p.height}/${p.index}, between its ` +
            `predecessor's position and its receipt's (${r.height}/${r.index}): it would have applied there`,
        )
      }
      previous = r
    }
  }

  // The balances add up, on every node.
  const counts = senders.map((_, i) => BigInt(sent.filter((s) => s.account === i).length))
  for (const url of urls)
    for (let i = 0; i < senders.length; i++) {
      assert.equal(await balance(url, recipients[i]), counts[i] * AMOUNT, `recipient ${i} at ${url}`)
      assert.equal(
        await balance(url, accountAddress(senders[i])),
        FUNDING - counts[i] * AMOUNT,
        `sender ${i} at ${url}`,
      )
      assert.equal(await rpc<number>(url, 'flk_get_nonce', [accountAddress(senders[i])]), Number(counts[i]))
    }

  const end = await waitForAgreement(urls, final.height, 30_000)
  t.diagnostic(
    `${sent.length} transfers applied once on all ${NODES} nodes (${twice} ordered a second time, rejected); ` +
      `${final.height} identical blocks; all agree at height ${end.height}; ${Date.now() - startMs} ms in all`,
  )
})
