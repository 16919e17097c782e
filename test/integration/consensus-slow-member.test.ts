// A member whose messages reach the others later than theirs reach each other (a slower link, a
// busier machine) must still have its transactions committed within a few rounds. Without the wait
// for the members that keep pace, the three fast members form every round among themselves, nobody
// references the slow member's certificates, and its transactions wait for its turns as leader or for
// the garbage collection of their round (gcDepth rounds later) — the commit latency tail.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'

import { Consensus, MemoryDagStore, type ConsensusNetwork } from '../../src/node/consensus/index.ts'
import { LoopbackHub } from '../../src/node/consensus/loopback.ts'
import { CommitRecorder, makeCommittee, makeMembers } from '../unit/node/consensus/fixtures.ts'

const SLOW_MS = 25
const options = {
  maxBatchDelayMs: 5,
  maxHeaderDelayMs: 20,
  maxParentWaitMs: 100,
  gcDepth: 50,
  syncTimeoutMs: 1000,
}
/** Rounds from a transaction's submission to the anchor that commits it, at most. */
const MAX_COMMIT_ROUNDS = 8

/** Delivers everything `self` sends SLOW_MS later (in order: equal delays keep their order). */
function delayed(network: ConsensusNetwork): ConsensusNetwork {
  return {
    broadcast: (message) => void setTimeout(() => network.broadcast(message), SLOW_MS),
    send: (peer, message) => void setTimeout(() => network.send(peer, message), SLOW_MS),
    request: async (peer, request, signal) => {
      await new Promise((resolve) => setTimeout(resolve, SLOW_MS))
      return network.request(peer, request, signal)
    },
  }
}

describe('consensus with a slow member', () => {
  const controller = new AbortController()
  after(() => controller.abort())

  it(`commits the slow member's transactions within ${MAX_COMMIT_ROUNDS} rounds of their submission`, async () => {
    const members = makeMembers(4)
    const committee = makeCommittee(members)
    const hub = new LoopbackHub()
    const recorders: CommitRecorder[] = []
    const nodes = members.map((m, i) => {
      const peer = Buffer.from(m.publicKey).toString('hex')
      const network = hub.createNetwork(peer)
      const node = new Consensus(options, {
        committee,
        keys: { secretKey: m.secretKey, publicKey: m.publicKey },
        store: new MemoryDagStore(),
        network: i === 3 ? delayed(network) : network,
      })
      hub.attach(peer, node)
      const recorder = new CommitRecorder()
      node.onCommit(recorder.handler)
      recorders.push(recorder)
      return node
    })
    for (const node of nodes) node.start(controller.signal)

    // Every member gets a transaction every 10 ms, for 1.5 s; each is tagged with the round its
    // member was at when it came in.
    const submittedAt = new Map<string, number>()
    const total = 150
    for (let k = 0; k < total; k++) {
      for (const [i, node] of nodes.entries()) {
        const tx = `m${i}-${k}`
        submittedAt.set(tx, node.round)
        node.submit(Buffer.from(tx))
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const watcher = recorders[0]
    const committedBy = (): number[] => {
      const counts = [0, 0, 0, 0]
      for (const t of watcher.transactions) counts[Number(t.slice(1, t.indexOf('-')))]++
      return counts
    }
    await watcher
      .waitFor(() => watcher.transactions.length >= 4 * total, 30_000, 'every transaction committed')
      .catch((err: Error) => {
        throw new Error(`${err.message}; committed per member: ${committedBy().join(', ')} of ${total}`)
      })

    const lags = new Map<number, number[]>()
    for (const { sub, transactions } of watcher.commits)
      for (const t of transactions) {
        const tx = Buffer.from(t).toString()
        const member = Number(tx.slice(1, tx.indexOf('-')))
        const list = lags.get(member) ?? []
        list.push(sub.anchorRound - submittedAt.get(tx)!)
        lags.set(member, list)
      }
    const worst = [0, 1, 2, 3].map((m) => Math.max(...(lags.get(m) ?? [Infinity])))
    assert.ok(
      worst.every((w) => w <= MAX_COMMIT_ROUNDS),
      `rounds from submission to commit, worst per member: ${worst.join(', ')}`,
    )
    assert.equal(new Set(watcher.transactions).size, 4 * total, 'each transaction committed once')
    assert.equal(hub.rejections.length, 0)
    await Promise.all(nodes.map((n) => n.close()))
  })
})
