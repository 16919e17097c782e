// Strict DAG-CBOR reading: garbage, non-canonical encodings, non-maps, missing or extra fields and
// out-of-range values are each one INVALID_INPUT line naming the message and the field.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import * as dagCbor from '@ipld/dag-cbor'

import { isFleekError } from '../../../src/lib/errors.ts'
import {
  checkFields,
  decodeDagCbor,
  decodeDagCborMap,
  readBytes,
  readUint,
} from '../../../src/lib/strict-cbor.ts'

const invalid = (pattern: RegExp) => (err: unknown) =>
  isFleekError(err, 'INVALID_INPUT') && pattern.test((err as Error).message)

test('decodes canonical maps and refuses the rest', () => {
  const bytes = dagCbor.encode({ a: 1, b: new Uint8Array(2) })
  assert.deepEqual(decodeDagCborMap(bytes, 'thing'), { a: 1, b: new Uint8Array(2) })
  assert.throws(() => decodeDagCbor(Uint8Array.of(0xff), 'thing'), invalid(/the thing is not valid DAG-CBOR/))
  // {b: 1, a: 2} with its keys out of canonical order: decodable, but another encoding of one value.
  const unsorted = Uint8Array.of(0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02)
  assert.throws(() => decodeDagCbor(unsorted, 'thing'), invalid(/not canonically encoded/))
  assert.deepEqual(decodeDagCborMap(unsorted, 'thing', { canonical: false }), { a: 2, b: 1 })
  assert.throws(() => decodeDagCborMap(dagCbor.encode([1]), 'thing'), invalid(/the thing is not a map/))
  assert.throws(() => decodeDagCbor('x' as unknown as Uint8Array, 'thing'), invalid(/not bytes/))
})

test('fields, integers and bytes are checked with the field named', () => {
  checkFields({ b: 1, a: 2 }, ['a', 'b'], 'thing')
  assert.throws(() => checkFields({ a: 1 }, ['a', 'b'], 'thing'), invalid(/exactly the fields a, b/))
  assert.throws(() => checkFields({ a: 1, b: 2, c: 3 }, ['b', 'a'], 'thing'), invalid(/a, b$/))
  assert.equal(readUint(7, 'thing', 'n'), 7)
  for (const bad of [-1, 1.5, 2 ** 60, '7', undefined])
    assert.throws(() => readUint(bad, 'thing', 'n'), invalid(/the thing's n must be a non-negative integer/))
  assert.equal(readBytes(new Uint8Array(3), 3, 'thing', 'b').length, 3)
  assert.equal(readBytes(new Uint8Array(5), undefined, 'thing', 'b').length, 5)
  assert.throws(() => readBytes(new Uint8Array(2), 3, 'thing', 'b'), invalid(/the thing's b must be 3 bytes/))
  assert.throws(() => readBytes([1, 2, 3], 3, 'thing', 'b'), invalid(/must be 3 bytes/))
})
