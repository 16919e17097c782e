// A byzantine committee member (test/helpers/byzantine.ts) on the gossip side, over real libp2p on
// 127.0.0.1: three honest members publish parcels, attestations and checkpoint votes; an edge node
// follows with the real ParcelFollower and collects votes with the real CheckpointCollector. The
// byzantine member gossips malformed parcel messages, a parcel of its own with too few attestations,
// forged attestations, attestations by a non-member and of a future epoch, forged checkpoint votes,
// and a flood; it serves a checkpoint with a bad aggregate. Every one is refused, nothing of it is
// executed or aggregated, the edge goes on with the honest chain, and the offences land in an
// OffenderLog wired the way node.ts wires the follower ('parcel'; 'checkpoint' for the collector).
import '../../bin/polyfill.js'

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { FleekError, isFleekError } from '../../src/lib/errors.ts'
import { derivePublicKey } from '../../src/lib/keys/index.ts'
import {
  CHECKPOINT_TOPIC,
  CheckpointCollector,
  encodeCheckpointVote,
  signCheckpoint,
  verifyCheckpoint,
  type Checkpoint,
  type CheckpointMessage,
} from '../../src/node/checkpoint/index.ts'
import { Network, silentNetworkMetrics, type NodeRecord } from '../../src/node/network/index.ts'
import { OffenderLog } from '../../src/node/offenders.ts'
import {
  GENESIS_PARCEL_DIGEST,
  PARCEL_TOPIC,
  ParcelFollower,
  ParcelProducer,
  decodeParcelRequest,
  encodeParcelRequest,
  type Parcel,
  type ProducedParcel,
} from '../../src/node/parcels/index.ts'
import { MemoryStorage } from '../../src/node/storage/index.ts'
import {
  ByzantinePeer,
  craftBadAggregateCheckpoint,
  craftForgedAttestation,
  craftForgedCheckpointVote,
  craftGarbage,
  craftOutsiderAttestation,
  craftParcel,
  craftParcelMessages,
} from '../helpers/byzantine.ts'
import { makeCommittee, makeMembers } from '../unit/node/consensus/fixtures.ts'
import { makeNodeKey, retryUntil, waitFor } from '../unit/node/network/fixtures.ts'

const fast = { reconnectMinMs: 50, reconnectMaxMs: 500, dialTimeoutMs: 10_000, requestTimeoutMs: 10_000 }
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const BYZ = 3
/** Member i's BLS consensus secret is [i+1, i+1, …] (a valid scalar); 9 is an outsider's. */
const blsKeys = Array.from({ length: 5 }, (_, i) => {
  const secret = new Uint8Array(32).fill(i === 4 ? 9 : i + 1)
  return { secret, publicKey: derivePublicKey({ kind: 'consensus', secret }) }
})
const checkpointMessage = (stateRootFill: number): CheckpointMessage =>
  ({
    epoch: 0,
    height: 40,
    stateRoot: new Uint8Array(32).fill(stateRootFill),
    parcel: new Uint8Array(32).fill(9),
    index: 12,
    nextCommittee: new Uint8Array(32).fill(5),
    snapshotBytes: 1234,
    snapshotHash: new Uint8Array(32).fill(3),
  }) as CheckpointMessage

