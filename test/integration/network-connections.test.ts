// Connection management: maxConnections bounds the non-committee peers while committee members always
// get through; a committee member that goes away is redialed with backoff; setCommittee re-targets it.
import '../../bin/polyfill.js'

import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'

import { isFleekError } from '../../src/lib/errors.ts'
import { Network } from '../../src/node/network/index.ts'
import { makeNodeKey, waitFor } from '../unit/node/network/fixtures.ts'

const fast = { reconnectMinMs: 50, reconnectMaxMs: 400, dialTimeoutMs: 10_000 }

describe('network: connection management', () => {
  const controller = new AbortController()
  const started: Network[] = []
  after(async () => {
    controller.abort()
    await Promise.all(started.map((n) => n.close()))
  })

  async function start(...args: Parameters<typeof Network.start>): Promise<Network> {
    const network = await Network.start(...args)
    started.push(network)
    return network
  }

  it('bounds other peers by maxConnections and keeps room for the committee', async () => {
    const hubKey = makeNodeKey('hub')
    const memberKey = makeNodeKey('member')
    const member = await start(fast, { nodeKey: { secret: memberKey.seed } }, controller.signal)
    const hub = await start(
      { ...fast, maxConnections: 3 },
      {
        nodeKey: { secret: hubKey.seed },
        committee: [hubKey.publicKey],
        registry: [{ publicKey: memberKey.publicKey, multiaddrs: member.addresses() }],
      },
      controller.signal,
    )
    const outsiders: Network[] = []
    for (let i = 0; i < 4; i++) {
      const outsider = await start(
        fast,
        { nodeKey: { secret: makeNodeKey(`outsider-${i}`).seed } },
        controller.signal,
      )
      outsiders.push(outsider)
      await outsider.connect(hub.addresses()[0]).catch(() => undefined)
    }
    const connectedCount = (): number => hub.peers().filter((p) => p.connected).length
    await waitFor(() => connectedCount() === 3, 15_000, 'three outsiders connected')
    assert.ok(!outsiders.every((o) => o.isConnected(hub.peerKey)), 'the fourth outsider is refused')

    // The member joins the committee: the hub dials it although it is full, and drops an outsider.
    await hub.setCommittee([hubKey.publicKey, memberKey.publicKey])
    await waitFor(() => hub.isConnected(memberKey.peerKey), 15_000, 'the member connected')
    await waitFor(() => connectedCount() <= 3, 15_000, 'an outsider pruned')
    assert.ok(hub.isConnected(memberKey.peerKey))
    assert.deepEqual(
      hub
        .peers()
        .filter((p) => p.committee)
        .map((p) => p.publicKey),
      [memberKey.peerKey],
    )
  })

  it('redials a committee member that went away, and stops once it leaves the committee', async () => {
    const aKey = makeNodeKey('redial-a')
    const bKey = makeNodeKey('redial-b')
    const committee = [aKey.publicKey, bKey.publicKey]
    const b1 = await Network.start(fast, { nodeKey: { secret: bKey.seed }, committee }, controller.signal)
    const address = b1.addresses()[0].replace(/\/p2p\/.*$/, '')
    const a = await start(
      fast,
      {
        nodeKey: { secret: aKey.seed },
        committee,
        registry: [{ publicKey: bKey.publicKey, multiaddrs: [address] }],
      },
      controller.signal,
    )
    await waitFor(() => a.isConnected(bKey.peerKey), 15_000, 'a connected to b')
    await b1.close()
    await waitFor(() => !a.isConnected(bKey.peerKey), 15_000, 'a saw b go')
    // b comes back on the same address knowing nobody: a's reconnect loop must find it.
    const b2 = await start(
      { ...fast, listen: [address] },
      { nodeKey: { secret: bKey.seed }, committee },
      controller.signal,
    )
    await waitFor(() => a.isConnected(bKey.peerKey) && b2.isConnected(aKey.peerKey), 20_000, 'a redialed b')

    await a.setCommittee([aKey.publicKey])
    assert.equal(a.isCommitteeMember(bKey.peerKey), false)
    assert.deepEqual(a.committee(), [aKey.peerKey])
  })

  it('fails to start with UNAVAILABLE on an address in use, or INTERRUPTED when aborted meanwhile', async () => {
    const first = await start(fast, { nodeKey: { secret: makeNodeKey('port-a').seed } }, controller.signal)
    const taken = first.addresses()[0].replace(/\/p2p\/.*$/, '')
    await assert.rejects(
      Network.start(
        { listen: [taken] },
        { nodeKey: { secret: makeNodeKey('port-b').seed } },
        controller.signal,
      ),
      (err: unknown) => isFleekError(err, 'UNAVAILABLE'),
    )
    const aborting = new AbortController()
    const pending = Network.start(fast, { nodeKey: { secret: makeNodeKey('port-c').seed } }, aborting.signal)
    aborting.abort()
    await assert.rejects(pending, (err: unknown) => isFleekError(err, 'INTERRUPTED'))
    await assert.rejects(
      Network.start(fast, { nodeKey: { secret: new Uint8Array(31) } }, controller.signal),
      (err: unknown) => isFleekError(err, 'INVALID_INPUT'),
    )
  })
})
