// The real Narwhal/Bullshark consensus over the real network: four members on 127.0.0.1 commit the
// same transactions in the same order, transactions forwarded by a non-member included; with one
// member down the other three go on; the member restarted on its address is reconnected by the others.
import '../../bin/polyfill.js'

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { Consensus, MemoryDagStore } from '../../src/node/consensus/index.ts'
import { Network, type NodeRecord } from '../../src/node/network/index.ts'
import {
  CommitRecorder,
  makeCommittee,
  makeMembers,
  type TestMember,
} from '../unit/node/consensus/fixtures.ts'
import { waitFor } from '../unit/node/network/fixtures.ts'

const consensusOptions = { maxBatchDelayMs: 10, maxHeaderDelayMs: 50, syncTimeoutMs: 1000 }
const networkOptions = {
  reconnectMinMs: 50,
  reconnectMaxMs: 400,
  dialTimeoutMs: 10_000,
  requestTimeoutMs: 10_000,
}

interface Member {
  key: TestMember
  peerKey: string
  network: Network
  consensus: Consensus
  recorder: CommitRecorder
  store: MemoryDagStore
  controller: AbortController
  listen: string
}

describe('network + consensus: a committee of four', () => {
  const keys = makeMembers(4)
  const committee = makeCommittee(keys)
  const publicKeys = keys.map((k) => k.publicKey)
  const registry: NodeRecord[] = []
  const members: Member[] = []
  const others: Network[] = []
  const outer = new AbortController()

  async function startMember(
    key: TestMember,
    listen: string,
    knownRegistry: NodeRecord[],
    store = new MemoryDagStore(),
  ): Promise<Member> {
    const controller = new AbortController()
    const network = await Network.start(
      { ...networkOptions, listen: [listen] },
      { nodeKey: { secret: key.seed }, registry: knownRegistry, committee: publicKeys },
      controller.signal,
    )
    const consensus = new Consensus(consensusOptions, {
      committee,
      keys: { secretKey: key.secretKey, publicKey: key.publicKey },
      store,
      network,
    })
    network.attachConsensus(consensus)
    network.onTransaction((_from, tx) => consensus.submit(tx))
    const recorder = new CommitRecorder()
    consensus.onCommit(recorder.handler)
    consensus.start(controller.signal)
    const address = network.addresses()[0].replace(/\/p2p\/.*$/, '')
    return { key, peerKey: network.peerKey, network, consensus, recorder, store, controller, listen: address }
  }

  async function stopMember(member: Member): Promise<void> {
    member.controller.abort()
    await member.consensus.close()
    await member.network.close()
  }

  before(async () => {
    for (const key of keys) {
      const member = await startMember(key, '/ip4/127.0.0.1/tcp/0', [...registry])
      members.push(member)
      registry.push({ publicKey: key.publicKey, multiaddrs: [member.listen] })
    }
  })

  after(async () => {
    outer.abort()
    await Promise.all([...members.map((m) => stopMember(m)), ...others.map((n) => n.close())])
  })

  it('commits the same transactions in the same order at every member', async () => {
    await waitFor(
      () => members.every((m) => members.every((o) => o === m || m.network.isConnected(o.peerKey))),
      15_000,
      'a fully connected committee',
    )
    const client = await Network.start(
      { ...networkOptions, bootstrap: [members[0].network.addresses()[0]] },
      { nodeKey: { secret: new Uint8Array(32).fill(99) }, committee: publicKeys },
      outer.signal,
    )
    others.push(client)
    await waitFor(() => client.isConnected(members[0].peerKey), 20_000, 'the client connected')
    for (let i = 0; i < 20; i++) members[i % 4].consensus.submit(Buffer.from(`local-${i}`))
    for (let i = 0; i < 10; i++) await client.forward(Buffer.from(`forwarded-${i}`))
    await Promise.all(
      members.map((m) =>
        m.recorder.waitFor(
          () => m.recorder.transactions.length >= 30,
          60_000,
          `30 transactions at ${m.peerKey}`,
        ),
      ),
    ).catch((err: unknown) => {
      const seen = members.map((m) => `${m.recorder.transactions.length} (round ${m.consensus.round})`)
      const missing = [...Array(20).keys()]
        .map((i) => `local-${i}`)
        .concat([...Array(10).keys()].map((i) => `forwarded-${i}`))
      throw new Error(
        `${String(err)}; committed: ${seen.join(', ')}; missing at a: ${missing.filter((t) => !members[0].recorder.transactions.includes(t)).join(' ')}`,
      )
    })
    const reference = members[0].recorder.transactions.slice(0, 30)
    for (const m of members) assert.deepEqual(m.recorder.transactions.slice(0, 30), reference)
    assert.equal(new Set(reference).size, 30)
    assert.ok(reference.includes('forwarded-9') && reference.includes('local-19'))
  })

  it('goes on committing with one member down, and reconnects it when it comes back', async () => {
    const down = members[3]
    await stopMember(down)
    const live = members.slice(0, 3)
    const before = live.map((m) => m.recorder.transactions.length)
    for (let i = 0; i < 10; i++) live[i % 3].consensus.submit(Buffer.from(`without-d-${i}`))
    await Promise.all(
      live.map((m, i) =>
        m.recorder.waitFor(
          () => m.recorder.transactions.length >= before[i] + 10,
          30_000,
          'commits without d',
        ),
      ),
    )
    await waitFor(() => live.every((m) => !m.network.isConnected(down.peerKey)), 20_000, 'd disconnected')

    // Back on the same address, with its DAG and no registry: the others' reconnect loops find it.
    const back = await startMember(down.key, down.listen, [], down.store)
    members[3] = back
    await waitFor(
      () => live.every((m) => m.network.isConnected(back.peerKey)),
      15_000,
      'd reconnected by the others',
    )
    const status = live[0].network.peers().find((p) => p.publicKey === back.peerKey)
    assert.ok(status?.connected && status.committee)
    const target = live[0].recorder.transactions.length + 5
    for (let i = 0; i < 5; i++) live[i % 3].consensus.submit(Buffer.from(`with-d-again-${i}`))
    await live[0].recorder.waitFor(
      () => live[0].recorder.transactions.length >= target,
      30_000,
      'commits after d',
    )
  })
})
