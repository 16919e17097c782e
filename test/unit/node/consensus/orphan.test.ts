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

import type { ConsensusNetwork } from '../../../../src/node/consensus/interface.ts'
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
import { CommitRecorder, ManualClock, makeCommittee, makeMembers } from './fixtures.ts'

const members = makeMembers(4)
const committee = makeCommittee(members)
const ctx = createCommitteeContext(committee)
const peerOf = (i: number): string => Buffer.from(members[i].publicKey).toString('hex')
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const PARENT_WAIT_MS = 7

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

/** A header leaves once the store has it durably: with the memory store, on the next turn of the loop. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

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
    const clock = new ManualClock()
    const tx = Buffer.from('late-but-certified')
    // A batch is sealed at once (its size is the transaction's); gcDepth is far above the rounds of
    // this test: collection cannot be what proposes the batch again.
    const node = new Consensus(
      { maxBatchBytes: tx.length, gcDepth: 50, maxParentWaitMs: PARENT_WAIT_MS, deliverEmptySubDags: true },
      {
        committee,
        keys: { secretKey: members[0].seed, publicKey: members[0].publicKey },
        store: new MemoryDagStore(),
        network,
        clock,
      },
    )
    const recorder = new CommitRecorder()
    node.onCommit(recorder.handler)
    node.start(new AbortController().signal)
    /** Certificates of members 1–3; then the rest of their round does not come in time. */
    const deliver = async (...certificates: Certificate[]): Promise<void> => {
      for (const c of certificates)
        await node.handleMessage(
          peerOf(c.header.author),
          encodeConsensusMessage({ type: 'certificate', certificate: c }),
        )
      // Only the wait for the rest of a round ever fires here, and only when the test says so.
      clock.fire(PARENT_WAIT_MS)
      await settle()
    }
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
    await settle()
    const batch = hex(computeBatchDigest({ transactions: [tx] }))
    assert.equal(network.headers.length, 1)
    assert.deepEqual(network.headers[0].batches.map(hex), [batch])
    const own1 = await voteForLatest()
    const r1 = [1, 2, 3].map((a) => certify(a, 1, []))
    await deliver(...r1)
    // Round 2: member 0 links its round-1 certificate, but that header does not get its votes in time
    // (member 0 waits for them, then moves on); the others had proposed round 2 without member 0's
    // round-1 certificate.
    const r2 = [1, 2, 3].map((a) => certify(a, 2, r1))
    await deliver(...r2)
    // Round 3: member 0 moved on (round 2 superseded); this header is certified and referenced.
    assert.equal(network.headers.at(-1)!.round, 3)
    const own3 = await voteForLatest()
    const r3 = [1, 2, 3].map((a) => certify(a, 3, r2))
    await deliver(...r3)
    // Round 4 (anchor: member 2) links member 0's round-3 certificate; round 5 commits it.
    const r4 = [1, 2, 3].map((a) => certify(a, 4, [own3, r3[0], r3[1]]))
    await deliver(...r4)
    const r5 = [1, 2, 3].map((a) => certify(a, 5, r4))
    await deliver(...r5)
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
    await deliver(...r6)
    await deliver(...previous)
    for (let round = again.header.round + 2; round <= 11; round++) {
      const parents = previous
      previous = [1, 2, 3].map((a) => certify(a, round, parents))
      await deliver(...previous)
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
