// The network's Prometheus metrics over real libp2p on 127.0.0.1: frame bytes per protocol both ways,
// connected peers, strikes and a ban, in a registry of the test's own.
import '../../bin/polyfill.js'

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { Registry } from 'prom-client'

import { Network, PROTOCOLS, createNetworkMetrics } from '../../src/node/network/index.ts'
import { makeNodeKey, waitFor } from '../unit/node/network/fixtures.ts'

const fast = { reconnectMinMs: 50, reconnectMaxMs: 500, dialTimeoutMs: 10_000, requestTimeoutMs: 10_000 }

/** The value of one sample in the registry's text output (`name{labels}`), or undefined. */
async function sample(registry: Registry, series: string): Promise<number | undefined> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('network: metrics', () => {
  const controller = new AbortController()
  const registry = new Registry()
  let a: Network
  let b: Network

  before(async () => {
    a = await Network.start(
      { ...fast, misbehaviourThreshold: 3 },
      { nodeKey: { secret: makeNodeKey('metrics-a').seed }, metrics: createNetworkMetrics(registry) },
      controller.signal,
    )
    b = await Network.start(
      { ...fast },
      { nodeKey: { secret: makeNodeKey('metrics-b').seed } },
      controller.signal,
    )
  })

  after(async () => {
    controller.abort()
    await Promise.all([a?.close(), b?.close()])
  })

  it('counts frame bytes per protocol and the connected peers', async () => {
    a.onSyncRequest(async () => new Uint8Array(12))
    await b.connect(a.addresses()[0])
    await waitFor(() => a.isConnected(b.peerKey), 10_000, 'a sees b')
    assert.equal(await sample(registry, 'fleek_network_connected_peers'), 1)
    const answer = await b.requestSync(a.peerKey, new Uint8Array(10), AbortSignal.timeout(10_000))
    assert.equal(answer.length, 12)
    const label = `{protocol="${PROTOCOLS.sync}"}`
    // A frame is a 5-byte header and its payload.
    assert.equal(await sample(registry, `fleek_network_received_bytes_total${label}`), 15)
    assert.equal(await sample(registry, `fleek_network_sent_bytes_total${label}`), 17)
    const back = await a.requestSync(b.peerKey, new Uint8Array(3), AbortSignal.timeout(10_000)).catch(() => 0)
    assert.equal(back, 0, 'b serves no sync requests')
    assert.equal(await sample(registry, `fleek_network_sent_bytes_total${label}`), 17 + 8)
  })

  it('counts strikes by reason and a ban; the banned peer is disconnected', async () => {
    for (let i = 0; i < 3; i++) a.penalize(b.peerKey, `offence ${i}`)
    assert.equal(await sample(registry, 'fleek_network_strikes_total{reason="reported"}'), 3)
    assert.equal(await sample(registry, 'fleek_network_bans_total'), 1)
    await waitFor(() => !a.isConnected(b.peerKey), 10_000, 'b disconnected')
    assert.equal(await sample(registry, 'fleek_network_connected_peers'), 0)
  })
})
