// Parcel wire formats: round trips, strict decoders, digests that cover every field; the producer's
// chain head is persistent and its output idempotent per block.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'

import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'

import { isFleekError } from '../../../../src/lib/errors.ts'
import {
  GENESIS_PARCEL_DIGEST,
  type Parcel,
  ParcelProducer,
  computeParcelDigest,
  decodeAttestation,
  decodeCertifiedParcel,
  decodeParcel,
  decodeParcelMessage,
  decodeParcelRequest,
  encodeAttestation,
  encodeParcel,
  encodeParcelMessage,
  encodeParcelRequest,
  signAttestation,
  verifyAttestation,
} from '../../../../src/node/parcels/index.ts'
import { MemoryStorage } from '../../../../src/node/storage/index.ts'
import { hex, makeMembers } from './fixtures.ts'

const [alice] = makeMembers(1)
const parcelArb = fc
  .record({
    epoch: fc.nat({ max: 1000 }),
    index: fc.nat({ max: 100_000 }),
    timestampMs: fc.nat(),
    transactions: fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 5 }),
    previous: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  })
  .map((p): Parcel => ({ ...p }))
const invalid = (e: unknown): boolean => isFleekError(e, 'INVALID_INPUT')

describe('parcel messages', () => {
  test('round trips; a flipped bit fails to decode or changes the digest', () => {
    fc.assert(
      fc.property(parcelArb, fc.nat(), fc.nat({ max: 7 }), (parcel, at, bit) => {
        const bytes = encodeParcel(parcel)
        assert.deepEqual(decodeParcel(bytes), parcel)
        const message = decodeParcelMessage(encodeParcelMessage({ kind: 'parcel', parcel }))
        assert.deepEqual(message, { kind: 'parcel', parcel })
        const tampered = new Uint8Array(bytes)
        tampered[at % bytes.length] ^= 1 << bit
        let other: Parcel
        try {
          other = decodeParcel(tampered)
        } catch (e) {
          assert.ok(invalid(e), String(e))
          return
        }
        assert.notEqual(hex(computeParcelDigest(other)), hex(computeParcelDigest(parcel)))
      }),
      { seed: 61, numRuns: 400 },
    )
  })

  test('strict: extra or missing fields, wrong types, non-canonical encodings are INVALID_INPUT', () => {
    const parcel: Parcel = {
      epoch: 1,
      index: 2,
      timestampMs: 3,
      transactions: [],
      previous: GENESIS_PARCEL_DIGEST,
    }
    const bad: unknown[] = [
      { ...parcel, extra: 1 },
      { epoch: 1, index: 2, timestampMs: 3, transactions: [] },
      { ...parcel, epoch: -1 },
      { ...parcel, index: 1.5 },
      { ...parcel, previous: new Uint8Array(31) },
      { ...parcel, transactions: ['x'] },
      [1, 2, 3],
      null,
    ]
    for (const value of bad) assert.throws(() => decodeParcel(dagCbor.encode(value)), invalid)
    // The same parcel with its keys in another order, or an integer in a longer form, is refused (one
    // parcel, one encoding, one digest).
    const order = ['epoch', 'index', 'previous', 'timestampMs', 'transactions'] as const // length, then bytes
    const entries = order.map((k) => [dagCbor.encode(k), dagCbor.encode(parcel[k])])
    const mapOf = (es: Uint8Array[][]): Uint8Array =>
      Uint8Array.from([0xa5, ...es.flatMap(([k, v]) => [...k, ...v])])
    assert.deepEqual(decodeParcel(mapOf(entries)), parcel)
    assert.throws(() => decodeParcel(mapOf([...entries].reverse())), invalid)
    const longEpoch = entries.map(([k, v], i) => (i === 0 ? [k, Uint8Array.of(0x18, 0x01)] : [k, v]))
    assert.throws(() => decodeParcel(mapOf(longEpoch)), invalid)
    assert.throws(() => decodeParcelMessage(dagCbor.encode({ parcel, attestation: 1 })), invalid)
    assert.throws(() => decodeParcelMessage(dagCbor.encode({ other: 1 })), invalid)
    assert.throws(() => decodeCertifiedParcel(dagCbor.encode({ parcel, attestations: 'x' })), invalid)
    assert.throws(() => decodeParcelRequest(dagCbor.encode({ parcel: new Uint8Array(3) })), invalid)
    assert.deepEqual(decodeParcelRequest(encodeParcelRequest(GENESIS_PARCEL_DIGEST)), GENESIS_PARCEL_DIGEST)
  })

  test('attestations verify, and fail when any field is changed', () => {
    const digest = computeParcelDigest({
      epoch: 0,
      index: 0,
      timestampMs: 1,
      transactions: [],
      previous: GENESIS_PARCEL_DIGEST,
    })
    const a = signAttestation(alice, digest, 0)
    assert.ok(verifyAttestation(a))
    assert.deepEqual(decodeAttestation(encodeAttestation(a)), a)
    const otherDigest = new Uint8Array(digest)
    otherDigest[0] ^= 1
    assert.equal(verifyAttestation({ ...a, digest: otherDigest }), false)
    const sig = new Uint8Array(a.signature)
    sig[10] ^= 4
    assert.equal(verifyAttestation({ ...a, signature: sig }), false)
    assert.equal(verifyAttestation({ ...a, attester: makeMembers(2)[1].publicKey }), false)
    assert.throws(() => decodeAttestation(dagCbor.encode({ ...a, signature: new Uint8Array(63) })), invalid)
  })
})

