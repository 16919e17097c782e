import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'

import { Consensus, MemoryDagStore } from '../../src/node/consensus/index.ts'
import { LmdbDagStore } from '../../src/node/consensus/lmdb-store.ts'
import { LoopbackHub } from '../../src/node/consensus/loopback.ts'
import {
  CommitRecorder,
  makeCommittee,
  makeMembers,
  type TestMember,
} from '../unit/node/consensus/fixtures.ts'

const fastOptions = { maxBatchDelayMs: 5, maxHeaderDelayMs: 20, syncTimeoutMs: 500 }
const dirs: string[] = []
const controller = new AbortController()
after(() => {
  controller.abort()
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function makeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleek-consensus-'))
  dirs.push(dir)
  return dir
}

describe('consensus restart on lmdb', () => {
  it('a committee of one resumes after a restart: no commit delivered twice, rounds go on', async () => {
    const [member] = makeMembers(1)
    const committee = makeCommittee([member])
    const path = makeDir()
    const run = async (from: number, to: number, recorder: CommitRecorder): Promise<number> => {
      const store = new LmdbDagStore(path)
      const consensus = new Consensus(fastOptions, {
        committee,
        keys: { secretKey: member.seed, publicKey: member.publicKey },
        store,
        network: new LoopbackHub().createNetwork('self'),
      })
      consensus.onCommit(recorder.handler)
      consensus.start(controller.signal)
      for (let i = from; i < to; i++) consensus.submit(Buffer.from(`tx-${i}`))
      await recorder.waitFor(
        () => recorder.transactions.length >= to - from,
        10_000,
        `${to - from} transactions`,
      )
      const round = consensus.round
      await consensus.close()
      await store.close()
      return round
    }
    const first = new CommitRecorder()
    const roundBefore = await run(0, 30, first)
    const second = new CommitRecorder()
    await run(30, 60, second)
    const all = [...first.commits, ...second.commits]
    assert.deepEqual(
      all.flatMap((c) => c.transactions.map((t) => Buffer.from(t).toString())),
      Array.from({ length: 60 }, (_, i) => `tx-${i}`),
    )
    const indices = all.map((c) => c.sub.index)
    assert.equal(new Set(indices).size, indices.length, 'no sub-DAG delivered twice')
    assert.deepEqual(
      indices,
      [...indices].sort((a, b) => a - b),
    )
    assert.ok(
      second.commits[0].sub.anchorRound > roundBefore - 2,
      'the restarted node went on from its rounds',
    )
  })

  it('a restarted member of four recovers its DAG, catches up and commits the same sequence', async () => {
    const members = makeMembers(4)
    const committee = makeCommittee(members)
    const hub = new LoopbackHub()
    const peerOf = (m: TestMember): string => Buffer.from(m.publicKey).toString('hex')
    const path = makeDir()
    const recorders = members.map(() => new CommitRecorder())
    const build = (i: number, store: MemoryDagStore | LmdbDagStore, recorder: CommitRecorder): Consensus => {
      const node = new Consensus(fastOptions, {
        committee,
        keys: { secretKey: members[i].secretKey, publicKey: members[i].publicKey },
        store,
        network: hub.createNetwork(peerOf(members[i])),
        logger: process.env.DEBUG_CONSENSUS
          ? {
              debug: () => {},
              info: (c, m) => process.stderr.write(`${i} ${m} ${JSON.stringify(c)}\n`),
              warn: (c, m) => process.stderr.write(`${i} ${m} ${JSON.stringify(c)}\n`),
              error: (c, m) => process.stderr.write(`${i} ${m} ${JSON.stringify(c)}\n`),
            }
          : undefined,
      })
      hub.attach(peerOf(members[i]), node)
      node.onCommit(recorder.handler)
      node.start(controller.signal)
      return node
    }
    let lmdb = new LmdbDagStore(path)
    const nodes = members.map((_, i) => build(i, i === 3 ? lmdb : new MemoryDagStore(), recorders[i]))
    nodes[0].submit(Buffer.from('first'))
    await Promise.all(
      recorders.map((r) => r.waitFor(() => r.transactions.length >= 1, 20_000, 'first commit')),
    )

    // Member 3 goes down; the others commit more without it.
    hub.stop(peerOf(members[3]))
    await nodes[3].close()
    await lmdb.close()
    for (let i = 0; i < 9; i++) nodes[i % 3].submit(Buffer.from(`down-${i}`))
    await recorders[0].waitFor(
      () => recorders[0].transactions.length >= 10,
      20_000,
      'commits without member 3',
    )

    // It comes back on its store and catches up through the others' certificates.
    hub.resume(peerOf(members[3]))
    lmdb = new LmdbDagStore(path)
    const restarted = new CommitRecorder()
    nodes[3] = build(3, lmdb, restarted)
    for (let i = 0; i < 8; i++) nodes[i % 4].submit(Buffer.from(`up-${i}`))
    await Promise.all(
      recorders
        .slice(0, 3)
        .map((r) => r.waitFor(() => r.transactions.length >= 18, 20_000, 'commits after the restart')),
    )
    const reference = recorders[0].commits.map((c) => `${c.sub.index}:${c.transactions.length}`)
    await restarted.waitFor(
      () =>
        restarted.commits.length > 0 &&
        restarted.commits.at(-1)!.sub.index >= recorders[0].commits.at(-1)!.sub.index,
      20_000,
      'the restarted member to catch up',
    )
    // Everything member 3 handled, before and after its restart, matches member 0's sequence.
    const seen = [...recorders[3].commits, ...restarted.commits].map(
      (c) => `${c.sub.index}:${c.transactions.length}`,
    )
    assert.deepEqual(seen, reference.slice(0, seen.length))
    await Promise.all(nodes.map((n) => n.close()))
    await lmdb.close()
  })
})
