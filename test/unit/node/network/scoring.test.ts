// Peer scoring on a fake clock: strikes within the window ban, routine reports do not, bans run out,
// rate limits per peer and protocol, handler refusals strike the sender.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

import { FleekError } from '../../../../src/lib/errors.ts'
import type { MisbehaviourReason } from '../../../../src/node/network/interface.ts'
import { peerIdOf } from '../../../../src/node/network/peer-key.ts'
import { PeerScoring } from '../../../../src/node/network/scoring.ts'
import { makeNodeKey } from './fixtures.ts'

const peer = makeNodeKey('scoring peer').peerKey
const other = makeNodeKey('scoring other').peerKey
const options = { maxRateWaitMs: 100, misbehaviourThreshold: 3, misbehaviourWindowMs: 10_000, banMs: 5_000 }

function makeScoring() {
  const clock = { nowMs: 1_000_000 }
  const reports: Array<{ peer: string; reason: MisbehaviourReason; detail?: string }> = []
  const hungUp: string[] = []
  const counted = { strikes: [] as string[], bans: 0 }
  const scoring = new PeerScoring({
    options,
    now: () => clock.nowMs,
    logger: { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} },
    metrics: {
      bytesReceived: () => {},
      bytesSent: () => {},
      connectedPeers: () => {},
      strike: (reason) => counted.strikes.push(reason),
      ban: () => counted.bans++,
    },
    onMisbehaviour: (p, reason, detail) => reports.push({ peer: p, reason, detail }),
    hangUp: async (p) => {
      hungUp.push(p)
    },
  })
  return { scoring, clock, reports, hungUp, counted }
}

describe('peer scoring', () => {
  it('bans at the threshold within the window, for banMs, and hangs up', () => {
    const { scoring, clock, reports, hungUp, counted } = makeScoring()
    assert.equal(scoring.misbehave(peer, 'oversized'), false)
    assert.equal(scoring.misbehave(peer, 'reported', { detail: 'parcel: forged' }), false)
    assert.equal(scoring.isBanned(peer), false)
    assert.equal(scoring.misbehave(peer, 'truncated'), true)
    assert.equal(scoring.isBanned(peer), true)
    assert.equal(scoring.bannedUntilMs(peer), clock.nowMs + options.banMs)
    assert.equal(scoring.isBanned(other), false)
    assert.deepEqual(hungUp, [peer])
    assert.deepEqual(counted, { strikes: ['oversized', 'reported', 'truncated'], bans: 1 })
    assert.deepEqual(reports[1], { peer, reason: 'reported', detail: 'parcel: forged' })
    clock.nowMs += options.banMs
    assert.equal(scoring.isBanned(peer), false, 'the ban runs out')
    assert.equal(scoring.bannedUntilMs(peer), 0)
    // The ban cleared the strikes: two more do not ban again.
    scoring.misbehave(peer, 'oversized')
    scoring.misbehave(peer, 'oversized')
    assert.equal(scoring.isBanned(peer), false)
  })

  it('forgets strikes older than the window; routine reports never count', () => {
    const { scoring, clock, reports, counted } = makeScoring()
    scoring.misbehave(peer, 'oversized')
    scoring.misbehave(peer, 'oversized')
    clock.nowMs += options.misbehaviourWindowMs + 1
    scoring.misbehave(peer, 'oversized')
    assert.equal(scoring.isBanned(peer), false)
    for (let i = 0; i < 10; i++) scoring.misbehave(peer, 'not-committee', { strike: false })
    assert.equal(scoring.isBanned(peer), false)
    assert.equal(reports.length, 13, 'every one is reported')
    assert.equal(counted.strikes.length, 3)
  })

  it('rate-limits per peer and protocol: waits within maxRateWaitMs, refuses past it', () => {
    const { scoring } = makeScoring()
    const rate = { framesPerSecond: 10, burstFrames: 2, bytesPerSecond: 1e9, burstBytes: 1e9 }
    assert.equal(scoring.admit('/p', peer, rate, 1024, 10), 0)
    assert.equal(scoring.admit('/p', peer, rate, 1024, 10), 0)
    assert.equal(scoring.admit('/p', peer, rate, 1024, 10), 100)
    assert.equal(scoring.admit('/p', peer, rate, 1024, 10), undefined, 'a 200 ms wait is past 100 ms')
    assert.equal(scoring.admit('/q', peer, rate, 1024, 10), 0, 'another protocol has its own buckets')
    assert.equal(scoring.admit('/p', other, rate, 1024, 10), 0, 'another peer too')
    scoring.forgetBuckets(peer)
    assert.equal(scoring.admit('/p', peer, rate, 1024, 10), 0, 'a reconnected peer starts full')
    // The byte bucket holds at least one full frame.
    const bytes = { framesPerSecond: 1e6, burstFrames: 1e6, bytesPerSecond: 1, burstBytes: 1 }
    assert.equal(scoring.admit('/b', peer, bytes, 4096, 4096), 0)
  })

  it('a handler refusal (INVALID_INPUT) strikes the sender; other failures do not', async () => {
    const { scoring, reports } = makeScoring()
    await scoring.runHandler('/p', peer, async () => {
      throw new FleekError('INVALID_INPUT', 'not a message')
    })
    await scoring.runHandler('/p', peer, async () => {
      throw new Error('disk full')
    })
    await scoring.runHandler('/p', peer, async () => {
      throw new FleekError('UNAVAILABLE', 'later')
    })
    assert.deepEqual(reports, [{ peer, reason: 'invalid-message', detail: 'not a message' }])
  })

  it('the connection gate refuses banned peers and peers without an ed25519 key', async () => {
    const { scoring } = makeScoring()
    for (let i = 0; i < 3; i++) scoring.misbehave(peer, 'unexpected-frame')
    assert.equal(scoring.refuses(peerIdOf(peer)), true)
    assert.equal(scoring.refuses(peerIdOf(other)), false)
    const secp = peerIdFromPrivateKey(await generateKeyPair('secp256k1'))
    assert.equal(scoring.refuses(secp), true)
  })
})