describe('ParcelProducer', () => {
  const block = (epoch: number, index: number) => ({
    sequence: { epoch, index },
    timestampMs: 1000 + index,
    transactions: [Uint8Array.of(epoch, index)],
  })

  test('chains parcels from the genesis digest, persists the head, repeats the head idempotently', () => {
    const storage = new MemoryStorage()
    const producer = new ParcelProducer({}, { storage, nodeKey: alice })
    assert.equal(hex(producer.head().digest), hex(GENESIS_PARCEL_DIGEST))
    const first = producer.onBlockExecuted(block(0, 0))
    assert.equal(hex(first.parcel.previous), hex(GENESIS_PARCEL_DIGEST))
    const second = producer.onBlockExecuted(block(0, 3))
    assert.equal(hex(second.parcel.previous), hex(first.digest))

    // A restart (new instance, same storage) continues the chain; the head's block gives the same bytes.
    const restarted = new ParcelProducer({}, { storage, nodeKey: alice })
    assert.deepEqual(restarted.head(), { digest: second.digest, epoch: 0, index: 3 })
    const repeat = restarted.onBlockExecuted(block(0, 3))
    assert.deepEqual(repeat.parcelMessage, second.parcelMessage)
    assert.deepEqual(repeat.attestationMessage, second.attestationMessage)
    assert.throws(() => restarted.onBlockExecuted(block(0, 1)), invalid)
    const third = restarted.onBlockExecuted(block(1, 0))
    assert.equal(hex(third.parcel.previous), hex(second.digest))
    const att = decodeParcelMessage(third.attestationMessage)
    assert.ok(att.kind === 'attestation' && verifyAttestation(att.attestation) && att.attestation.epoch === 1)
  })

  test('keeps the last retainParcels parcels for fetches', () => {
    const producer = new ParcelProducer(
      { retainParcels: 2 },
      { storage: new MemoryStorage(), nodeKey: alice },
    )
    const out = [0, 1, 2, 3].map((i) => producer.onBlockExecuted(block(0, i)))
    assert.equal(producer.getParcel(out[0].digest), undefined)
    assert.equal(producer.getParcel(out[1].digest), undefined)
    const kept = producer.getParcel(out[3].digest)
    assert.ok(kept)
    assert.deepEqual(decodeCertifiedParcel(kept).parcel, out[3].parcel)
  })
})
