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

interface Cluster {
  hub: LoopbackHub
  nodes: Consensus[]
  recorders: CommitRecorder[]
}

function startCluster(size: number, signal: AbortSignal): Cluster {
  const members = makeMembers(size)
  const committee = makeCommittee(members)
  const hub = new LoopbackHub()
  const recorders: CommitRecorder[] = []
  const nodes = members.map((m) => {
    const peer = Buffer.from(m.publicKey).toString('hex')
    const node = new Consensus(fastOptions, {
      committee,
      keys: { secretKey: m.secretKey, publicKey: m.publicKey },
      store: new MemoryDagStore(),
      network: hub.createNetwork(peer),
    })
    hub.attach(peer, node)
    const recorder = new CommitRecorder()
    node.onCommit(recorder.handler)
    recorders.push(recorder)
    return node
  })
  for (const node of nodes) node.start(signal)
  return { hub, nodes, recorders }
}

/** The committed sequence as comparable strings: index, anchor round, certificate digests. */
const sequenceOf = (r: CommitRecorder): string[] =>
  r.commits.map(
    (c) => `${c.sub.index}@${c.sub.anchorRound}:${c.sub.certificates.map((x) => x.digest).join(',')}`,
  )

describe('consensus, four members over the loopback network', () => {
  const controller = new AbortController()
  after(() => controller.abort())

  it('every member commits the same sequence', async () => {
    const { hub, nodes, recorders } = startCluster(4, controller.signal)
    const sent: string[] = []
    for (let i = 0; i < 80; i++) {
      sent.push(`tx-${i}`)
      nodes[i % 4].submit(Buffer.from(`tx-${i}`))
    }
    await Promise.all(
      recorders.map((r, i) =>
        r.waitFor(() => r.transactions.length >= 80, 20_000, `node ${i} to commit 80 transactions`),
      ),
    )
    for (const r of recorders) {
      assert.deepEqual([...r.transactions].sort(), [...sent].sort())
      assert.deepEqual(sequenceOf(r), sequenceOf(recorders[0]))
      assert.deepEqual(r.transactions, recorders[0].transactions)
    }
    // Transactions submitted to one member keep their order.
    const fromNode0 = recorders[0].transactions.filter((t) => Number(t.slice(3)) % 4 === 0)
    assert.deepEqual(
      fromNode0,
      [...fromNode0].sort((a, b) => Number(a.slice(3)) - Number(b.slice(3))),
    )
    assert.equal(hub.rejections.length, 0)
    await Promise.all(nodes.map((n) => n.close()))
  })

  it('with one member stopped, the other three go on committing the same sequence', async () => {
    const { hub, nodes, recorders } = startCluster(4, controller.signal)
    nodes[0].submit(Buffer.from('before'))
    await Promise.all(
      recorders.map((r, i) => r.waitFor(() => r.transactions.length >= 1, 20_000, `node ${i} first commit`)),
    )
    // Stop the member that leads round 6 (and every fourth even round after): index 3.
    hub.stop(nodes[3].peerKey)
    await nodes[3].close()
    const live = [0, 1, 2]
    const sent = ['before']
    for (let i = 0; i < 60; i++) {
      sent.push(`tx-${i}`)
      nodes[live[i % 3]].submit(Buffer.from(`tx-${i}`))
    }
    await Promise.all(
      live.map((i) =>
        recorders[i].waitFor(
          () => recorders[i].transactions.length >= 61,
          20_000,
          `node ${i} to commit 61 transactions`,
        ),
      ),
    )
    for (const i of live) {
      assert.deepEqual([...recorders[i].transactions].sort(), [...sent].sort())
      assert.deepEqual(sequenceOf(recorders[i]), sequenceOf(recorders[0]))
    }
    const anchorRounds = recorders[0].commits.map((c) => c.sub.anchorRound)
    assert.ok(anchorRounds.at(-1)! > anchorRounds[0], 'rounds advanced without member 3')
    assert.equal(hub.rejections.length, 0)
    await Promise.all(nodes.map((n) => n.close()))
  })
})
