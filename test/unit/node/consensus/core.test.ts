import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { isFleekError } from '../../../../src/lib/errors.ts'
import type { ConsensusClock, ConsensusNetwork, DagStore } from '../../../../src/node/consensus/interface.ts'
import { Consensus, MemoryDagStore } from '../../../../src/node/consensus/index.ts'
import {
  computeBatchDigest,
  computeHeaderDigest,
  createCommitteeContext,
  decodeConsensusMessage,
  decodeConsensusRequest,
  encodeConsensusMessage,
  encodeConsensusResponse,
  signHeader,
  signVote,
  type Batch,
  type Certificate,
  type Header,
  type Vote,
} from '../../../../src/node/consensus/messages.ts'
import { CommitRecorder, makeCommittee, makeMembers } from './fixtures.ts'

const members = makeMembers(4)
const committee = makeCommittee(members)
const ctx = createCommitteeContext(committee)
const peerOf = (i: number): string => Buffer.from(members[i].publicKey).toString('hex')

/** Timers that never fire: the proposer stays idle, so every message in a test is one we send. */
const stillClock: ConsensusClock = { now: () => 5000, setTimeout: () => 0, clearTimeout: () => {} }

class RecordingNetwork implements ConsensusNetwork {
  readonly sent: { peer: string; vote: Vote }[] = []
  readonly broadcasts: Uint8Array[] = []
  requests = 0
  answer: ((request: Uint8Array) => Uint8Array) | undefined

  broadcast(message: Uint8Array): void {
    this.broadcasts.push(message)
  }

  send(peer: string, message: Uint8Array): void {
    const m = decodeConsensusMessage(ctx, message)
    if (m.type === 'vote') this.sent.push({ peer, vote: m.vote })
  }

  async request(_peer: string, request: Uint8Array): Promise<Uint8Array> {
    this.requests++
    if (this.answer === undefined) throw new Error('unreachable')
    return this.answer(request)
  }
}

function startNode(store: DagStore, network: ConsensusNetwork): Consensus {
  const node = new Consensus(
    { syncRetries: 3, syncTimeoutMs: 1000 },
    {
      committee,
      keys: { secretKey: members[0].seed, publicKey: members[0].publicKey },
      store,
      network,
      clock: stillClock,
    },
  )
  node.onCommit(new CommitRecorder().handler)
  node.start(new AbortController().signal)
  return node
}

function makeHeader(
  author: number,
  round: number,
  parents: Uint8Array[],
  timestampMs = 1000,
  batches: Batch[] = [],
): Header {
  return signHeader(members[author].secretKey, {
    author,
    round,
    epoch: 0,
    batches: batches.map(computeBatchDigest),
    parents,
    timestampMs,
  })
}

function certify(header: Header, voters = [0, 1, 2]): Certificate {
  const digest = computeHeaderDigest(header)
  return {
    header,
    votes: voters.map((v) => ({
      voter: v,
      signature: signVote(members[v].secretKey, header, digest, v).signature,
    })),
  }
}

const headerBytes = (header: Header): Uint8Array => encodeConsensusMessage({ type: 'header', header })
const invalid = (err: unknown): boolean => isFleekError(err, 'INVALID_INPUT')

