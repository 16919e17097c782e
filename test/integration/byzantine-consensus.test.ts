// A byzantine committee member (test/helpers/byzantine.ts) against three honest members running the
// real Narwhal/Bullshark consensus over real Networks on 127.0.0.1 (n = 4, f = 1). It sends a
// malformed message, an oversized frame, a header with a bad signature, two headers for one round,
// a certificate without quorum, one with a forged vote, headers of a stale and of a future epoch,
// and finally a flood. Each is refused by the component, nothing of it is committed, the honest
// members go on committing, and the offence lands in an OffenderLog wired the way node.ts wires it
// (network misbehaviour recorded, 'not-committee' and other-epoch consensus traffic not).
import '../../bin/polyfill.js'

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import type { FleekError } from '../../src/lib/errors.ts'
import { Consensus, MemoryDagStore } from '../../src/node/consensus/index.ts'
import type { Batch } from '../../src/node/consensus/messages.ts'
import { Network, type NodeRecord } from '../../src/node/network/index.ts'
import { OffenderLog } from '../../src/node/offenders.ts'
import { ByzantinePeer, craftGarbage } from '../helpers/byzantine.ts'
import { CommitRecorder, makeCommittee, makeMembers } from '../unit/node/consensus/fixtures.ts'
import { waitFor } from '../unit/node/network/fixtures.ts'

const EPOCH = 3
const MAX_CONSENSUS_BYTES = 1 << 20
const BAN_THRESHOLD = 40
const consensusOptions = { maxBatchDelayMs: 10, maxHeaderDelayMs: 50, syncTimeoutMs: 1000 }
const networkOptions = {
  reconnectMinMs: 50,
  reconnectMaxMs: 400,
  dialTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
  maxConsensusBytes: MAX_CONSENSUS_BYTES,
  // High enough that every case before the flood is recorded without a ban; the flood crosses it.
  misbehaviourThreshold: BAN_THRESHOLD,
  banMs: 60_000,
}

interface Honest {
  index: number
  peerKey: string
  network: Network
  consensus: Consensus
  recorder: CommitRecorder
  offenders: OffenderLog
  /** Messages the consensus refused (what its handler threw), as the node's wrapper saw them. */
  rejections: string[]
  /** Messages of a later epoch kept for later, as the node keeps them. */
  early: number[]
}

