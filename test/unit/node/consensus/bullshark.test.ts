import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import fc from 'fast-check'

import {
  Bullshark,
  leaderOf,
  type CommittedSubDag,
  type DagVertex,
} from '../../../../src/node/consensus/bullshark.ts'

// Hand-built DAGs over a committee of 4 (A=0, B=1, C=2, D=3; f = 1, quorum 3, validity 2).
// Anchors: round 2 → B, round 4 → C, round 6 → D, round 8 → A.

const name = (c: DagVertex): string => `${'ABCD'[c.author]}${c.round}`

function makeCertificate(round: number, author: number, parents: DagVertex[]): DagVertex {
  return {
    digest: `${round}:${author}`,
    round,
    author,
    parents: parents.map((p) => p.digest),
    timestampMs: 1000 * round + author,
    batchDigests: [Uint8Array.of(round, author)],
  }
}

/** Rounds `from..to`, each author referencing every certificate of the previous round. */
function buildRounds(from: number, to: number, authors: number[], previous: DagVertex[]): DagVertex[] {
  const all: DagVertex[] = []
  let parents = previous
  for (let r = from; r <= to; r++) {
    const round = authors.map((a) => makeCertificate(r, a, r === 1 ? [] : parents))
    all.push(...round)
    parents = round
  }
  return all
}

function insertAll(b: Bullshark, certificates: DagVertex[]): CommittedSubDag[] {
  return certificates.flatMap((c) => b.insert(c))
}

const names = (subs: CommittedSubDag[]): string[][] => subs.map((s) => s.certificates.map(name))

