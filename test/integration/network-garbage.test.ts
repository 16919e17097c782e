// Peers that send garbage: raw libp2p nodes (no fleek Network) open fleek protocol streams and send
// junk, an oversized length prefix, a truncated frame, traffic past the rate limit, or consensus
// traffic from outside the committee. Each stream is reset and reported; past the threshold the peer
// is disconnected and banned; the node goes on serving the honest member.
import '../../bin/polyfill.js'

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Libp2p, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

import {
  FrameKind,
  FrameReader,
  Network,
  PROTOCOLS,
  encodeFrame,
  type MisbehaviourReason,
  type PeerKey,
} from '../../src/node/network/index.ts'
import { RecordingConsensus, makeNodeKey, waitFor, type TestNodeKey } from '../unit/node/network/fixtures.ts'

async function startRawPeer(key: TestNodeKey): Promise<Libp2p> {
  return createLibp2p({
    privateKey: await generateKeyPairFromSeed('Ed25519', key.seed),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
  })
}

describe('network: misbehaving peers', () => {
  const controller = new AbortController()
  const g1Key = makeNodeKey('g1')
  const g2Key = makeNodeKey('g2')
  const memberKey = makeNodeKey('raw-member') // in the committee, sends garbage
  const outsiderKey = makeNodeKey('raw-outsider') // not in the committee
  const committee = [g1Key.publicKey, g2Key.publicKey, memberKey.publicKey]
  const reports: { peer: PeerKey; reason: MisbehaviourReason }[] = []
  const g2Consensus = new RecordingConsensus()
  let g1: Network
  let g2: Network
  let member: Libp2p
  let outsider: Libp2p
  let g1Address: ReturnType<typeof multiaddr>

  const reasonsOf = (peer: PeerKey): MisbehaviourReason[] =>
    reports.filter((r) => r.peer === peer).map((r) => r.reason)

  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason)
  }

  before(async () => {
    process.on('unhandledRejection', onUnhandled)
    g1 = await Network.start(
      {
        reconnectMinMs: 50,
        reconnectMaxMs: 500,
        syncRate: { framesPerSecond: 0.01, burstFrames: 2, bytesPerSecond: 1 << 20, burstBytes: 1 << 20 },
        maxRateWaitMs: 0,
        misbehaviourThreshold: 3,
        banMs: 60_000,
      },
      {
        nodeKey: { secret: g1Key.seed },
        committee,
        onMisbehaviour: (peer, reason) => reports.push({ peer, reason }),
      },
      controller.signal,
    )
    g1.attachConsensus(new RecordingConsensus())
    g1.onSyncRequest(async (_from, request) => request)
    g2 = await Network.start(
      { reconnectMinMs: 50, reconnectMaxMs: 500 },
      {
        nodeKey: { secret: g2Key.seed },
        committee,
        registry: [{ publicKey: g1Key.publicKey, multiaddrs: g1.addresses() }],
      },
      controller.signal,
    )
    g2.attachConsensus(g2Consensus)
    member = await startRawPeer(memberKey)
    outsider = await startRawPeer(outsiderKey)
    g1Address = multiaddr(g1.addresses()[0])
    await waitFor(() => g1.isConnected(g2Key.peerKey), 20_000, 'g1 and g2 connected')
  })

  after(async () => {
    controller.abort()
    await Promise.all([g1.close(), g2.close(), member.stop(), outsider.stop()])
    process.off('unhandledRejection', onUnhandled)
  })

  async function openConsensusStream(from: Libp2p): Promise<Stream> {
    return from.dialProtocol(g1Address, PROTOCOLS.consensus, { signal: AbortSignal.timeout(15_000) })
  }

  async function assertServing(): Promise<void> {
    const answer = await g2.request(g1Key.peerKey, Uint8Array.of(1, 2, 3), AbortSignal.timeout(15_000))
    assert.deepEqual([...answer], [3, 2, 1])
    const before = g2Consensus.textsFrom(g1Key.peerKey).length
    g1.send(g2Key.peerKey, new TextEncoder().encode('still-here'))
    await waitFor(
      () => g2Consensus.textsFrom(g1Key.peerKey).length > before,
      15_000,
      'a message from g1 at g2',
    )
  }

  it('resets a stream with an unknown frame kind, and keeps serving', async () => {
    const stream = await openConsensusStream(member)
    stream.send(Uint8Array.of(0, 0, 0, 2, 0x7f, 0))
    await waitFor(
      () => reasonsOf(memberKey.peerKey).includes('unknown-kind'),
      15_000,
      'the unknown-kind report',
    )
    await waitFor(() => stream.status !== 'open', 15_000, 'the junk stream reset')
    assert.ok(member.getConnections().length > 0, 'one misbehaviour does not disconnect')
    await assertServing()
  })

  it('resets a stream whose length prefix exceeds the limit, before reading the body', async () => {
    const stream = await openConsensusStream(member)
    stream.send(Uint8Array.of(0xff, 0xff, 0xff, 0xff, FrameKind.MESSAGE, 1, 2, 3))
    await waitFor(() => reasonsOf(memberKey.peerKey).includes('oversized'), 15_000, 'the oversized report')
    await waitFor(() => stream.status !== 'open', 15_000, 'the oversized stream reset')
    await assertServing()
  })

  it('disconnects and bans the peer at the third misbehaviour (a truncated frame)', async () => {
    const stream = await openConsensusStream(member)
    stream.send(Uint8Array.of(0, 0, 0, 10, FrameKind.MESSAGE, 1, 2))
    await stream.close()
    await waitFor(() => reasonsOf(memberKey.peerKey).includes('truncated'), 15_000, 'the truncated report')
    await waitFor(
      () => member.getConnections(peerIdFromString(g1.peerId)).length === 0,
      15_000,
      'the member disconnected',
    )
    const status = g1.peers().find((p) => p.publicKey === memberKey.peerKey)
    assert.ok(status !== undefined && status.bannedUntilMs > Date.now() && !status.connected)
    // A new dial is refused once the handshake names the banned key (the dialer may see its connection
    // open before the refusal arrives, so what counts is that no connection survives at g1).
    await member.dial(g1Address, { signal: AbortSignal.timeout(15_000) }).catch(() => undefined)
    await waitFor(
      () => member.getConnections(peerIdFromString(g1.peerId)).length === 0,
      15_000,
      'the redial refused',
    )
    assert.equal(g1.isConnected(memberKey.peerKey), false)
    assert.deepEqual(reasonsOf(memberKey.peerKey), ['unknown-kind', 'oversized', 'truncated'])
    await assertServing()
  })

  it('refuses consensus traffic from outside the committee and rate-limits sync', async () => {
    const consensusStream = await openConsensusStream(outsider)
    try {
      consensusStream.send(encodeFrame(FrameKind.MESSAGE, Uint8Array.of(1)))
    } catch {
      // g1 may have reset the stream already: the refusal comes as soon as the stream opens.
    }
    await waitFor(
      () => reasonsOf(outsiderKey.peerKey).includes('not-committee'),
      15_000,
      'the not-committee report',
    )

    // Sync is open to anyone, within its rate: a burst of 2, then (with no wait allowed) refused.
    const stream = await outsider.dialProtocol(g1Address, PROTOCOLS.sync, {
      signal: AbortSignal.timeout(15_000),
    })
    const reader = new FrameReader(stream, 1 << 20)
    for (const n of [1, 2]) {
      stream.send(encodeFrame(FrameKind.REQUEST, Uint8Array.of(n)))
      const answer = await reader.read()
      assert.deepEqual(answer, { kind: FrameKind.RESPONSE_OK, payload: Uint8Array.of(n) })
    }
    stream.send(encodeFrame(FrameKind.REQUEST, Uint8Array.of(3)))
    await waitFor(
      () => reasonsOf(outsiderKey.peerKey).includes('rate-limited'),
      15_000,
      'the rate-limited report',
    )
    await waitFor(() => stream.status !== 'open', 15_000, 'the rate-limited stream reset')
    // not-committee is reported but not counted (old members at an epoch change): one strike, still connected.
    assert.deepEqual(reasonsOf(outsiderKey.peerKey), ['not-committee', 'rate-limited'])
    assert.ok(outsider.getConnections(peerIdFromString(g1.peerId)).length > 0)
    await assertServing()
  })

  it('counts a message its handler refuses (INVALID_INPUT) against the sender', async () => {
    g2.send(g1Key.peerKey, new TextEncoder().encode('invalid'))
    await waitFor(
      () => reasonsOf(g2Key.peerKey).includes('invalid-message'),
      15_000,
      'the invalid-message report',
    )
    assert.ok(g1.isConnected(g2Key.peerKey), 'one strike does not disconnect')
    await assertServing()
  })

  it('left no unhandled rejection behind', () => {
    assert.deepEqual(unhandled, [])
  })
})
