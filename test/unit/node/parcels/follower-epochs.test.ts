// An edge node stopped for two epochs catches up from one certified parcel (issue 6): the follower
// walks the parcel's `previous` chain back to its head, then executes forward, checking each parcel's
// attestations as its epoch's committee becomes known; a forged lead is never executed.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import {
  type Parcel,
  type ParcelFollowerDeps,
  computeParcelDigest,
  encodeParcelMessage,
  signAttestation,
} from '../../../../src/node/parcels/index.ts'
import { type FollowerHarness, hex, makeFollower, makeMembers, produceChain } from './fixtures.ts'

const members = makeMembers(6)
const strangers = makeMembers(10).slice(6)
// Epoch 0: members 0–3; epoch 1: members 1–4; epoch 2: members 2–5 (4-member committees, rotating).
const committees = [members.slice(0, 4), members.slice(1, 5), members.slice(2, 6)]
const chain = produceChain(committees, 6)
const chainDigests = chain.blocks.map((b) => hex(b.outputs[0].produced.digest))
const last = chain.blocks.at(-1)
assert.ok(last)

/** Like a node: the first hinted peer that holds the parcel answers with its own copy (one attestation). */
const fetchFromProducers: ParcelFollowerDeps['fetch'] = async (digest, _signal, hints) => {
  for (const peer of [...hints, ...members.map((m) => m.hex)]) {
    const bytes = chain.producers.get(peer)?.getParcel(digest)
    if (bytes !== undefined) return bytes
  }
  throw new Error('no peer holds the parcel')
}

/** Executes the first `count` blocks from gossip (the node before it stopped). */
async function followUntil(h: FollowerHarness, count: number): Promise<void> {
  for (const b of chain.blocks.slice(0, count))
    for (const o of b.outputs) {
      await h.follower.handleMessage(o.produced.parcelMessage, o.member.hex)
      await h.follower.handleMessage(o.produced.attestationMessage, o.member.hex)
    }
  assert.equal(h.executed.length, count)
}

/** What a head poll hands over: the latest parcel and its attestations, from one member. */
async function feedLead(h: FollowerHarness): Promise<void> {
  assert.ok(last)
  const from = last.outputs[0].member.hex
  await h.follower.handleMessage(last.outputs[0].produced.parcelMessage, from)
  for (const o of last.outputs) await h.follower.handleMessage(o.produced.attestationMessage, from)
}

const executedOnceInOrder = (h: FollowerHarness): void => {
  assert.deepEqual(
    h.executed.map((e) => e.digest),
    chainDigests,
  )
}

describe('ParcelFollower across epochs', () => {
  test('two epochs behind, fed only the latest certified parcel, it catches up to the head', async () => {
    const h = makeFollower(chain, fetchFromProducers)
    await followUntil(h, 2)
    await feedLead(h)
    assert.equal(h.executed.length, 2) // the lead's committee (epoch 2) is not known yet
    await h.follower.fillGaps()
    executedOnceInOrder(h)
    assert.equal(hex(h.follower.head().digest), chainDigests.at(-1))
    assert.deepEqual(h.misbehaviour, [])
    assert.equal(h.follower.stats().held, 0)
    assert.equal(h.follower.stats().heldBytes, 0)
    // Every missing parcel was fetched; the extra fetches are attestation top-ups (bounded).
    const fetched = new Set(h.fetches)
    for (const d of chainDigests.slice(2, -1)) assert.ok(fetched.has(d))
    assert.ok(h.fetches.length <= chainDigests.length + 3 * 2 * committees.length)
  })

  test('with few parcels held at once, it still catches up (one lead per head poll)', async () => {
    const maxHeldParcels = 4
    let maxSeen = 0
    const h: FollowerHarness = makeFollower(
      chain,
      (digest, signal, hints) => {
        maxSeen = Math.max(maxSeen, h.follower.stats().held)
        return fetchFromProducers(digest, signal, hints)
      },
      { maxHeldParcels },
    )
    await followUntil(h, 1)
    for (let poll = 0; poll < chainDigests.length && h.executed.length < chainDigests.length; poll++) {
      await feedLead(h)
      await h.follower.fillGaps()
      assert.ok(h.follower.stats().held <= maxHeldParcels)
    }
    executedOnceInOrder(h)
    assert.ok(maxSeen <= maxHeldParcels)
  })

  test('a forged lead is never executed', async () => {
    const h = makeFollower(chain, fetchFromProducers)
    await followUntil(h, 2)
    const forged: Parcel = {
      epoch: 2,
      index: last.index + 1,
      timestampMs: 9_999_999,
      transactions: [Uint8Array.of(6, 6, 6)],
      previous: last.outputs[0].produced.digest,
    }
    const digest = computeParcelDigest(forged)
    const liar = strangers[0].hex
    await h.follower.handleMessage(encodeParcelMessage({ kind: 'parcel', parcel: forged }), liar)
    // Signatures forged in the names of epoch 2's members: refused at once, so no lead at all.
    for (const m of committees[2]) {
      const attestation = { ...signAttestation(strangers[0], digest, 2), attester: m.publicKey }
      await h.follower.handleMessage(encodeParcelMessage({ kind: 'attestation', attestation }), liar)
    }
    assert.equal(h.misbehaviour.filter((m) => /forged/.test(m.reason)).length, committees[2].length)
    await h.follower.fillGaps()
    assert.equal(h.executed.length, 2)
    assert.deepEqual(h.fetches, [])
    // Valid signatures by strangers: a lead (its chain is the real one), but the lead itself never runs.
    for (const s of strangers) {
      const attestation = signAttestation(s, digest, 2)
      await h.follower.handleMessage(encodeParcelMessage({ kind: 'attestation', attestation }), liar)
    }
    await h.follower.fillGaps()
    executedOnceInOrder(h)
    assert.ok(!h.executed.some((e) => e.digest === hex(digest)))
    assert.ok(h.misbehaviour.some((m) => m.peer === liar && /non-member/.test(m.reason)))
  })

  test('a lead whose chain nobody holds executes nothing and stops fetching', async () => {
    const h = makeFollower(chain, fetchFromProducers, { fetchRetries: 1 })
    await followUntil(h, 2)
    const orphan: Parcel = { ...last.outputs[0].produced.parcel, previous: new Uint8Array(32).fill(7) }
    const digest = computeParcelDigest(orphan)
    await h.follower.handleMessage(encodeParcelMessage({ kind: 'parcel', parcel: orphan }), 'p')
    const attestation = signAttestation(strangers[1], digest, 2)
    await h.follower.handleMessage(encodeParcelMessage({ kind: 'attestation', attestation }), 'p')
    await h.follower.fillGaps()
    assert.equal(h.executed.length, 2)
    assert.deepEqual(h.fetches, [hex(orphan.previous), hex(orphan.previous)])
  })
})