describe('bullshark ordering', () => {
  it('leaders rotate over the committee on even rounds', () => {
    assert.deepEqual(
      [2, 4, 6, 8, 10].map((r) => leaderOf(r, 4)),
      [1, 2, 3, 0, 1],
    )
    assert.equal(leaderOf(2, 1), 0)
  })

  it('commit_one: ideal DAG commits the round-2 anchor after the four round-1 certificates', () => {
    const b = new Bullshark(4, { gcDepth: 50 })
    const dag = buildRounds(1, 3, [0, 1, 2, 3], [])
    const subs = insertAll(b, dag)
    assert.deepEqual(names(subs), [['A1', 'B1', 'C1', 'D1', 'B2']])
    assert.equal(subs[0].index, 0)
    assert.equal(subs[0].anchorRound, 2)
    assert.equal(subs[0].leader, 1)
    assert.equal(subs[0].timestampMs, 2001)
    assert.deepEqual(
      subs[0].batchDigests.map((d) => [...d]),
      [
        [1, 0],
        [1, 1],
        [1, 2],
        [1, 3],
        [2, 1],
      ],
    )
    // The commit happened exactly when the second round-3 certificate referenced the anchor.
    const b2 = new Bullshark(4, { gcDepth: 50 })
    const r12 = dag.filter((c) => c.round <= 2)
    const r3 = dag.filter((c) => c.round === 3)
    assert.deepEqual(insertAll(b2, r12), [])
    assert.deepEqual(b2.insert(r3[0]), [])
    assert.equal(b2.insert(r3[1]).length, 1)
    assert.deepEqual(b2.state.lastCommittedRounds, [1, 2, 1, 1])
    assert.equal(b2.state.nextIndex, 1)
  })

  it('dead_node: with D crashed, anchors 2 and 4 commit in round order', () => {
    const b = new Bullshark(4, { gcDepth: 50 })
    const subs = insertAll(b, buildRounds(1, 5, [0, 1, 2], []))
    assert.deepEqual(names(subs), [
      ['A1', 'B1', 'C1', 'B2'],
      ['A2', 'C2', 'A3', 'B3', 'C3', 'C4'],
    ])
    assert.deepEqual(
      subs.map((s) => s.index),
      [0, 1],
    )
  })

  it('dead_node continued: the anchor of round 6 (D) is missing, anchor 8 commits with rounds 5–7', () => {
    const b = new Bullshark(4, { gcDepth: 50 })
    const subs = insertAll(b, buildRounds(1, 9, [0, 1, 2], []))
    assert.deepEqual(
      subs.map((s) => s.anchorRound),
      [2, 4, 8],
    )
    assert.deepEqual(names(subs)[2], ['A4', 'B4', 'A5', 'B5', 'C5', 'A6', 'B6', 'C6', 'A7', 'B7', 'C7', 'A8'])
    // Across the whole output, rounds never go down.
    const rounds = subs.flatMap((s) => s.certificates.map((c) => c.round))
    assert.deepEqual(
      rounds,
      [...rounds].sort((x, y) => x - y),
    )
  })

  it('not_enough_support: anchor 2 commits later through its path from anchor 4', () => {
    const b = new Bullshark(4, { gcDepth: 50 })
    const r1 = buildRounds(1, 1, [0, 1, 2], []) // 3×r1: D has no round-1 certificate
    const r2 = [0, 1, 2, 3].map((a) => makeCertificate(2, a, r1)) // 4×r2
    const [A2, B2, C2, D2] = r2
    const r3 = [
      makeCertificate(3, 0, [A2, B2, C2]), // the only reference to the anchor B2
      makeCertificate(3, 2, [A2, C2, D2]),
      makeCertificate(3, 3, [A2, C2, D2]),
    ]
    assert.deepEqual(insertAll(b, [...r1, ...r2, ...r3]), [])
    const r4 = [0, 2, 3].map((a) => makeCertificate(4, a, r3)) // anchor C4 reaches B2 through A3
    const r5 = [0, 2, 3].map((a) => makeCertificate(5, a, r4))
    const subs = insertAll(b, [...r4, ...r5])
    assert.deepEqual(names(subs), [
      ['A1', 'B1', 'C1', 'B2'],
      ['A2', 'C2', 'D2', 'A3', 'C3', 'D3', 'C4'],
    ])
    // As the reference expects: 3×r1, 4×r2, 3×r3, r4.
    const rounds = subs.flatMap((s) => s.certificates.map((c) => c.round))
    assert.deepEqual(rounds, [1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 4])
    assert.deepEqual(
      subs.map((s) => [s.index, s.anchorRound, s.leader]),
      [
        [0, 2, 1],
        [1, 4, 2],
      ],
    )
  })

  it('an anchor without a path from the next committed anchor is skipped for good', () => {
    const b = new Bullshark(4, { gcDepth: 50 })
    const r1 = buildRounds(1, 1, [0, 1, 2, 3], [])
    const r2 = [0, 1, 2, 3].map((a) => makeCertificate(2, a, r1))
    const [A2, B2, C2, D2] = r2
    const r3 = [0, 2, 3].map((a) => makeCertificate(3, a, [A2, C2, D2])) // nobody references B2
    const r4 = [0, 2, 3].map((a) => makeCertificate(4, a, r3))
    const r5 = [0, 2, 3].map((a) => makeCertificate(5, a, r4))
    const subs = insertAll(b, [...r1, ...r2, ...r3, ...r4, ...r5])
    assert.deepEqual(names(subs), [['A1', 'B1', 'C1', 'D1', 'A2', 'C2', 'D2', 'A3', 'C3', 'D3', 'C4']])
    assert.ok(!subs[0].certificates.includes(B2))
  })

  it('missing_leader: the round-2 anchor is absent, so anchor 4 commits with its history', () => {
    const b = new Bullshark(4, { gcDepth: 50 })
    const early = buildRounds(1, 2, [0, 2, 3], []) // B silent in rounds 1–2
    const r2 = early.filter((c) => c.round === 2)
    const late = buildRounds(3, 5, [0, 1, 2, 3], r2)
    const subs = insertAll(b, [...early, ...late])
    assert.deepEqual(names(subs), [['A1', 'C1', 'D1', 'A2', 'C2', 'D2', 'A3', 'B3', 'C3', 'D3', 'C4']])
    assert.equal(subs[0].index, 0)
    assert.equal(subs[0].anchorRound, 4)
  })

  it('a committee of one commits every even round on the next certificate', () => {
    const b = new Bullshark(1, { gcDepth: 50 })
    const subs = insertAll(b, buildRounds(1, 7, [0], []))
    assert.deepEqual(names(subs), [
      ['A1', 'A2'],
      ['A3', 'A4'],
      ['A5', 'A6'],
    ])
    assert.deepEqual(
      subs.map((s) => s.timestampMs),
      [2000, 4000, 6000],
    )
  })

  it('timestamps never decrease even when an anchor header says otherwise', () => {
    const b = new Bullshark(1, { gcDepth: 50 })
    const c1 = makeCertificate(1, 0, [])
    const c2 = { ...makeCertificate(2, 0, [c1]), timestampMs: 9000 }
    const c3 = makeCertificate(3, 0, [c2])
    const c4 = { ...makeCertificate(4, 0, [c3]), timestampMs: 5000 }
    const c5 = makeCertificate(5, 0, [c4])
    const subs = insertAll(b, [c1, c2, c3, c4, c5])
    assert.deepEqual(
      subs.map((s) => s.timestampMs),
      [9000, 9000],
    )
  })

  it('resumes from persisted state without committing anything twice', () => {
    const dag = buildRounds(1, 9, [0, 1, 2, 3], [])
    const full = insertAll(new Bullshark(4, { gcDepth: 50 }), dag)
    const first = new Bullshark(4, { gcDepth: 50 })
    const cut = dag.findIndex((c) => c.round === 6)
    const before = insertAll(first, dag.slice(0, cut))
    // Restart: replay every stored certificate into a fresh instance built from the saved state.
    const second = new Bullshark(4, { gcDepth: 50 }, first.state)
    const after = insertAll(second, dag)
    assert.deepEqual(names([...before, ...after]), names(full))
    assert.deepEqual(
      [...before, ...after].map((s) => s.index),
      full.map((s) => s.index),
    )
  })

  it('garbage-collects rounds more than gcDepth below the last commit', () => {
    const b = new Bullshark(4, { gcDepth: 4 })
    const dag = buildRounds(1, 21, [0, 1, 2, 3], [])
    const subs = insertAll(b, dag)
    assert.equal(subs.at(-1)?.anchorRound, 20)
    assert.equal(b.gcRound, 16)
    // A late certificate of a collected round is ignored.
    assert.deepEqual(b.insert(makeCertificate(3, 1, [])), [])
    // Every certificate is committed exactly once.
    const committed = subs.flatMap((s) => s.certificates.map(name))
    assert.equal(new Set(committed).size, committed.length)
    assert.equal(committed.length, 4 * 19 + 1)
  })

  it('rejects a certificate whose author is not in the committee', () => {
    const b = new Bullshark(4, { gcDepth: 50 })
    assert.throws(() => b.insert(makeCertificate(1, 4, [])), { code: 'INVALID_INPUT' })
  })

  it('property: any causal insertion order gives the same committed sequence', () => {
    // Random DAGs: each round, each live author references a random quorum of the previous round.
    const dagArbitrary = fc
      .array(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 15 })), { minLength: 4, maxLength: 4 }),
        {
          minLength: 4,
          maxLength: 14,
        },
      )
      .map((rounds) => {
        const all: DagVertex[] = []
        let previous: DagVertex[] = []
        for (const [i, spec] of rounds.entries()) {
          const r = i + 1
          const current: DagVertex[] = []
          for (const [author, [alive, pick]] of spec.entries()) {
            if (!alive && author !== 0) continue // author 0 never crashes, keeps rounds going
            let parents = previous
            if (previous.length > 3) parents = previous.filter((_, j) => j !== pick % previous.length)
            current.push(makeCertificate(r, author, r === 1 ? [] : parents))
          }
          if (r > 1 && previous.length < 3) break
          all.push(...current)
          previous = current
        }
        return all
      })
    fc.assert(
      fc.property(dagArbitrary, fc.integer({ min: 0, max: 1000 }), (dag, seed) => {
        const reference = insertAll(new Bullshark(4, { gcDepth: 50 }), dag)
        // Another causal order: shuffle within each round (parents always come from earlier rounds).
        const shuffled = [...dag].sort(
          (x, y) => x.round - y.round || ((x.author * 7 + seed) % 5) - ((y.author * 7 + seed) % 5),
        )
        const other = insertAll(new Bullshark(4, { gcDepth: 50 }), shuffled)
        // Support is counted per round, so the commits are the same, in the same order.
        assert.deepEqual(names(other), names(reference))
        const a = reference.flatMap((s) => s.certificates.map(name))
        assert.equal(new Set(a).size, a.length)
      }),
      { seed: 42, numRuns: 200 },
    )
  })
})