describe('narwhal core', () => {
  it('votes once per (author, round): an equivocating second header gets no vote', async () => {
    const network = new RecordingNetwork()
    const node = startNode(new MemoryDagStore(), network)
    const first = makeHeader(1, 1, [])
    await node.handleMessage(peerOf(1), headerBytes(first))
    assert.equal(network.sent.length, 1)
    assert.equal(network.sent[0].peer, peerOf(1))
    assert.deepEqual(network.sent[0].vote.header, computeHeaderDigest(first))
    assert.equal(network.sent[0].vote.voter, 0)

    // Refused as a misbehaviour of the sender (the network counts INVALID_INPUT against it).
    await assert.rejects(node.handleMessage(peerOf(1), headerBytes(makeHeader(1, 1, [], 2000))), (err) => {
      assert.ok(invalid(err))
      assert.match((err as Error).message, /equivocating header/)
      return true
    })
    assert.equal(network.sent.length, 1, 'no vote for a conflicting header of the same (author, round)')

    // The same header again gets the same vote again (so a retransmission can complete a quorum).
    await node.handleMessage(peerOf(1), headerBytes(first))
    assert.equal(network.sent.length, 2)
    assert.deepEqual(network.sent[1].vote.header, computeHeaderDigest(first))
    await node.close()
  })

  it('a restart on the same store never votes for a conflicting header', async () => {
    const store = new MemoryDagStore()
    const network = new RecordingNetwork()
    const before = startNode(store, network)
    await before.handleMessage(peerOf(2), headerBytes(makeHeader(2, 1, [])))
    await before.close()
    const after = startNode(store, network)
    await assert.rejects(after.handleMessage(peerOf(2), headerBytes(makeHeader(2, 1, [], 3000))), invalid)
    assert.equal(network.sent.length, 1)
    await after.close()
  })

  it('rejects a header with a bad signature and does not vote', async () => {
    const network = new RecordingNetwork()
    const node = startNode(new MemoryDagStore(), network)
    const header = { ...makeHeader(1, 1, []), signature: makeHeader(2, 1, []).signature }
    await assert.rejects(node.handleMessage(peerOf(1), headerBytes(header)), invalid)
    assert.equal(network.sent.length, 0)
    await node.close()
  })

  it('rejects a certificate without quorum and one with a forged vote', async () => {
    const network = new RecordingNetwork()
    const node = startNode(new MemoryDagStore(), network)
    const header = makeHeader(1, 1, [])
    const short = certify(header, [1, 2])
    await assert.rejects(
      node.handleMessage(peerOf(1), encodeConsensusMessage({ type: 'certificate', certificate: short })),
      invalid,
    )
    const forged = certify(header, [1, 2, 3])
    forged.votes[2] = { voter: 3, signature: forged.votes[1].signature }
    await assert.rejects(
      node.handleMessage(peerOf(1), encodeConsensusMessage({ type: 'certificate', certificate: forged })),
      invalid,
    )
    await node.close()
  })

  it('fetches missing parents and batches through the network before voting', async () => {
    const network = new RecordingNetwork()
    const node = startNode(new MemoryDagStore(), network)
    const batch: Batch = { transactions: [Buffer.from('payload')] }
    const round1 = [1, 2, 3].map((a) => certify(makeHeader(a, 1, [])))
    const parents = round1.map((c) => computeHeaderDigest(c.header))
    const header = makeHeader(1, 2, parents, 1000, [batch])
    network.answer = (bytes) => {
      const request = decodeConsensusRequest(bytes)
      return request.type === 'get-certificates'
        ? encodeConsensusResponse({ type: 'certificates', certificates: round1 })
        : encodeConsensusResponse({ type: 'batches', batches: [batch] })
    }
    await node.handleMessage(peerOf(1), headerBytes(header))
    assert.equal(network.requests, 2)
    assert.equal(network.sent.length, 1)
    assert.deepEqual(network.sent[0].vote.header, computeHeaderDigest(header))
    await node.close()
  })

  it('gives up after a bounded number of fetch attempts, without voting', async () => {
    const network = new RecordingNetwork()
    const node = startNode(new MemoryDagStore(), network)
    const parents = [1, 2, 3].map((a) => computeHeaderDigest(makeHeader(a, 1, [])))
    await node.handleMessage(peerOf(1), headerBytes(makeHeader(1, 2, parents)))
    assert.equal(network.requests, 3)
    assert.equal(network.sent.length, 0)
    await node.close()
  })

  it('rejects a header whose parents are not of the previous round', async () => {
    const network = new RecordingNetwork()
    const node = startNode(new MemoryDagStore(), network)
    const round1 = [1, 2, 3].map((a) => certify(makeHeader(a, 1, [])))
    const r1Digests = round1.map((c) => computeHeaderDigest(c.header))
    const round2 = [1, 2, 3].map((a) => certify(makeHeader(a, 2, r1Digests)))
    for (const c of [...round1, ...round2]) {
      await node.handleMessage(
        peerOf(c.header.author),
        encodeConsensusMessage({ type: 'certificate', certificate: c }),
      )
    }
    const skipping = makeHeader(2, 3, r1Digests) // round-1 parents for a round-3 header
    await assert.rejects(node.handleMessage(peerOf(2), headerBytes(skipping)), invalid)
    assert.equal(network.sent.length, 0)
    await node.close()
  })

  it('sends its header again, less and less often, until a quorum votes for it', async () => {
    // A clock whose timers fire only when the test says so.
    const timers = new Map<number, { fn: () => void; delayMs: number }>()
    let nextId = 1
    const clock: ConsensusClock = {
      now: () => 5000,
      setTimeout: (fn, delayMs) => {
        timers.set(nextId, { fn, delayMs })
        return nextId++
      },
      clearTimeout: (id) => void timers.delete(id as number),
    }
    const fire = (pick: (delayMs: number) => boolean): number => {
      const entry = [...timers.entries()].find(([, t]) => pick(t.delayMs))
      assert.ok(entry, 'a timer is armed')
      timers.delete(entry[0])
      entry[1].fn()
      return entry[1].delayMs
    }
    const network = new RecordingNetwork()
    const node = new Consensus(
      { maxHeaderDelayMs: 100 },
      {
        committee,
        keys: { secretKey: members[0].seed, publicKey: members[0].publicKey },
        store: new MemoryDagStore(),
        network,
        clock,
      },
    )
    node.onCommit(new CommitRecorder().handler)
    node.start(new AbortController().signal)
    const headers = (): Header[] =>
      network.broadcasts
        .map((b) => decodeConsensusMessage(ctx, b))
        .flatMap((m) => (m.type === 'header' ? [m.header] : []))
    fire((d) => d === 100) // the header delay: round 1 is proposed
    // It leaves once the store has it durably (with the memory store: the next turn of the loop).
    await node.flushCommits()
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(headers().length, 1)
    fire((d) => d === 100) // nobody voted: sent again, and a resend is armed
    assert.equal(headers().length, 2)
    const delays = [fire((d) => d > 100), fire((d) => d > 100), fire((d) => d > 100)]
    assert.deepEqual(delays, [200, 400, 800])
    assert.equal(headers().length, 5)
    assert.ok(headers().every((h) => h.round === 1 && h.author === 0))
    // Two votes make the quorum (with its own): the header is certified and no longer sent.
    const own = headers()[0]
    const digest = computeHeaderDigest(own)
    for (const v of [1, 2])
      await node.handleMessage(
        peerOf(v),
        encodeConsensusMessage({ type: 'vote', vote: signVote(members[v].secretKey, own, digest, v) }),
      )
    for (const [id, t] of [...timers]) {
      if (t.delayMs <= 100) continue
      timers.delete(id)
      t.fn()
    }
    assert.equal(headers().length, 5)
    await node.close()
  })
})
