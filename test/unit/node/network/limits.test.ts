import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { isFleekError } from '../../../../src/lib/errors.ts'
import { defaultNetworkOptions, resolveNetworkOptions } from '../../../../src/node/network/options.ts'
import { peerIdOf, peerKeyOf, toPeerKey } from '../../../../src/node/network/peer-key.ts'
import { TokenBucket } from '../../../../src/node/network/rate-limit.ts'
import { computeBackoffMs, sleepMs } from '../../../../src/node/network/timing.ts'
import { peerIdFromEd25519 } from '../../../../src/lib/keys/peer-id.ts'
import { makeNodeKey } from './fixtures.ts'

describe('token bucket', () => {
  it('allows the burst at once, then asks to wait in proportion, then refuses past the max wait', () => {
    let nowMs = 1000
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, maxWaitMs: 250 }, () => nowMs)
    for (let i = 0; i < 5; i++) assert.equal(bucket.reserve(1), 0)
    assert.equal(bucket.reserve(1), 100)
    assert.equal(bucket.reserve(1), 200)
    assert.equal(bucket.reserve(1), undefined, 'a 300 ms wait is past the 250 ms allowed')
    assert.equal(bucket.tokens, -2, 'a refusal takes nothing')
    nowMs += 200
    assert.equal(bucket.reserve(1), 100)
    nowMs += 10_000
    assert.equal(bucket.reserve(5), 0, 'refilled to the burst, never beyond')
    assert.equal(bucket.reserve(1), 100)
  })

  it('refuses a cost larger than the burst', () => {
    const bucket = new TokenBucket({ ratePerSecond: 1000, burst: 10, maxWaitMs: 1e9 }, () => 0)
    assert.equal(bucket.reserve(11), undefined)
    assert.equal(bucket.reserve(10), 0)
  })
})

describe('backoff and sleep', () => {
  it('doubles from the minimum up to the cap, jitter taking at most a quarter', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6].map((a) => computeBackoffMs(a, 100, 1000, 0)),
      [100, 200, 400, 800, 1000, 1000, 1000],
    )
    assert.equal(computeBackoffMs(10, 100, 1000, 0.999), 750)
    assert.equal(computeBackoffMs(0, 100, 1000, 0.999), 100, 'never below the minimum')
    assert.equal(computeBackoffMs(5000, 100, 1000, 0), 1000, 'huge attempt counts stay finite')
  })

  it('sleepMs resolves at once on an aborted signal and early on abort', async () => {
    const aborted = AbortSignal.abort()
    await sleepMs(60_000, aborted)
    const controller = new AbortController()
    const pending = sleepMs(60_000, controller.signal)
    controller.abort()
    await pending
  })
})

describe('network options', () => {
  it('defaults to loopback TCP on an ephemeral port and the documented limits', () => {
    const resolved = resolveNetworkOptions({})
    assert.deepEqual(resolved.listen, ['/ip4/127.0.0.1/tcp/0'])
    assert.equal(resolved.maxConsensusBytes, 4 << 20)
    assert.equal(resolved.maxTransactionBytes, 1 << 20)
    assert.deepEqual(resolved, defaultNetworkOptions)
  })

  it('names the first bad option', () => {
    const bad: [object, RegExp][] = [
      [{ maxConnections: 0 }, /maxConnections/],
      [{ dialTimeoutMs: 1.5 }, /dialTimeoutMs/],
      [{ banMs: -1 }, /banMs/],
      [{ reconnectMinMs: 500, reconnectMaxMs: 100 }, /reconnectMaxMs/],
      [{ listen: [] }, /listen/],
      [{ listen: ['not a multiaddr'] }, /listen.*not a valid multiaddr/],
      [{ bootstrap: ['/ip4/127.0.0.1/tcp/4300'] }, /\/p2p\//],
      [
        { consensusRate: { ...defaultNetworkOptions.consensusRate, burstFrames: 0 } },
        /consensusRate.burstFrames/,
      ],
    ]
    for (const [options, message] of bad) {
      assert.throws(
        () => resolveNetworkOptions(options),
        (err: unknown) => isFleekError(err, 'INVALID_INPUT') && message.test(err.message),
        JSON.stringify(options),
      )
    }
  })
})

describe('peer keys', () => {
  it('map node keys to the PeerIds of src/lib/keys and back', () => {
    for (const label of ['x', 'y', 'z']) {
      const key = makeNodeKey(label)
      const peerKey = toPeerKey(key.publicKey)
      assert.equal(peerKey, key.peerKey)
      const peerId = peerIdOf(peerKey)
      assert.equal(peerId.toString(), peerIdFromEd25519(key.publicKey))
      assert.equal(peerKeyOf(peerId), peerKey)
    }
  })

  it('refuses malformed keys', () => {
    assert.throws(
      () => toPeerKey(new Uint8Array(31)),
      (err: unknown) => isFleekError(err, 'INVALID_INPUT'),
    )
    assert.throws(
      () => peerIdOf('AB'.repeat(32)),
      (err: unknown) => isFleekError(err, 'INVALID_INPUT'),
    )
    assert.throws(
      () => peerIdOf('ab'),
      (err: unknown) => isFleekError(err, 'INVALID_INPUT'),
    )
  })
})
