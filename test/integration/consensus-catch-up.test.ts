// A member that was down for many more rounds than the in-memory gcDepth catches up: the others keep
// `retainRounds` of certificates and batches in their stores, and it fetches its missing history
// parent by parent, then commits the same sequence.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'

import { Consensus, MemoryDagStore, type ConsensusOptions } from '../../src/node/consensus/index.ts'
import { LoopbackHub } from '../../src/node/consensus/loopback.ts'
import {
  CommitRecorder,
  makeCommittee,
  makeMembers,
  type TestMember,
} from '../unit/node/consensus/fixtures.ts'

const controller = new AbortController()
after(() => controller.abort())

async function runOutage(options: Partial<ConsensusOptions>): Promise<{ caughtUp: boolean; missed: number }> {
  const members = makeMembers(4)
  const committee = makeCommittee(members)
  const hub = new LoopbackHub()
  const peerOf = (m: TestMember): string => Buffer.from(m.publicKey).toString('hex')
  const stores = members.map(() => new MemoryDagStore())
  const recorders = members.map(() => new CommitRecorder())
  const build = (i: number, recorder: CommitRecorder): Consensus => {
    const node = new Consensus(options, {
      committee,
      keys: { secretKey: members[i].secretKey, publicKey: members[i].publicKey },
      store: stores[i],
      network: hub.createNetwork(peerOf(members[i])),
    })
    hub.attach(peerOf(members[i]), node)
    node.onCommit(recorder.handler)
    node.start(controller.signal)
    return node
  }
  const nodes = members.map((_, i) => build(i, recorders[i]))
  try {
    nodes[0].submit(Buffer.from('first'))
    await Promise.all(recorders.map((r) => r.waitFor(() => r.transactions.length >= 1, 20_000, 'first')))

    // Member 3 goes down (its store survives); the others run on for many times gcDepth rounds.
    hub.stop(peerOf(members[3]))
    await nodes[3].close()
    const downAt = nodes[0].round
    for (let i = 0; i < 6; i++) nodes[i % 3].submit(Buffer.from(`down-${i}`))
    await recorders[0].waitFor(() => recorders[0].transactions.length >= 7, 20_000, 'commits without 3')
    const deadline = Date.now() + 30_000
    while (nodes[0].round <= downAt + 12 * options.gcDepth!) {
      assert.ok(Date.now() < deadline, 'the others went on proposing rounds')
      await new Promise((r) => setTimeout(r, 20))
    }
    const missed = nodes[0].round - downAt

    hub.resume(peerOf(members[3]))
    const restarted = new CommitRecorder()
    nodes[3] = build(3, restarted)
    for (let i = 0; i < 4; i++) nodes[i % 3].submit(Buffer.from(`up-${i}`))
    await recorders[0].waitFor(() => recorders[0].transactions.length >= 11, 20_000, 'commits after')
    const caughtUp = await restarted
      .waitFor(() => restarted.transactions.length >= 10, 10_000, 'the restarted member to catch up')
      .then(
        () => true,
        () => false,
      )
    if (caughtUp) {
      // What it handled after the restart continues member 0's sequence exactly.
      const reference = recorders[0].commits.map((c) => `${c.sub.index}:${c.transactions.length}`)
      const seen = [...recorders[3].commits, ...restarted.commits].map(
        (c) => `${c.sub.index}:${c.transactions.length}`,
      )
      assert.deepEqual(seen, reference.slice(0, seen.length))
    }
    return { caughtUp, missed }
  } finally {
    await Promise.all(nodes.map((n) => n.close()))
  }
}

describe('consensus catch-up after a long outage', () => {
  const fast = { maxBatchDelayMs: 5, maxHeaderDelayMs: 20, syncTimeoutMs: 500, gcDepth: 4 }

  it('a member down for > 12·gcDepth rounds fetches the retained history and commits the same sequence', async () => {
    const { caughtUp, missed } = await runOutage({ ...fast, retainRounds: 1000 })
    assert.ok(missed > 48, `member 3 missed ${missed} rounds`)
    assert.ok(caughtUp, 'the restarted member caught up')
  })

  it('without retention beyond gcDepth it cannot (the history it needs is gone)', async () => {
    const { caughtUp } = await runOutage({ ...fast, retainRounds: 4 })
    assert.equal(caughtUp, false)
  })
})
