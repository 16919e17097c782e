// The one-chunk fast path of hash / keyedHash / deriveKey (inputs ≤ 1024 bytes, outputs ≤ 64 bytes)
// agrees with the streaming hasher, which never takes it, at every input length around the block and
// chunk boundaries and every output length up to past the 64-byte limit; and with hash-wasm.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createBLAKE3 } from 'hash-wasm'

import {
  createDeriveKeyHasher,
  createHasher,
  createKeyedHasher,
  deriveKey,
  hash,
  hashXof,
  keyedHash,
  toHex,
} from '../../../../src/lib/b3/index.ts'

const LENGTHS = [0, 1, 3, 4, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200, 511, 960, 1023, 1024, 1025, 2048]
const OUT_LENGTHS = [0, 1, 3, 4, 17, 31, 32, 33, 63, 64, 65, 100]
const CONTEXT = 'fleek test small-input fast path 2026-11-26'

function makeInput(len: number): Uint8Array {
  return Uint8Array.from({ length: len }, (_, i) => (i * 251 + 17) % 256)
}

test('hash, keyedHash and deriveKey equal the streaming hasher at every small length', () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => 200 - i)
  for (const len of LENGTHS) {
    const input = makeInput(len)
    for (const outLen of OUT_LENGTHS) {
      const name = `len ${len} outLen ${outLen}`
      assert.equal(toHex(hashXof(input, outLen)), toHex(createHasher().update(input).digest(outLen)), name)
      assert.equal(
        toHex(keyedHash(key, input, outLen)),
        toHex(createKeyedHasher(key).update(input).digest(outLen)),
        name,
      )
      assert.equal(
        toHex(deriveKey(CONTEXT, input, outLen)),
        toHex(createDeriveKeyHasher(CONTEXT).update(input).digest(outLen)),
        name,
      )
    }
    assert.equal(toHex(hash(input)), toHex(createHasher().update(input).digest()), `hash len ${len}`)
  }
})

test('hash of small inputs equals hash-wasm', async () => {
  const hw = await createBLAKE3()
  for (const len of LENGTHS) {
    const input = makeInput(len)
    hw.init()
    hw.update(input)
    assert.equal(toHex(hash(input)), hw.digest('hex'), `len ${len}`)
  }
})

test('results are fresh arrays and inputs are not modified', () => {
  const input = makeInput(64)
  const copy = input.slice()
  const a = hash(input)
  const b = hash(input)
  assert.notEqual(a, b)
  a.fill(0)
  assert.deepEqual(b, hash(input))
  assert.deepEqual(input, copy)
})

test('a derive-key context is memoised without changing its results', () => {
  const input = makeInput(10)
  const first = toHex(deriveKey(CONTEXT, input))
  for (let i = 0; i < 300; i++) deriveKey(`${CONTEXT} ${i}`, input) // more contexts than the cache holds
  assert.equal(toHex(deriveKey(CONTEXT, input)), first)
  assert.notEqual(toHex(deriveKey(`${CONTEXT}!`, input)), first)
})

test('bad arguments are still refused on the fast path', () => {
  assert.throws(() => keyedHash(new Uint8Array(31), new Uint8Array(1)), { code: 'INVALID_INPUT' })
  assert.throws(() => keyedHash(new Uint8Array(32), 'x' as unknown as Uint8Array), { code: 'INVALID_INPUT' })
  assert.throws(() => keyedHash(new Uint8Array(32), new Uint8Array(1), 1.5), { code: 'INVALID_INPUT' })
  assert.throws(() => hash([1, 2] as unknown as Uint8Array), { code: 'INVALID_INPUT' })
  assert.throws(() => deriveKey(5 as unknown as string, new Uint8Array(1)), { code: 'INVALID_INPUT' })
})
