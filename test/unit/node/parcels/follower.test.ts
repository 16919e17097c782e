// An edge node's follower executes exactly the committee's chain, in order, whatever the gossip order;
// never a parcel with too few or forged attestations; fills gaps through fetch.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import fc from 'fast-check'

import {
  type Attestation,
  type Parcel,
  ParcelFollower,
  computeParcelDigest,
  encodeParcelMessage,
  signAttestation,
} from '../../../../src/node/parcels/index.ts'
import { MemoryStorage } from '../../../../src/node/storage/index.ts'
import { allMessages, hex, makeFollower, makeMembers, produceChain } from './fixtures.ts'

const members = makeMembers(6)
// Epoch 0: members 0–3; epoch 1: members 1–4 (a rotation); epoch 2: members 2–5.
const committees = [members.slice(0, 4), members.slice(1, 5), members.slice(2, 6)]
const chain = produceChain(committees, 4)
const chainDigests = chain.blocks.map((b) => hex(b.outputs[0].produced.digest))

const attestationMessage = (a: Attestation): Uint8Array =>
  encodeParcelMessage({ kind: 'attestation', attestation: a })

describe('ParcelFollower', () => {
  test('the committee members produce identical parcels, chained across epochs', () => {
    for (const b of chain.blocks) {
      const digests = new Set(b.outputs.map((o) => hex(o.produced.digest)))
      assert.equal(digests.size, 1)
    }
    for (let i = 1; i < chain.blocks.length; i++)
      assert.equal(hex(chain.blocks[i].outputs[0].produced.parcel.previous), chainDigests[i - 1])
  })

  test('fed every message in a random order with duplicates, it executes exactly the chain in order', async () => {
    const messages = allMessages(chain)
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(), { minLength: messages.length, maxLength: messages.length }),
        fc.array(fc.nat({ max: messages.length - 1 }), { maxLength: 40 }),
        async (keys, duplicates) => {
          const order = messages
            .map((m, i) => ({ m, k: keys[i] }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.m)
          for (const d of duplicates) order.splice(keys[d] % (order.length + 1), 0, messages[d])
          const h = makeFollower(chain)
          for (const m of order) await h.follower.handleMessage(m.bytes, m.from)
          assert.deepEqual(
            h.executed.map((e) => e.digest),
            chainDigests,
          )
          assert.deepEqual(h.misbehaviour, [])
          assert.equal(hex(h.follower.head().digest), chainDigests.at(-1))
          assert.equal(h.follower.stats().held, 0)
        },
      ),
      { seed: 20261126, numRuns: 60 },
    )
  })

  test('a message more than an epoch past the head goes to onFarAhead, dropped when it says so', async () => {
    const reported: number[] = []
    let catchingUpElsewhere = true
    const follower = new ParcelFollower(
      {},
      {
        storage: new MemoryStorage(),
        committee: (epoch) => chain.committees[epoch]?.map((m) => m.publicKey),
        execute: () => undefined,
        fetch: () => Promise.reject(new Error('no fetch in this test')),
        onFarAhead: (epoch) => {
          reported.push(epoch)
          return catchingUpElsewhere
        },
      },
    )
    const far = chain.blocks.find((b) => b.epoch === 2)!.outputs[0]
    await follower.handleMessage(far.produced.parcelMessage, far.member.hex)
    await follower.handleMessage(far.produced.attestationMessage, far.member.hex)
    assert.deepEqual(reported, [2, 2])
    assert.equal(follower.stats().held, 0)
    assert.equal(follower.stats().unchecked + follower.stats().attestations, 0)
    // Not catching up another way: held as before, waiting for the gap to fill.
    catchingUpElsewhere = false
    await follower.handleMessage(far.produced.parcelMessage, far.member.hex)
    assert.equal(follower.stats().held, 1)
    // The next epoch is routine around an epoch change: not reported.
    const next = chain.blocks.find((b) => b.epoch === 1)!.outputs[0]
    await follower.handleMessage(next.produced.parcelMessage, next.member.hex)
    assert.deepEqual(reported, [2, 2, 2])
  })

  test('too few attestations: never executed; the rest waits for the quorum', async () => {
    const h = makeFollower(chain)
    const first = chain.blocks[0].outputs
    await h.follower.handleMessage(first[0].produced.parcelMessage, first[0].member.hex)
    // 2 of 4 attest; the quorum is 3.
    await h.follower.handleMessage(first[0].produced.attestationMessage, first[0].member.hex)
    await h.follower.handleMessage(first[1].produced.attestationMessage, first[1].member.hex)
    await h.follower.handleMessage(first[1].produced.attestationMessage, first[1].member.hex)
    assert.equal(h.executed.length, 0)
    await h.follower.handleMessage(first[2].produced.attestationMessage, first[2].member.hex)
    assert.deepEqual(
      h.executed.map((e) => e.digest),
      [chainDigests[0]],
    )
  })

  test('forged attestations (bad signature, non-member, wrong epoch) are refused and reported', async () => {
    const h = makeFollower(chain)
    const fake: Parcel = {
      epoch: 0,
      index: 0,
      timestampMs: 5,
      transactions: [Uint8Array.of(9)],
      previous: chain.blocks[0].outputs[0].produced.parcel.previous,
    }
    const digest = computeParcelDigest(fake)
    const outsider = members[5]
    await h.follower.handleMessage(encodeParcelMessage({ kind: 'parcel', parcel: fake }), outsider.hex)
    // A valid attestation by one member, then forgeries in the other members' names.
    await h.follower.handleMessage(attestationMessage(signAttestation(members[0], digest, 0)), members[0].hex)
    for (const victim of [members[1], members[2], members[3]]) {
      const forged = { ...signAttestation(outsider, digest, 0), attester: victim.publicKey }
      await h.follower.handleMessage(attestationMessage(forged), outsider.hex)
    }
    // A real signature by a non-member, and one labelled with another epoch.
    await h.follower.handleMessage(attestationMessage(signAttestation(outsider, digest, 0)), outsider.hex)
    await h.follower.handleMessage(attestationMessage(signAttestation(members[1], digest, 1)), members[1].hex)
    assert.equal(h.executed.length, 0)
    assert.equal(h.misbehaviour.filter((m) => /forged/.test(m.reason)).length, 3)
    assert.equal(h.misbehaviour.filter((m) => /non-member/.test(m.reason)).length, 1)
    assert.ok(h.misbehaviour.every((m) => m.peer === outsider.hex))
    // The real chain still goes through, and the fake parcel (same position) is then reported.
    for (const m of allMessages(chain)) await h.follower.handleMessage(m.bytes, m.from)
    assert.deepEqual(
      h.executed.map((e) => e.digest),
      chainDigests,
    )
    assert.ok(h.misbehaviour.some((m) => m.peer === outsider.hex && /never attested/.test(m.reason)))
  })

  test('an honest copy that goes stale because this member executed the block itself is not reported', async () => {
    // A committee member holds another member's parcel while its attestations lag; its own consensus
    // executes the same block first and moves the head past it.
    const run = async (isExecuted: (digest: Uint8Array) => boolean, parcel: Parcel) => {
      const reports: string[] = []
      const follower = new ParcelFollower(
        {},
        {
          storage: new MemoryStorage(),
          committee: () => committees[0].map((m) => m.publicKey),
          execute: () => {},
          fetch: () => Promise.reject(new Error('no fetch in this test')),
          onMisbehaviour: (peer, reason) => reports.push(`${peer}: ${reason}`),
          isExecuted,
        },
      )
      await follower.handleMessage(encodeParcelMessage({ kind: 'parcel', parcel }), members[1].hex)
      follower.resetHead({ digest: chain.blocks[0].outputs[0].produced.digest, epoch: 0, index: 0 })
      return reports
    }
    const honest = chain.blocks[0].outputs[1].produced.parcel
    const executedHere = new Set([chainDigests[0]])
    assert.deepEqual(await run((d) => executedHere.has(hex(d)), honest), [])
    // Another parcel at that position is still a fake.
    const fake = { ...honest, timestampMs: honest.timestampMs + 1 }
    assert.deepEqual(await run((d) => executedHere.has(hex(d)), fake), [
      `${members[1].hex}: parcel never attested by the committee`,
    ])
  })

  test('malformed messages are reported, never thrown', async () => {
    const h = makeFollower(chain)
    await h.follower.handleMessage(Uint8Array.of(1, 2, 3), 'peer-a')
    await h.follower.handleMessage(new Uint8Array(0), 'peer-b')
    assert.deepEqual(
      h.misbehaviour.map((m) => m.peer),
      ['peer-a', 'peer-b'],
    )
  })

  test('a gap is filled through fetch (with retries), walking back to the head', async () => {
    const missing = new Set([1, 2, 5]) // never gossiped: parcels nor attestations
    const producer = chain.producers.get(members[2].hex)
    assert.ok(producer)
    let calls = 0
    const h = makeFollower(chain, async (digest) => {
      calls++
      if (calls % 2 === 1) throw new Error('peer unreachable') // every first attempt fails
      const bytes = producer.getParcel(digest)
      if (bytes === undefined) throw new Error('not held')
      return bytes
    })
    for (const [i, b] of chain.blocks.entries()) {
      if (missing.has(i)) continue
      for (const o of b.outputs) {
        await h.follower.handleMessage(o.produced.parcelMessage, o.member.hex)
        await h.follower.handleMessage(o.produced.attestationMessage, o.member.hex)
      }
    }
    assert.deepEqual(
      h.executed.map((e) => e.digest),
      [chainDigests[0]],
    )
    await h.follower.fillGaps()
    assert.deepEqual(
      h.executed.map((e) => e.digest),
      chainDigests,
    )
    assert.deepEqual([...new Set(h.fetches)].sort(), [...missing].map((i) => chainDigests[i]).sort())
  })

  test('a fetched parcel with another digest is refused', async () => {
    const wrong = chain.producers.get(members[0].hex)?.getParcel(chain.blocks[2].outputs[0].produced.digest)
    assert.ok(wrong)
    const h = makeFollower(chain, async () => wrong, { fetchRetries: 1 })
    for (const o of chain.blocks[1].outputs) {
      await h.follower.handleMessage(o.produced.parcelMessage, o.member.hex)
      await h.follower.handleMessage(o.produced.attestationMessage, o.member.hex)
    }
    await h.follower.fillGaps()
    assert.equal(h.fetches.length, 2)
    assert.equal(h.executed.length, 0)
  })

  test('the head survives a restart; getParcel serves executed parcels with their attestations', async () => {
    const storage = new MemoryStorage()
    const h = makeFollower(chain, undefined, {}, storage)
    for (const m of allMessages(chain).slice(0, 3 * 8)) await h.follower.handleMessage(m.bytes, m.from)
    assert.equal(h.executed.length, 3)
    const served = h.follower.getParcel(chain.blocks[1].outputs[0].produced.digest)
    assert.ok(served)
    const again = makeFollower(chain, undefined, {}, storage)
    assert.equal(hex(again.follower.head().digest), chainDigests[2])
    // Only what follows is executed by the new instance (a replay of the earlier messages is ignored).
    for (const m of allMessages(chain)) await again.follower.handleMessage(m.bytes, m.from)
    assert.deepEqual(
      again.executed.map((e) => e.digest),
      chainDigests.slice(3),
    )
    // The served answer is a certified parcel another follower accepts through fetch.
    const other = makeFollower(chain, async () => served)
    for (const o of chain.blocks[2].outputs) {
      await other.follower.handleMessage(o.produced.parcelMessage, o.member.hex)
      await other.follower.handleMessage(o.produced.attestationMessage, o.member.hex)
    }
    const first = chain.blocks[0].outputs
    await other.follower.handleMessage(
      encodeParcelMessage({ kind: 'parcel', parcel: first[0].produced.parcel }),
      first[0].member.hex,
    )
    for (const o of first) await other.follower.handleMessage(o.produced.attestationMessage, o.member.hex)
    await other.follower.fillGaps()
    assert.deepEqual(
      other.executed.map((e) => e.digest),
      chainDigests.slice(0, 3),
    )
  })

  test('held parcels are bounded', async () => {
    const h = makeFollower(chain, undefined, { maxHeldParcels: 3 })
    // Parcels far from the head, no attestations: only the 3 nearest are kept.
    for (const b of chain.blocks.slice(1))
      await h.follower.handleMessage(b.outputs[0].produced.parcelMessage, 'p')
    assert.equal(h.follower.stats().held, 3)
    assert.ok(h.follower.getParcel(chain.blocks[1].outputs[0].produced.digest))
    assert.equal(
      h.follower.getParcel(chain.blocks.at(-1)?.outputs[0].produced.digest ?? new Uint8Array(32)),
      undefined,
    )
  })

  test('attestations of an unknown future epoch are bounded per peer within the global bound', async () => {
    const h = makeFollower(chain, undefined, { maxHeldAttestations: 25, maxUncheckedPerPeer: 10 })
    // Epoch 9's committee is never known here: every one waits unchecked. Each peer signs its own.
    const future = (signer: (typeof members)[number], i: number): Uint8Array =>
      attestationMessage(signAttestation(signer, new Uint8Array(32).fill(i), 9))
    const flood = async (signer: (typeof members)[number], count: number): Promise<void> => {
      for (let i = 0; i < count; i++) await h.follower.handleMessage(future(signer, i), signer.hex)
    }
    await flood(members[5], 50)
    assert.equal(h.follower.stats().unchecked, 10, 'one peer holds at most its share')
    // A repeat of an attestation held already takes no room.
    await h.follower.handleMessage(future(members[4], 0), members[4].hex)
    await h.follower.handleMessage(future(members[4], 0), members[4].hex)
    assert.equal(h.follower.stats().unchecked, 11)
    await flood(members[4], 50)
    assert.equal(h.follower.stats().unchecked, 20)
    await flood(members[3], 50)
    assert.equal(h.follower.stats().unchecked, 25, 'the global bound still holds')
    assert.deepEqual(h.misbehaviour, [])
    // The honest chain goes on; after an execution the waiting ones are checked again, shares kept.
    for (const o of chain.blocks[0].outputs) {
      await h.follower.handleMessage(o.produced.parcelMessage, o.member.hex)
      await h.follower.handleMessage(o.produced.attestationMessage, o.member.hex)
    }
    assert.deepEqual(
      h.executed.map((e) => e.digest),
      [chainDigests[0]],
    )
    assert.equal(h.follower.stats().unchecked, 25)
    await flood(members[5], 60)
    assert.equal(h.follower.stats().unchecked, 25)
  })

  test(
    'replayed attestations of parcels older than the head are fetched at most once',
    { timeout: 20_000 },
    async () => {
      const storage = new MemoryStorage()
      const first = makeFollower(chain, undefined, {}, storage)
      for (const m of allMessages(chain).slice(0, 3 * 8)) await first.follower.handleMessage(m.bytes, m.from)
      assert.equal(first.executed.length, 3)
      const producer = chain.producers.get(members[0].hex)
      const h = makeFollower(
        chain,
        async (digest) => producer?.getParcel(digest) ?? Promise.reject(new Error('not held')),
        {},
        storage,
      )
      for (const b of chain.blocks.slice(0, 2))
        for (const o of b.outputs) await h.follower.handleMessage(o.produced.attestationMessage, o.member.hex)
      await h.follower.fillGaps()
      await h.follower.fillGaps()
      for (const o of chain.blocks[0].outputs)
        await h.follower.handleMessage(o.produced.attestationMessage, o.member.hex)
      await h.follower.fillGaps()
      assert.deepEqual([...h.fetches].sort(), chainDigests.slice(0, 2).sort())
      assert.equal(h.executed.length, 0)
      assert.equal(h.follower.stats().attestations, 0)
    },
  )
})