describe('byzantine member: parcels and checkpoints over gossip', () => {
  const controller = new AbortController()
  const keys = makeMembers(4)
  const committee = makeCommittee(keys)
  const nodeKeys = keys.map((k) => k.publicKey)
  const consensusKeys = blsKeys.slice(0, 4).map((k) => k.publicKey)
  const edgeKey = makeNodeKey('byzantine gossip edge')
  const outsiderKey = makeNodeKey('byzantine gossip outsider')
  const members: Array<{ index: number; network: Network; producer: ParcelProducer }> = []
  const blocks: ProducedParcel[][] = []
  const executed: Array<{ parcel: Parcel; digest: string }> = []
  const offenders = new OffenderLog()
  const checkpoints: Checkpoint[] = []
  let edge: Network
  let follower: ParcelFollower
  let collector: CheckpointCollector
  let byz: ByzantinePeer
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }

  const recent = (): string[] => offenders.get(byz.peerKey)?.recent ?? []
  const kindCount = (kind: string): number => offenders.get(byz.peerKey)?.kinds[kind] ?? 0
  const recorded = (pattern: RegExp): boolean => recent().some((r) => pattern.test(r))

  /** Publishes honest block `i` (parcel and attestation of every honest member) until the edge executed it. */
  async function expectHonestExecuted(i: number): Promise<void> {
    await retryUntil(
      () =>
        Promise.all(
          members.map(async (m, j) => {
            await m.network.publish(PARCEL_TOPIC, blocks[i][j].parcelMessage).catch(() => 0)
            await m.network.publish(PARCEL_TOPIC, blocks[i][j].attestationMessage).catch(() => 0)
          }),
        ),
      () => executed.length > i,
      20_000,
      `honest parcel ${i} executed at the edge`,
    )
    assert.equal(executed[i].digest, hex(blocks[i][0].digest))
  }

  /** Gossips `messages` from the byzantine member again and again until `done` (the mesh may still form). */
  async function byzPublishUntil(
    topic: string,
    messages: Uint8Array[],
    done: () => boolean,
    what: string,
  ): Promise<void> {
    await retryUntil(
      async () => {
        for (const m of messages) await byz.publish(topic, m)
      },
      done,
      20_000,
      what,
    )
  }

  before(async () => {
    process.on('unhandledRejection', onUnhandled)
    byz = await ByzantinePeer.start({ seed: keys[BYZ].seed, publicKey: keys[BYZ].publicKey }, committee)
    byz.subscribe(PARCEL_TOPIC)
    byz.subscribe(CHECKPOINT_TOPIC)
    const registry: NodeRecord[] = [{ publicKey: keys[BYZ].publicKey, multiaddrs: byz.listenAddresses() }]
    for (const index of [0, 1, 2]) {
      const network = await Network.start(
        { ...fast, listen: ['/ip4/127.0.0.1/tcp/0'] },
        { nodeKey: { secret: keys[index].seed }, registry: [...registry], committee: nodeKeys },
        controller.signal,
      )
      registry.push({
        publicKey: keys[index].publicKey,
        multiaddrs: network.addresses().map((a) => a.replace(/\/p2p\/.*$/, '')),
      })
      const producer = new ParcelProducer(
        {},
        {
          storage: new MemoryStorage(),
          nodeKey: { secret: keys[index].seed, publicKey: keys[index].publicKey },
        },
      )
      network.subscribe(PARCEL_TOPIC, () => undefined)
      network.subscribe(CHECKPOINT_TOPIC, () => undefined)
      network.onSyncRequest(async (_from, request) => {
        const bytes = producer.getParcel(decodeParcelRequest(request))
        if (bytes === undefined) throw new FleekError('NOT_FOUND', 'no such parcel')
        return bytes
      })
      members.push({ index, network, producer })
    }
    edge = await Network.start(
      { ...fast, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: members.map((m) => m.network.addresses()[0]) },
      {
        nodeKey: { secret: edgeKey.seed },
        committee: nodeKeys,
        // As node.ts.
        onMisbehaviour: (peer, reason) => {
          if (reason !== 'not-committee') offenders.record(peer, 'network', reason)
        },
      },
      controller.signal,
    )
    follower = new ParcelFollower(
      { gapDelayMs: 200, fetchTimeoutMs: 2000, fetchRetries: 1 },
      {
        storage: new MemoryStorage(),
        committee: (epoch) => (epoch === 0 ? nodeKeys : undefined),
        execute: (parcel, digest) => {
          executed.push({ parcel, digest: hex(digest) })
        },
        fetch: async (digest, signal, hints) => {
          for (const peer of [...new Set([...hints, ...members.map((m) => m.network.peerKey)])]) {
            try {
              return await edge.requestSync(peer, encodeParcelRequest(digest), signal)
            } catch {
              // the next peer
            }
          }
          throw new FleekError('NOT_FOUND', 'no peer holds the parcel')
        },
        // As node.ts: the follower's reports are 'parcel' offences.
        onMisbehaviour: (peer, reason) => offenders.record(peer, 'parcel', reason),
      },
    )
    edge.subscribe(PARCEL_TOPIC, (message, from) => follower.handleMessage(message, from))
    follower.start(controller.signal)
    collector = new CheckpointCollector({
      storage: new MemoryStorage(),
      committeeKeys: (epoch) => (epoch === 0 ? consensusKeys : undefined),
      // The same wiring for the collector (node.ts does not run one yet): 'checkpoint' offences.
      onMisbehaviour: (peer, reason) => offenders.record(peer, 'checkpoint', reason),
    })
    edge.subscribe(CHECKPOINT_TOPIC, (message, from) => {
      const checkpoint = collector.handleMessage(message, from)
      if (checkpoint !== undefined) checkpoints.push(checkpoint)
    })
    await byz.connect(edge.addresses()[0])
    for (let index = 0; index < 4; index++) {
      const block = {
        sequence: { epoch: 0, index },
        timestampMs: 1_000 + index,
        transactions: [Uint8Array.of(index, 1), Uint8Array.of(index, 2)],
      }
      blocks.push(members.map((m) => m.producer.onBlockExecuted(block)))
    }
  })

  after(async () => {
    controller.abort()
    await Promise.all([...members.map((m) => m.network.close()), edge?.close(), byz?.stop()])
    process.off('unhandledRejection', onUnhandled)
  })

  it('reports a malformed parcel message', async () => {
    await byzPublishUntil(
      PARCEL_TOPIC,
      [craftGarbage()],
      () => recorded(/^parcel: malformed parcel message/),
      'the malformed parcel message reported',
    )
    assert.equal(executed.length, 0)
  })

  it('never executes a parcel with too few attestations or forged ones, and executes the honest one', async () => {
    const fake = craftParcelMessages(
      { seed: keys[BYZ].seed, publicKey: keys[BYZ].publicKey },
      craftParcel(0, 0, GENESIS_PARCEL_DIGEST, 'too-few'),
    )
    const forged = [0, 1].map((i) => craftForgedAttestation(fake.digest, 0, keys[i].publicKey))
    const outsider = craftOutsiderAttestation(
      { seed: outsiderKey.seed, publicKey: outsiderKey.publicKey },
      fake.digest,
      0,
    )
    await byzPublishUntil(
      PARCEL_TOPIC,
      [fake.parcelMessage, fake.attestationMessage, ...forged, outsider],
      () =>
        recorded(/^parcel: attestation with a forged signature/) &&
        recorded(/^parcel: attestation by a non-member of epoch 0/),
      'the forged and the non-member attestations reported',
    )
    // One valid attestation (its own) of the four needed three: held, never executed.
    assert.equal(executed.length, 0)
    await expectHonestExecuted(0)
    assert.equal(executed.length, 1)
    assert.notEqual(executed[0].digest, hex(fake.digest))
    // Its position passed without the committee attesting it: the sender is recorded.
    await waitFor(
      () => recorded(/^parcel: parcel never attested by the committee/),
      10_000,
      'the unattested parcel reported',
    )
    assert.equal(offenders.get(edgeKey.peerKey), undefined)
    for (const m of members) assert.equal(offenders.get(m.network.peerKey), undefined, 'honest members clean')
  })

  it('refuses a stale parcel and a forged attestation of a future epoch; executes the next honest parcel', async () => {
    const before = kindCount('parcel')
    const stale = craftParcelMessages(
      { seed: keys[BYZ].seed, publicKey: keys[BYZ].publicKey },
      craftParcel(0, 0, GENESIS_PARCEL_DIGEST, 'stale'),
    )
    const future = craftForgedAttestation(new Uint8Array(32).fill(3), 7, keys[0].publicKey)
    await byzPublishUntil(
      PARCEL_TOPIC,
      [stale.parcelMessage, stale.attestationMessage, future],
      () => kindCount('parcel') > before,
      'the future-epoch forgery reported',
    )
    assert.ok(recorded(/^parcel: attestation with a forged signature/))
    await expectHonestExecuted(1)
    assert.ok(executed.every((e) => e.digest !== hex(stale.digest)))
  })

  it('absorbs a flood of junk and goes on executing', async () => {
    const before = kindCount('parcel')
    const flood = Array.from({ length: 300 }, (_, i) => craftGarbage(16 + (i % 32), i & 0xff))
    for (const m of flood) await byz.publish(PARCEL_TOPIC, m)
    await waitFor(() => kindCount('parcel') >= before + 300, 20_000, 'every junk message reported')
    await expectHonestExecuted(2)
    await expectHonestExecuted(3)
    assert.deepEqual(
      executed.map((e) => e.digest),
      blocks.map((b) => hex(b[0].digest)),
      'exactly the honest chain, in order',
    )
    assert.ok(
      executed.every((e) => e.parcel.transactions.every((t) => !Buffer.from(t).toString().startsWith('byz'))),
    )
  })

  it('refuses forged checkpoint votes and votes of a non-member; aggregates only the honest quorum', async () => {
    const honestMessage = checkpointMessage(7)
    const wrongMessage = checkpointMessage(66)
    const byzSecret = blsKeys[BYZ].secret
    const votes = [
      // Its own valid vote for a wrong state root: one vote, no quorum.
      encodeCheckpointVote(signCheckpoint(blsKeys[BYZ], wrongMessage)),
      // Honest members' names on its signature.
      craftForgedCheckpointVote(wrongMessage, blsKeys[0].publicKey, byzSecret),
      craftForgedCheckpointVote(wrongMessage, blsKeys[1].publicKey, byzSecret),
      // An outsider's valid vote.
      encodeCheckpointVote(signCheckpoint(blsKeys[4], wrongMessage)),
      craftGarbage(),
    ]
    await byzPublishUntil(
      CHECKPOINT_TOPIC,
      votes,
      () =>
        recorded(/^checkpoint: checkpoint vote with a forged signature/) &&
        recorded(/^checkpoint: checkpoint vote by a non-member of epoch 0/) &&
        recorded(/^checkpoint: malformed checkpoint vote/),
      'the forged, non-member and malformed checkpoint votes reported',
    )
    assert.equal(checkpoints.length, 0, 'no checkpoint from the byzantine votes')
    assert.equal(collector.get(0), undefined)

    await retryUntil(
      () =>
        Promise.all(
          members.map((m) =>
            m.network
              .publish(
                CHECKPOINT_TOPIC,
                encodeCheckpointVote(signCheckpoint(blsKeys[m.index], honestMessage)),
              )
              .catch(() => 0),
          ),
        ),
      () => checkpoints.length > 0,
      20_000,
      'the honest checkpoint aggregated at the edge',
    )
    assert.equal(checkpoints.length, 1)
    const checkpoint = checkpoints[0]
    assert.equal(hex(checkpoint.stateRoot), hex(honestMessage.stateRoot))
    verifyCheckpoint(checkpoint, consensusKeys)
    // Bit BYZ is not set: its vote was for another message.
    assert.equal(checkpoint.signers[0] & (1 << BYZ), 0)
  })

  it('a checkpoint with a bad aggregate signature does not verify', () => {
    const forged = craftBadAggregateCheckpoint(checkpointMessage(66), [0, 1, BYZ], 4, blsKeys[BYZ].secret)
    assert.throws(
      () => verifyCheckpoint(forged, consensusKeys),
      (err) => isFleekError(err, 'INTEGRITY'),
    )
    assert.equal(hex(collector.latest()?.stateRoot ?? new Uint8Array()), hex(checkpointMessage(7).stateRoot))
  })

  it('bans a member that keeps gossiping bad parcels once the follower reports strike it, and drops its gossip', async () => {
    // A second edge, wired the way node.ts wires the follower to the network: each report strikes the
    // sender (network.penalize). Its metrics record each gossip message received, by size.
    const reports: Array<{ peer: string; reason: string; detail?: string }> = []
    const gossipSizes: number[] = []
    const metrics = {
      ...silentNetworkMetrics,
      bytesReceived: (protocol: string, bytes: number) => {
        if (protocol === `gossip ${PARCEL_TOPIC}`) gossipSizes.push(bytes)
      },
    }
    const edge2 = await Network.start(
      { ...fast, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: members.map((m) => m.network.addresses()[0]) },
      {
        nodeKey: { secret: makeNodeKey('byzantine gossip edge 2').seed },
        committee: nodeKeys,
        metrics,
        onMisbehaviour: (peer, reason, detail) => reports.push({ peer, reason, detail }),
      },
      controller.signal,
    )
    try {
      const follower2 = new ParcelFollower(
        {},
        {
          storage: new MemoryStorage(),
          committee: (epoch) => (epoch === 0 ? nodeKeys : undefined),
          execute: () => undefined,
          fetch: () => Promise.reject(new FleekError('NOT_FOUND', 'no fetch here')),
          onMisbehaviour: (peer, reason) => edge2.penalize(peer, `parcel: ${reason}`),
        },
      )
      edge2.subscribe(PARCEL_TOPIC, (message, from) => follower2.handleMessage(message, from))
      await byz.connect(edge2.addresses()[0])
      const banned = (): boolean =>
        edge2.peers().some((p) => p.publicKey === byz.peerKey && p.bannedUntilMs > 0)
      let n = 0
      await byzPublishUntil(
        PARCEL_TOPIC,
        [craftGarbage(40, n++ & 0xff)],
        banned,
        'the byzantine member banned at the second edge',
      )
      const struck = reports.filter((r) => r.peer === byz.peerKey && r.reason === 'reported')
      assert.ok(struck.length >= 3, JSON.stringify(reports))
      assert.ok(struck.every((r) => /^parcel: malformed parcel message/.test(r.detail ?? '')))
      assert.ok(reports.every((r) => r.peer === byz.peerKey))
      await waitFor(() => !byz.isConnected(edge2.peerKey), 10_000, 'the byzantine member disconnected')
      // Honest members still relay its gossip to the second edge, which drops it unread.
      const before = reports.length
      await retryUntil(
        () => byz.publish(PARCEL_TOPIC, craftGarbage(777, n++ & 0xff)),
        () => gossipSizes.includes(777),
        20_000,
        'gossip by the banned member relayed to the second edge',
      )
      assert.equal(reports.length, before, 'nothing of a banned author is handled')
      assert.equal(edge2.penalize('not-a-peer', 'x'), false)
      assert.equal(edge2.penalize(edge2.peerKey, 'x'), false)
    } finally {
      await edge2.close()
    }
  })

  it('recorded only the byzantine member, and left no unhandled rejection behind', () => {
    assert.deepEqual(
      offenders.list().map((r) => r.peer),
      [byz.peerKey],
    )
    assert.deepEqual(unhandled, [])
  })
})
