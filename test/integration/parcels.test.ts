// Parcels over real libp2p on 127.0.0.1 with real lmdb storage: four committee members publish each
// block's parcel and attestation by gossip; an edge node executes the chain in order, fetches a parcel
// nobody gossiped through /fleek/sync from a member, and resumes from its saved head after a restart.
import '../../bin/polyfill.js'

import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { FleekError } from '../../src/lib/errors.ts'
import { Network, type NodeRecord } from '../../src/node/network/index.ts'
import {
  PARCEL_TOPIC,
  type Parcel,
  ParcelFollower,
  ParcelProducer,
  type ProducedParcel,
  decodeParcelRequest,
  encodeParcelRequest,
} from '../../src/node/parcels/index.ts'
import { type Storage, openLmdbStorage } from '../../src/node/storage/index.ts'
import { makeNodeKey, retryUntil, waitFor, type TestNodeKey } from '../unit/node/network/fixtures.ts'

const fast = { reconnectMinMs: 50, reconnectMaxMs: 500, dialTimeoutMs: 10_000, requestTimeoutMs: 10_000 }
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('parcels: a committee of four and an edge node over libp2p', () => {
  const controller = new AbortController()
  const dir = mkdtempSync(join(tmpdir(), 'fleek-parcels-'))
  const memberKeys = ['a', 'b', 'c', 'd'].map((l) => makeNodeKey(`parcels ${l}`))
  const edgeKey = makeNodeKey('parcels edge')
  const committee = memberKeys.map((k) => k.publicKey)
  const registry: NodeRecord[] = []
  const members: Array<{ key: TestNodeKey; network: Network; producer: ParcelProducer; storage: Storage }> =
    []
  let edge: Network | undefined
  let edgeStorage: Storage | undefined
  let follower: ParcelFollower
  const executed: Array<{ parcel: Parcel; digest: string }> = []
  const misbehaviour: string[] = []
  const blocks: ProducedParcel[][] = []

  /** Members find each other through the registry; the edge (not a member) dials them as bootstrap peers. */
  const startNetwork = async (key: TestNodeKey, bootstrap: string[] = []): Promise<Network> => {
    const network = await Network.start(
      { ...fast, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap },
      { nodeKey: { secret: key.seed }, registry: [...registry], committee },
      controller.signal,
    )
    registry.push({
      publicKey: key.publicKey,
      multiaddrs: network.addresses().map((a) => a.replace(/\/p2p\/.*$/, '')),
    })
    return network
  }

  const makeFollower = (storage: Storage): ParcelFollower =>
    new ParcelFollower(
      { gapDelayMs: 200, fetchTimeoutMs: 5000, fetchRetries: 2 },
      {
        storage,
        committee: (epoch) => (epoch === 0 ? committee : undefined),
        execute: (parcel, digest) => {
          executed.push({ parcel, digest: hex(digest) })
        },
        fetch: async (digest, signal, hints) => {
          const peers = [...new Set([...hints, ...memberKeys.map((k) => k.peerKey)])]
          for (const peer of peers) {
            try {
              return await (edge as Network).requestSync(peer, encodeParcelRequest(digest), signal)
            } catch {
              // the next peer
            }
          }
          throw new FleekError('NOT_FOUND', 'no peer holds the parcel')
        },
        onMisbehaviour: (peer, reason) => misbehaviour.push(`${peer}: ${reason}`),
      },
    )

  before(async () => {
    for (const [i, key] of memberKeys.entries()) {
      const storage = openLmdbStorage(join(dir, `member-${i}`))
      const network = await startNetwork(key)
      const producer = new ParcelProducer(
        {},
        { storage, nodeKey: { secret: key.seed, publicKey: key.publicKey } },
      )
      network.subscribe(PARCEL_TOPIC, () => undefined)
      network.onSyncRequest(async (_from, request) => {
        const bytes = producer.getParcel(decodeParcelRequest(request))
        if (bytes === undefined) throw new FleekError('NOT_FOUND', 'no such parcel')
        return bytes
      })
      members.push({ key, network, producer, storage })
    }
    edge = await startNetwork(
      edgeKey,
      members.map((m) => m.network.addresses()[0]),
    )
    edgeStorage = openLmdbStorage(join(dir, 'edge'))
    follower = makeFollower(edgeStorage)
    edge.subscribe(PARCEL_TOPIC, (message, from) => follower.handleMessage(message, from))
    follower.start(controller.signal)
    // Six blocks, produced by every member (identical parcels, one attestation each).
    for (let index = 0; index < 6; index++) {
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
    await Promise.all([...members.map((m) => m.network.close()), edge?.close()])
    await Promise.all([...members.map((m) => m.storage.close()), edgeStorage?.close()])
    rmSync(dir, { recursive: true, force: true })
  })

  const publishBlock = async (i: number): Promise<void> => {
    await Promise.all(
      members.map(async (m, j) => {
        await m.network.publish(PARCEL_TOPIC, blocks[i][j].parcelMessage).catch(() => 0)
        await m.network.publish(PARCEL_TOPIC, blocks[i][j].attestationMessage).catch(() => 0)
      }),
    )
  }

  it('executes the chain in order; a parcel nobody gossiped is fetched from a member', async () => {
    // Until the gossip mesh forms, publish the first block again and again (repeats are harmless).
    await retryUntil(
      () => publishBlock(0),
      () => executed.length >= 1,
      30_000,
      'the first parcel at the edge',
    )
    for (const i of [1, 2, 4, 5]) await publishBlock(i) // block 3 is never gossiped
    await waitFor(() => executed.length === 6, 30_000, 'six parcels executed at the edge')
    assert.deepEqual(
      executed.map((e) => e.digest),
      blocks.map((b) => hex(b[0].digest)),
    )
    assert.deepEqual(misbehaviour, [])
    assert.equal(hex(follower.head().digest), hex(blocks[5][0].digest))
  })

  it('a restarted follower resumes from its saved head and serves what it executed', async () => {
    const again = makeFollower(edgeStorage as Storage)
    assert.equal(hex(again.head().digest), hex(blocks[5][0].digest))
    const count = executed.length
    for (const b of blocks) for (const p of b) await again.handleMessage(p.parcelMessage, 'replay')
    assert.equal(executed.length, count)
    assert.ok(follower.getParcel(blocks[3][0].digest))
  })
})