/** The epoch a consensus message was refused for (node.ts's `epochOf`). */
const epochOf = (err: unknown): number | undefined => {
  const e = (err as FleekError | undefined)?.details?.messageEpoch
  return typeof e === 'number' ? e : undefined
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const batchOf = (label: string): Batch => ({ transactions: [text(`byz-${label}-1`), text(`byz-${label}-2`)] })

describe('byzantine member: consensus over the real network', () => {
  const keys = makeMembers(4)
  const committee = makeCommittee(keys, EPOCH)
  const publicKeys = keys.map((k) => k.publicKey)
  const controller = new AbortController()
  const honest: Honest[] = []
  let byz: ByzantinePeer
  const targets = (): string[] => honest.map((h) => h.peerKey)
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }

  async function startHonest(index: number, registry: NodeRecord[]): Promise<Honest> {
    const key = keys[index]
    const offenders = new OffenderLog()
    const network = await Network.start(
      { ...networkOptions, listen: ['/ip4/127.0.0.1/tcp/0'] },
      {
        nodeKey: { secret: key.seed },
        registry,
        committee: publicKeys,
        // As node.ts: every misbehaviour but routine epoch-change traffic goes to the offender log.
        onMisbehaviour: (peer, reason) => {
          if (reason !== 'not-committee') offenders.record(peer, 'network', reason)
        },
      },
      controller.signal,
    )
    const consensus = new Consensus(consensusOptions, {
      committee,
      keys: { secretKey: key.secretKey, publicKey: key.publicKey },
      store: new MemoryDagStore(),
      network,
    })
    const member: Honest = {
      index,
      peerKey: network.peerKey,
      network,
      consensus,
      recorder: new CommitRecorder(),
      offenders,
      rejections: [],
      early: [],
    }
    // As node.ts's #attachNetwork: a refusal is rethrown (the network records it against the sender)
    // unless it is a message of another epoch, dropped quietly (a later epoch's kept for later).
    network.attachConsensus({
      handleMessage: async (from, bytes) => {
        try {
          await consensus.handleMessage(from, bytes)
        } catch (err) {
          member.rejections.push((err as Error).message)
          const epoch = epochOf(err)
          if (epoch === undefined) throw err
          if (epoch > EPOCH) member.early.push(epoch)
        }
      },
      handleRequest: async (from, bytes) => consensus.handleRequest(from, bytes),
    })
    network.onTransaction((_from, tx) => consensus.submit(tx))
    consensus.onCommit(member.recorder.handler)
    consensus.start(controller.signal)
    return member
  }

  /** Offences recorded against the byzantine member at one honest node. */
  const offencesAt = (h: Honest): number => h.offenders.get(byz.peerKey)?.count ?? 0
  const recentAt = (h: Honest): string[] => h.offenders.get(byz.peerKey)?.recent ?? []

  /** Waits until every honest node recorded `more` offences beyond `before` and names `reason`. */
  async function expectRecorded(before: number[], more: number, reason: string): Promise<void> {
    await waitFor(
      () => honest.every((h, i) => offencesAt(h) >= before[i] + more),
      15_000,
      `${more} more offence(s) of the byzantine member at every honest node (${reason})`,
    )
    for (const h of honest) {
      assert.ok(recentAt(h).includes(`network: ${reason}`), `${reason} recorded at member ${h.index}`)
      assert.deepEqual(
        h.offenders.list().map((r) => r.peer),
        [byz.peerKey],
        'only the byzantine member is an offender',
      )
    }
  }

  /** Each honest member submits one transaction; every honest member commits all three (bounded). */
  async function expectHonestCommitting(label: string): Promise<void> {
    const wanted = honest.map((h) => `honest-${label}-${h.index}`)
    for (const [i, h] of honest.entries()) h.consensus.submit(text(wanted[i]))
    await Promise.all(
      honest.map((h) =>
        h.recorder.waitFor(
          () => wanted.every((t) => h.recorder.transactions.includes(t)),
          20_000,
          `honest transactions of "${label}" committed at member ${h.index}`,
        ),
      ),
    )
  }

  const offencesNow = (): number[] => honest.map(offencesAt)

  before(async () => {
    process.on('unhandledRejection', onUnhandled)
    byz = await ByzantinePeer.start({ seed: keys[3].seed, publicKey: keys[3].publicKey }, committee)
    const registry: NodeRecord[] = [{ publicKey: keys[3].publicKey, multiaddrs: byz.listenAddresses() }]
    for (const index of [0, 1, 2]) {
      const member = await startHonest(index, [...registry])
      honest.push(member)
      registry.push({
        publicKey: keys[index].publicKey,
        multiaddrs: member.network.addresses().map((a) => a.replace(/\/p2p\/.*$/, '')),
      })
    }
    await waitFor(
      () =>
        honest.every(
          (h) =>
            byz.isConnected(h.peerKey) && honest.every((o) => o === h || h.network.isConnected(o.peerKey)),
        ),
      20_000,
      'the committee connected',
    )
    await expectHonestCommitting('start')
    // The byzantine member has seen certificates: it can build headers on top of the DAG.
    await waitFor(() => byz.quorumRound() > 0, 10_000, 'certificates seen by the byzantine member')
  })

  after(async () => {
    controller.abort()
    await Promise.all(honest.map(async (h) => h.consensus.close()))
    await Promise.all([...honest.map((h) => h.network.close()), byz?.stop()])
    process.off('unhandledRejection', onUnhandled)
  })

  it('refuses a well-framed message that is not DAG-CBOR', async () => {
    const before = offencesNow()
    await byz.sendFrames(targets(), [craftGarbage()])
    await expectRecorded(before, 1, 'invalid-message')
    for (const h of honest) assert.ok(h.rejections.some((m) => /not valid DAG-CBOR/.test(m)))
    await expectHonestCommitting('malformed')
  })

  it('resets a stream whose frame announces more than the limit', async () => {
    const before = offencesNow()
    for (const target of targets()) await byz.sendOversized(target, MAX_CONSENSUS_BYTES)
    await expectRecorded(before, 1, 'oversized')
    await expectHonestCommitting('oversized')
  })

  it('refuses a header with a bad signature and never votes for it', async () => {
    const before = offencesNow()
    const batch = batchOf('bad-signature')
    const header = ByzantinePeer.withBadSignature(byz.craftHeader([batch]))
    await byz.sendConsensus(targets(), [
      { type: 'batch', batch },
      { type: 'header', header },
    ])
    await expectRecorded(before, 1, 'invalid-message')
    for (const h of honest)
      assert.ok(h.rejections.some((m) => /bad signature on the header of member 3/.test(m)))
    await expectHonestCommitting('bad-signature')
    assert.deepEqual(byz.votersFor(header), [])
  })

  it('votes for the first of two headers for one round, refuses the second and records the equivocation', async () => {
    const before = offencesNow()
    const batch = batchOf('equivocation')
    const [first, second] = byz.craftEquivocation([batch])
    assert.equal(first.round, second.round)
    await byz.sendConsensus(targets(), [
      { type: 'batch', batch },
      { type: 'header', header: first },
      { type: 'header', header: second },
    ])
    await expectRecorded(before, 1, 'invalid-message')
    for (const h of honest)
      assert.ok(
        h.rejections.some((m) => new RegExp(`equivocating header: member 3 .* round ${first.round}`).test(m)),
      )
    await waitFor(() => byz.votersFor(first).length === 3, 15_000, 'the honest votes for the first header')
    assert.deepEqual(byz.votersFor(second), [], 'nobody voted for the second header')
    await expectHonestCommitting('equivocation')
  })

  it('refuses a certificate without a quorum of votes', async () => {
    const before = offencesNow()
    const batch = batchOf('no-quorum')
    const header = byz.craftHeader([batch])
    const certificate = byz.craftCertificate(header, [0, 3])
    await byz.sendConsensus(targets(), [
      { type: 'batch', batch },
      { type: 'certificate', certificate },
    ])
    await expectRecorded(before, 1, 'invalid-message')
    for (const h of honest) assert.ok(h.rejections.some((m) => /certificate has 2 votes, needs 3/.test(m)))
    await expectHonestCommitting('no-quorum')
  })

  it('refuses a certificate with a forged vote', async () => {
    const before = offencesNow()
    const batch = batchOf('forged-vote')
    const header = byz.craftHeader([batch])
    const certificate = byz.craftCertificate(header, [0, 1, 3])
    await byz.sendConsensus(targets(), [
      { type: 'batch', batch },
      { type: 'certificate', certificate },
    ])
    await expectRecorded(before, 1, 'invalid-message')
    for (const h of honest) assert.ok(h.rejections.some((m) => /bad vote signature of member 0/.test(m)))
    await expectHonestCommitting('forged-vote')
  })

  it('drops headers of a stale and of a future epoch without recording them (routine at an epoch change)', async () => {
    const before = offencesNow()
    const rejectionsBefore = honest.map((h) => h.rejections.length)
    const batch = batchOf('other-epoch')
    await byz.sendConsensus(targets(), [
      { type: 'batch', batch },
      { type: 'header', header: byz.craftHeader([batch], { epoch: EPOCH - 1 }) },
      { type: 'header', header: byz.craftHeader([batch], { epoch: EPOCH + 1 }) },
    ])
    await waitFor(
      () => honest.every((h, i) => h.rejections.length >= rejectionsBefore[i] + 2),
      15_000,
      'both headers refused at every honest node',
    )
    for (const h of honest) {
      const refused = h.rejections.slice(-2).join('\n')
      assert.match(refused, new RegExp(`header of epoch ${EPOCH - 1}, expected ${EPOCH}`))
      assert.match(refused, new RegExp(`header of epoch ${EPOCH + 1}, expected ${EPOCH}`))
      assert.deepEqual(h.early, [EPOCH + 1], 'the future one is kept for its epoch, the stale one dropped')
    }
    await expectHonestCommitting('other-epoch')
    assert.deepEqual(
      offencesNow(),
      before,
      'other-epoch consensus traffic is not an offence (node.ts policy)',
    )
  })

  it('bans a flooding member; the honest members go on', async () => {
    const before = offencesNow()
    const header = ByzantinePeer.withBadSignature(byz.craftHeader([]))
    const flood = Array.from({ length: BAN_THRESHOLD + 20 }, () => ({ type: 'header' as const, header }))
    for (const target of targets()) {
      // The honest side hangs up mid-flood: what is left cannot be sent.
      await byz.sendConsensus([target], flood).catch(() => undefined)
    }
    await waitFor(
      () =>
        honest.every((h) => {
          const status = h.network.peers().find((p) => p.publicKey === byz.peerKey)
          return status !== undefined && status.bannedUntilMs > Date.now() && !status.connected
        }),
      20_000,
      'the byzantine member banned and disconnected at every honest node',
    )
    for (const [i, h] of honest.entries())
      assert.ok(offencesAt(h) > before[i], `flood recorded at ${h.index}`)
    await expectHonestCommitting('after-flood')
  })

  it('committed nothing of the byzantine member, and the honest members agree', () => {
    const reference = honest[0].recorder.transactions
    for (const h of honest) {
      const committed = h.recorder.transactions
      assert.deepEqual(
        committed.filter((t) => t.startsWith('byz-')),
        [],
        `no byzantine transaction at ${h.index}`,
      )
      const byzCertificates = h.recorder.commits
        .flatMap((c) => c.sub.certificates)
        .filter((c) => c.author === 3)
      assert.deepEqual(byzCertificates, [], `no certificate of the byzantine member committed at ${h.index}`)
      const common = Math.min(committed.length, reference.length)
      assert.deepEqual(committed.slice(0, common), reference.slice(0, common), 'same order everywhere')
    }
  })

  it('left no unhandled rejection behind', () => {
    assert.deepEqual(unhandled, [])
  })
})
