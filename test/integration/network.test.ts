// The network over real libp2p on 127.0.0.1: a committee of three formed from a genesis registry,
// consensus broadcast / send / request, gossip, transaction forwarding, a WebSocket dial, and close().
import '../../bin/polyfill.js'

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { isFleekError } from '../../src/lib/errors.ts'
import { peerIdFromEd25519 } from '../../src/lib/keys/peer-id.ts'
import { Network, TRANSACTION_TOPIC, type NodeRecord, type PeerKey } from '../../src/node/network/index.ts'
import {
  RecordingConsensus,
  makeNodeKey,
  retryUntil,
  waitFor,
  type TestNodeKey,
} from '../unit/node/network/fixtures.ts'

const fast = { reconnectMinMs: 50, reconnectMaxMs: 500, dialTimeoutMs: 10_000, requestTimeoutMs: 10_000 }

interface TestNode {
  key: TestNodeKey
  network: Network
  consensus: RecordingConsensus
  transactions: { from: PeerKey; text: string }[]
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('network: a committee of three from a genesis registry', () => {
  const controller = new AbortController()
  const keys = ['a', 'b', 'c'].map((label) => makeNodeKey(label))
  const committee = keys.map((k) => k.publicKey)
  const nodes: TestNode[] = []
  const registry: NodeRecord[] = []
  const extra: Network[] = []

  async function startNode(key: TestNodeKey, listen: string[] = ['/ip4/127.0.0.1/tcp/0']): Promise<TestNode> {
    const network = await Network.start(
      { ...fast, listen },
      { nodeKey: { secret: key.seed }, registry: [...registry], committee },
      controller.signal,
    )
    const node: TestNode = { key, network, consensus: new RecordingConsensus(), transactions: [] }
    network.attachConsensus(node.consensus)
    network.onTransaction((from, tx) => {
      node.transactions.push({ from, text: Buffer.from(tx).toString() })
    })
    registry.push({
      publicKey: key.publicKey,
      multiaddrs: network.addresses().map((a) => a.replace(/\/p2p\/.*$/, '')),
    })
    return node
  }

  before(async () => {
    // Each node knows the registry entries of the nodes started before it; the earlier ones learn of
    // the later ones when those dial in.
    nodes.push(await startNode(keys[0], ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']))
    nodes.push(await startNode(keys[1]))
    nodes.push(await startNode(keys[2]))
  })

  after(async () => {
    controller.abort()
    await Promise.all([...nodes.map((n) => n.network.close()), ...extra.map((n) => n.close())])
  })

  it('connects every member to every other, with the node keys as identities', async () => {
    await waitFor(
      () => nodes.every((n) => nodes.every((m) => m === n || n.network.isConnected(m.key.peerKey))),
      15_000,
      'a fully connected committee',
    )
    for (const node of nodes) {
      assert.equal(node.network.peerId, peerIdFromEd25519(node.key.publicKey))
      assert.equal(node.network.peerKey, node.key.peerKey)
      assert.ok(node.network.isCommitteeMember())
      const peers = node.network.peers()
      assert.deepEqual(
        peers.map((p) => p.publicKey).sort(),
        nodes
          .filter((m) => m !== node)
          .map((m) => m.key.peerKey)
          .sort(),
      )
      for (const peer of peers) {
        assert.ok(peer.connected && peer.committee && peer.connections.length > 0)
        assert.equal(peer.peerId, peerIdFromEd25519(Buffer.from(peer.publicKey, 'hex')))
      }
    }
  })

  it('broadcasts consensus messages to every other member, in order', async () => {
    const [a, b, c] = nodes
    for (let i = 0; i < 20; i++) a.network.broadcast(text(`m${i}`))
    const expected = Array.from({ length: 20 }, (_, i) => `m${i}`)
    await waitFor(
      () =>
        b.consensus.textsFrom(a.key.peerKey).length >= 20 &&
        c.consensus.textsFrom(a.key.peerKey).length >= 20,
      20_000,
      'the broadcast at b and c',
    )
    assert.deepEqual(b.consensus.textsFrom(a.key.peerKey), expected)
    assert.deepEqual(c.consensus.textsFrom(a.key.peerKey), expected)
    assert.deepEqual(a.consensus.textsFrom(a.key.peerKey), [])
  })

  it('sends to one member only, and survives a handler that throws', async () => {
    const [a, b, c] = nodes
    b.network.send(c.key.peerKey, text('throw'))
    b.network.send(c.key.peerKey, text('only-c'))
    await waitFor(() => c.consensus.textsFrom(b.key.peerKey).includes('only-c'), 20_000, 'the message at c')
    assert.ok(!a.consensus.textsFrom(b.key.peerKey).includes('only-c'))
  })

  it('answers consensus requests, and reports a refusal as REJECTED', async () => {
    const [a, b] = nodes
    const answer = await a.network.request(b.key.peerKey, text('abc'), AbortSignal.timeout(15_000))
    assert.equal(Buffer.from(answer).toString(), 'cba')
    assert.deepEqual(b.consensus.requests.at(-1), { from: a.key.peerKey, text: 'abc' })
    await assert.rejects(
      a.network.request(b.key.peerKey, text('refuse'), AbortSignal.timeout(15_000)),
      (err: unknown) => isFleekError(err, 'REJECTED'),
    )
    const big = new Uint8Array(3 << 20).fill(7)
    const echoed = await a.network.request(b.key.peerKey, big, AbortSignal.timeout(10_000))
    assert.equal(echoed.length, big.length)
  })

  it('delivers gossip to the subscribers of a topic', async () => {
    const [a, b, c] = nodes
    const got = new Map<string, string[]>()
    for (const node of [b, c]) {
      node.network.subscribe('fleek/test/1', (message, from) => {
        assert.equal(from, a.key.peerKey)
        got.set(node.key.peerKey, [...(got.get(node.key.peerKey) ?? []), Buffer.from(message).toString()])
      })
    }
    let n = 0
    await retryUntil(
      () => a.network.publish('fleek/test/1', text(`g${n++}`)),
      () => got.has(b.key.peerKey) && got.has(c.key.peerKey),
      15_000,
      'gossip at b and c',
    )
  })

  it('forwards a transaction from a non-member, directly or by gossip', async () => {
    const [a] = nodes
    // d is not a member; it reaches the committee through its bootstrap peer a.
    const d = await Network.start(
      { ...fast, bootstrap: [a.network.addresses()[0]] },
      { nodeKey: { secret: makeNodeKey('d').seed }, committee },
      controller.signal,
    )
    extra.push(d)
    assert.equal(d.isCommitteeMember(), false)
    await waitFor(() => d.isConnected(a.key.peerKey), 20_000, 'd connected to a')
    const direct = await d.forward(text('tx-direct'))
    assert.deepEqual(direct, { via: 'direct', peers: [a.key.peerKey] })
    await waitFor(
      () => a.transactions.some((t) => t.text === 'tx-direct'),
      20_000,
      'the direct transaction at a',
    )
    assert.equal(a.transactions.find((t) => t.text === 'tx-direct')?.from, d.peerKey)

    // e only knows d, a non-member: its transaction travels by gossip through d to the committee.
    const e = await Network.start(
      { ...fast, bootstrap: [d.addresses()[0]] },
      { nodeKey: { secret: makeNodeKey('e').seed }, committee },
      controller.signal,
    )
    extra.push(e)
    await waitFor(() => e.isConnected(d.peerKey), 20_000, 'e connected to d')
    let n = 0
    await retryUntil(
      async () => assert.equal((await e.forward(text(`tx-gossip-${n++}`))).via, 'gossip'),
      () =>
        nodes.some((m) => m.transactions.some((t) => t.text.startsWith('tx-gossip') && t.from === e.peerKey)),
      20_000,
      'a gossiped transaction at a member',
    )
    assert.ok(e.gossipPeers(TRANSACTION_TOPIC).includes(d.peerKey))
  })

  it('dials over WebSockets', async () => {
    const [a] = nodes
    const wsAddress = a.network.addresses().find((addr) => addr.includes('/ws/'))
    assert.ok(wsAddress !== undefined, 'a listens on WebSockets')
    a.network.onSyncRequest(async (_from, request) => Uint8Array.from([...request, 0xff]))
    const f = await Network.start(
      { ...fast },
      { nodeKey: { secret: makeNodeKey('f').seed } },
      controller.signal,
    )
    extra.push(f)
    assert.equal(await f.connect(wsAddress), a.key.peerKey)
    const status = f.peers().find((p) => p.publicKey === a.key.peerKey)
    assert.ok(
      status?.connected && status.connections.every((addr) => addr.includes('/ws')),
      JSON.stringify(status),
    )
    const answer = await f.requestSync(a.key.peerKey, Uint8Array.of(1, 2), AbortSignal.timeout(15_000))
    assert.deepEqual([...answer], [1, 2, 0xff])
    assert.ok((await f.ping(a.key.peerKey)) >= 0)
  })

  it('closes idempotently and refuses work afterwards', async () => {
    const f = extra.at(-1)!
    await f.close()
    await f.close()
    assert.equal(f.closed, true)
    await assert.rejects(f.publish('x', text('y')), (err: unknown) => isFleekError(err, 'UNAVAILABLE'))
  })
})

describe('network: nodes registered after genesis (setRegistry)', () => {
  const controller = new AbortController()
  const p = makeNodeKey('registry-p')
  const q = makeNodeKey('registry-q')
  const committee = [p.publicKey, q.publicKey]
  // A long backoff: a member is redialled promptly only because setRegistry wakes its dial loop.
  const slow = { ...fast, reconnectMinMs: 30_000, reconnectMaxMs: 60_000 }
  const started: Network[] = []
  let pNet: Network

  const startQ = async (): Promise<Network> => {
    const network = await Network.start(
      { ...slow },
      { nodeKey: { secret: q.seed }, committee },
      controller.signal,
    )
    started.push(network)
    return network
  }
  const recordOf = (key: TestNodeKey, network: Network): NodeRecord => ({
    publicKey: key.publicKey,
    multiaddrs: network.addresses().map((a) => a.replace(/\/p2p\/.*$/, '')),
  })

  before(async () => {
    // Neither knows where the other listens: the genesis registry had neither.
    pNet = await Network.start({ ...slow }, { nodeKey: { secret: p.seed }, committee }, controller.signal)
    started.push(pNet)
  })

  after(async () => {
    controller.abort()
    await Promise.all(started.map((n) => n.close()))
  })

  it('dials a committee member once the registry names it, and is idempotent', async () => {
    const qNet = await startQ()
    assert.equal(pNet.isConnected(q.peerKey), false)
    const record = recordOf(q, qNet)
    // The own record is ignored.
    const change = await pNet.setRegistry([record, recordOf(p, pNet)])
    assert.deepEqual(change, { added: [q.peerKey], changed: [], removed: [] })
    await waitFor(() => pNet.isConnected(q.peerKey), 10_000, 'p connected to q')
    assert.deepEqual(await pNet.setRegistry([record]), { added: [], changed: [], removed: [] })
    assert.deepEqual(pNet.peers().find((s) => s.publicKey === q.peerKey)?.addresses, record.multiaddrs)
  })

  it('redials a member whose registered address changed', async () => {
    await started[1].close()
    await waitFor(() => !pNet.isConnected(q.peerKey), 10_000, 'p lost q')
    const qNet = await startQ()
    const change = await pNet.setRegistry([recordOf(q, qNet)])
    assert.deepEqual(change, { added: [], changed: [q.peerKey], removed: [] })
    await waitFor(() => pNet.isConnected(q.peerKey) && qNet.isConnected(p.peerKey), 10_000, 'p redialled q')
  })

  it('forgets a removed node, and refuses a malformed record without changing anything', async () => {
    await assert.rejects(
      pNet.setRegistry([{ publicKey: q.publicKey, multiaddrs: ['not a multiaddr'] }]),
      (err: unknown) => isFleekError(err, 'INVALID_INPUT'),
    )
    await assert.rejects(
      pNet.setRegistry([{ publicKey: new Uint8Array(5), multiaddrs: [] }]),
      (err: unknown) => isFleekError(err, 'INVALID_INPUT'),
    )
    assert.ok((pNet.peers().find((s) => s.publicKey === q.peerKey)?.addresses.length ?? 0) > 0)
    assert.deepEqual(await pNet.setRegistry([]), { added: [], changed: [], removed: [q.peerKey] })
    // Still a committee member: listed, without registry addresses.
    assert.deepEqual(pNet.peers().find((s) => s.publicKey === q.peerKey)?.addresses, [])
  })
})
