// The tail of the commit latency: a member's certificate that the others moved past (it reached them
// after they had proposed the next round, and the member's own next header — its only link — was
// superseded) is in no committed history. Bullshark skips it for good once a later certificate of that
// member commits, so its batches must be proposed again then, not `gcDepth` rounds later when its round
// is collected (on the devnet that was ~50 rounds ≈ 5 s: p99 ≈ 10 × p50).
//
// Deterministic: member 0 is a real Consensus whose timers never fire; members 1–3 are played by the
// test, which decides exactly which certificate references which.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import type { ConsensusClock, ConsensusNetwork } from '../../../../src/node/consensus/interface.ts'
import { Consensus, MemoryDagStore } from '../../../../src/node/consensus/index.ts'
import {
  computeBatchDigest,
  computeCertificateDigest,
  computeHeaderDigest,
  createCommitteeContext,
  decodeConsensusMessage,
  encodeConsensusMessage,
  signHeader,
  signVote,
  type Certificate,
  type Header,
} from '../../../../src/node/consensus/messages.ts'
import { CommitRecorder, makeCommittee, makeMembers } from './fixtures.ts'

const members = makeMembers(4)
const committee = makeCommittee(members)
const ctx = createCommitteeContext(committee)
const peerOf = (i: number): string => Buffer.from(members[i].publicKey).toString('hex')
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Timers never fire: member 0 proposes only when a batch or a quorum of certificates arrives. */
const stillClock: ConsensusClock = { now: () => 5000, setTimeout: () => 0, clearTimeout: () => {} }

/** Keeps what member 0 broadcasts: its headers and certificates. */
class CapturingNetwork implements ConsensusNetwork {
  readonly headers: Header[] = []
  readonly certificates: Certificate[] = []
  broadcast(message: Uint8Array): void {
    const m = decodeConsensusMessage(ctx, message)
    if (m.type === 'header') this.headers.push(m.header)
    if (m.type === 'certificate') this.certificates.push(m.certificate)
  }
  send(): void {}
  async request(): Promise<Uint8Array> {
    throw new Error('no fetches in this test')
  }
}

function certify(author: number, round: number, parents: Certificate[]): Certificate {
  const header = signHeader(members[author].secretKey, {
    author,
    round,
    epoch: 0,
    batches: [],
    parents: parents.map(computeCertificateDigest),
    timestampMs: 1000 + round,
  })
  const digest = computeHeaderDigest(header)
  return {
    header,
    votes: [1, 2, 3].map((v) => ({
      voter: v,
      signature: signVote(members[v].secretKey, header, digest, v).signature,
    })),
  }
}

describe('an own certificate that the commits went past', () => {
  it('has its batches proposed again once a later certificate of its author commits', async () => {
    const network = new CapturingNetwork()
    const tx = Buffer.from('late-but-certified')
    // A batch is sealed at once (its size is the transaction's); gcDepth far above the rounds of this test: collection cannot be what re-proposes the batch.
    const node = new Consensus(
      { maxBatchBytes: tx.length, gcDepth: 50, deliverEmptySubDags: true },
      {
        committee,
        keys: { secretKey: members[0].seed, publicKey: members[0].publicKey },
        store: new MemoryDagStore(),
        network,
        clock: stillClock,
      },
    )
    const recorder = new CommitRecorder()
    node.onCommit(recorder.handler)
    node.start(new AbortController().signal)
    const deliver = async (c: Certificate): Promise<void> =>
      node.handleMessage(
        peerOf(c.header.author),
        encodeConsensusMessage({ type: 'certificate', certificate: c }),
      )
    /** Votes of members 1 and 2 for member 0's latest header; returns its certificate. */
    const voteForLatest = async (): Promise<Certificate> => {
      const header = network.headers.at(-1)!
      const digest = computeHeaderDigest(header)
      for (const v of [1, 2])
        await node.handleMessage(
          peerOf(v),
          encodeConsensusMessage({ type: 'vote', vote: signVote(members[v].secretKey, header, digest, v) }),
        )
      const certificate = network.certificates.at(-1)!
      assert.equal(hex(computeCertificateDigest(certificate)), hex(digest), 'member 0 certified its header')
      return certificate
    }

    // Round 1: member 0's header carries the batch and is certified.
    node.submit(tx)
    const batch = hex(computeBatchDigest({ transactions: [tx] }))
    assert.equal(network.headers.length, 1)
    assert.deepEqual(network.headers[0].batches.map(hex), [batch])
    const own1 = await voteForLatest()
    const r1 = [1, 2, 3].map((a) => certify(a, 1, []))
    for (const c of r1) await deliver(c)
    // Round 2: member 0 links its round-1 certificate, but that header never gets its votes; the
    // others had already proposed round 2 without member 0's certificate.
    const own2 = network.headers.at(-1)!
    assert.equal(own2.round, 2)
    assert.ok(own2.parents.some((p) => hex(p) === hex(computeCertificateDigest(own1))))
    const r2 = [1, 2, 3].map((a) => certify(a, 2, r1))
    for (const c of r2) await deliver(c)
    // Round 3: member 0 moved on (round 2 superseded); this header is certified and referenced.
    assert.equal(network.headers.at(-1)!.round, 3)
    const own3 = await voteForLatest()
    const r3 = [1, 2, 3].map((a) => certify(a, 3, r2))
    for (const c of r3) await deliver(c)
    // Round 4 (anchor: member 2) links member 0's round-3 certificate; round 5 commits it.
    const r4 = [1, 2, 3].map((a) => certify(a, 4, [own3, r3[0], r3[1]]))
    for (const c of r4) await deliver(c)
    const r5 = [1, 2, 3].map((a) => certify(a, 5, r4))
    for (const c of r5) await deliver(c)
    await node.flushCommits()
    const committed = (c: Certificate): boolean =>
      recorder.commits.some((x) =>
        x.sub.certificates.some((y) => y.digest === hex(computeCertificateDigest(c))),
      )
    assert.ok(committed(own3), "member 0's round-3 certificate committed")
    assert.ok(
      !recorder.commits.some((c) =>
        c.sub.certificates.some((x) => x.digest === hex(computeCertificateDigest(own1))),
      ),
      'the round-1 certificate is in no committed history',
    )

    // The batch is in member 0's next header, five rounds after it was first proposed (not fifty)…
    const carrying = network.headers.filter((h) => h.batches.some((b) => hex(b) === batch))
    assert.equal(carrying.length, 2, 'proposed again exactly once')
    assert.ok(carrying[1].round <= 6, `proposed again in round ${carrying[1].round}`)
    // …and commits with it, once.
    const again = await voteForLatest()
    const r6 = [1, 2, 3].map((a) => certify(a, again.header.round, r5))
    // The next round links it; the anchor of round 10 (member 1's) has it in its history.
    let previous = [1, 2, 3].map((a) => certify(a, again.header.round + 1, [again, r6[1], r6[2]]))
    for (const c of [...r6, ...previous]) await deliver(c)
    for (let round = again.header.round + 2; round <= 11; round++) {
      const parents = previous
      previous = [1, 2, 3].map((a) => certify(a, round, parents))
      for (const c of previous) await deliver(c)
    }
    await node.flushCommits()
    assert.deepEqual(
      recorder.transactions.filter((t) => t === tx.toString()),
      [tx.toString()],
      'the transaction committed exactly once',
    )
    await node.close()
  })
})
