// Once the previous round has its quorum, the proposer waits (at most maxParentWaitMs) for the rest of
// it: the certificates of the members heard from lately, so that a slightly slower member is
// referenced rather than left behind — and for nobody silent (a member that is down costs no wait).
// Deterministic: member 0 is a real Consensus on a clock whose timers fire when the test says so.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import type { ConsensusNetwork } from '../../../../src/node/consensus/interface.ts'
import { Consensus, MemoryDagStore } from '../../../../src/node/consensus/index.ts'
import {
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
import { ManualClock, makeCommittee, makeMembers } from './fixtures.ts'

const members = makeMembers(4)
const committee = makeCommittee(members)
const ctx = createCommitteeContext(committee)
const peerOf = (i: number): string => Buffer.from(members[i].publicKey).toString('hex')
const PARENT_WAIT_MS = 7
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

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

function makeHeader(author: number, round: number): Header {
  return signHeader(members[author].secretKey, {
    author,
    round,
    epoch: 0,
    batches: [],
    parents: [],
    timestampMs: 1000,
  })
}

function certify(header: Header): Certificate {
  const digest = computeHeaderDigest(header)
  return {
    header,
    votes: [1, 2, 3].map((v) => ({
      voter: v,
      signature: signVote(members[v].secretKey, header, digest, v).signature,
    })),
  }
}

/** Member 0 with its round-1 header certified by members 1 and 2. */
async function startMember0(): Promise<{ node: Consensus; network: CapturingNetwork; clock: ManualClock }> {
  const network = new CapturingNetwork()
  const clock = new ManualClock()
  const tx = Buffer.from('payload')
  const node = new Consensus(
    { maxBatchBytes: tx.length, maxParentWaitMs: PARENT_WAIT_MS },
    {
      committee,
      keys: { secretKey: members[0].seed, publicKey: members[0].publicKey },
      store: new MemoryDagStore(),
      network,
      clock,
    },
  )
  node.onCommit(async () => {})
  node.start(new AbortController().signal)
  node.submit(tx)
  await settle()
  const own = network.headers[0]
  assert.equal(own.round, 1)
  const digest = computeHeaderDigest(own)
  for (const v of [1, 2])
    await node.handleMessage(
      peerOf(v),
      encodeConsensusMessage({ type: 'vote', vote: signVote(members[v].secretKey, own, digest, v) }),
    )
  assert.equal(network.certificates.length, 1, 'round 1 of member 0 certified')
  return { node, network, clock }
}

const send = async (node: Consensus, from: number, message: Parameters<typeof encodeConsensusMessage>[0]) =>
  node.handleMessage(peerOf(from), encodeConsensusMessage(message))

describe('the wait for the rest of a round', () => {
  it('waits for a member heard from, and references its certificate when it comes', async () => {
    const { node, network, clock } = await startMember0()
    const h3 = makeHeader(3, 1)
    await send(node, 3, { type: 'header', header: h3 }) // member 3 is alive (and slower)
    for (const a of [1, 2])
      await send(node, a, { type: 'certificate', certificate: certify(makeHeader(a, 1)) })
    await settle()
    assert.equal(network.headers.length, 1, 'no round-2 header yet: member 3 is waited for')
    await send(node, 3, { type: 'certificate', certificate: certify(h3) })
    await settle()
    const round2 = network.headers.at(-1)!
    assert.equal(round2.round, 2)
    assert.equal(round2.parents.length, 4, 'all four round-1 certificates referenced')
    assert.ok(round2.parents.some((p) => Buffer.from(p).equals(computeCertificateDigest(certify(h3)))))
    assert.equal(clock.fire(PARENT_WAIT_MS), 0, 'the wait was called off')
    await node.close()
  })

  it('waits at most maxParentWaitMs', async () => {
    const { node, network, clock } = await startMember0()
    await send(node, 3, { type: 'header', header: makeHeader(3, 1) })
    for (const a of [1, 2])
      await send(node, a, { type: 'certificate', certificate: certify(makeHeader(a, 1)) })
    await settle()
    assert.equal(network.headers.length, 1)
    assert.equal(clock.fire(PARENT_WAIT_MS), 1)
    await settle()
    assert.equal(network.headers.at(-1)!.round, 2)
    assert.equal(network.headers.at(-1)!.parents.length, 3)
    await node.close()
  })

  it('does not wait for a member never heard from', async () => {
    const { node, network } = await startMember0()
    for (const a of [1, 2])
      await send(node, a, { type: 'certificate', certificate: certify(makeHeader(a, 1)) })
    await settle()
    assert.equal(network.headers.at(-1)!.round, 2, 'round 2 proposed at once')
    assert.equal(network.headers.at(-1)!.parents.length, 3)
    await node.close()
  })
})
