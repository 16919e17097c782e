import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'

import { Consensus, MemoryDagStore } from '../../src/node/consensus/index.ts'
import { LoopbackHub } from '../../src/node/consensus/loopback.ts'
import { CommitRecorder, makeCommittee, makeMembers } from '../unit/node/consensus/fixtures.ts'

const fastOptions = { maxBatchDelayMs: 5, maxHeaderDelayMs: 20, syncTimeoutMs: 500 }

describe('consensus, committee of one', () => {
  const controller = new AbortController()
  after(() => controller.abort())

  it('certifies its own headers and commits submitted transactions in order', async () => {
    const [member] = makeMembers(1)
    const hub = new LoopbackHub()
    const store = new MemoryDagStore()
    const consensus = new Consensus(fastOptions, {
      committee: makeCommittee([member]),
      keys: { secretKey: member.seed, publicKey: member.publicKey },
      store,
      network: hub.createNetwork('self'),
    })
    const recorder = new CommitRecorder()
    consensus.onCommit(recorder.handler)
    consensus.start(controller.signal)
    const sent: string[] = []
    for (let i = 0; i < 50; i++) {
      sent.push(`tx-${i}`)
      consensus.submit(Buffer.from(`tx-${i}`))
    }
    await recorder.waitFor(() => recorder.transactions.length >= 50, 10_000, '50 transactions')
    for (let i = 50; i < 100; i++) {
      sent.push(`tx-${i}`)
      consensus.submit(Buffer.from(`tx-${i}`))
    }
    await recorder.waitFor(() => recorder.transactions.length >= 100, 10_000, '100 transactions')
    assert.deepEqual(recorder.transactions, sent)
    const indices = recorder.commits.map((c) => c.sub.index)
    assert.deepEqual(
      indices,
      [...indices].sort((a, b) => a - b),
    )
    for (let i = 1; i < recorder.commits.length; i++) {
      assert.ok(recorder.commits[i].sub.timestampMs >= recorder.commits[i - 1].sub.timestampMs)
    }
    assert.ok(consensus.round >= 3)
    await consensus.close()
  })
})
