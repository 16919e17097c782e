// The official BLAKE3 test vectors (../shared/vectors/blake3): hash, keyed hash and derive key, with
// the full 131-byte extended outputs, one-shot and streaming (in several slicings), on both engines.
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

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

const vectorsPath = fileURLToPath(
  new URL('../../../../../shared/vectors/blake3/test_vectors.json', import.meta.url),
)

interface VectorCase {
  input_len: number
  hash: string
  keyed_hash: string
  derive_key: string
}
interface Vectors {
  key: string
  context_string: string
  cases: VectorCase[]
}

function makeInput(len: number): Uint8Array {
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = i % 251
  return out
}

/** Feeds `input` in slices of `step` bytes. */
function feed<T extends { update(b: Uint8Array): unknown }>(h: T, input: Uint8Array, step: number): T {
  for (let i = 0; i < input.length; i += step) h.update(input.subarray(i, i + step))
  return h
}

const present = existsSync(vectorsPath)
const vectors: Vectors | undefined = present
  ? (JSON.parse(readFileSync(vectorsPath, 'utf8')) as Vectors)
  : undefined
const skip = present ? false : `BLAKE3 vectors not found at ${vectorsPath}`

for (const engine of ['ts', 'default'] as const) {
  test(`official BLAKE3 vectors, one-shot and streaming (engine ${engine})`, { skip }, () => {
    const saved = process.env.FLEEK_B3_ENGINE
    if (engine === 'ts') process.env.FLEEK_B3_ENGINE = 'ts'
    try {
      const v = vectors as Vectors
      const key = new TextEncoder().encode(v.key)
      assert.equal(v.cases.length, 35)
      for (const c of v.cases) {
        const input = makeInput(c.input_len)
        const xofLen = c.hash.length / 2
        const name = `input_len ${c.input_len}`
        assert.equal(toHex(hash(input)), c.hash.slice(0, 64), name)
        assert.equal(toHex(hashXof(input, xofLen)), c.hash, name)
        assert.equal(toHex(keyedHash(key, input)), c.keyed_hash.slice(0, 64), name)
        assert.equal(toHex(keyedHash(key, input, xofLen)), c.keyed_hash, name)
        assert.equal(toHex(deriveKey(v.context_string, input)), c.derive_key.slice(0, 64), name)
        assert.equal(toHex(deriveKey(v.context_string, input, xofLen)), c.derive_key, name)
        for (const step of [1, 63, 64, 1000, 1024, 1025, 4096, 1 << 20]) {
          if (step === 1 && c.input_len > 8192) continue
          assert.equal(
            toHex(feed(createHasher(), input, step).digest(xofLen)),
            c.hash,
            `${name} step ${step}`,
          )
          assert.equal(toHex(feed(createKeyedHasher(key), input, step).digest(xofLen)), c.keyed_hash, name)
          assert.equal(
            toHex(feed(createDeriveKeyHasher(v.context_string), input, step).digest(xofLen)),
            c.derive_key,
            name,
          )
        }
      }
    } finally {
      if (saved === undefined) delete process.env.FLEEK_B3_ENGINE
      else process.env.FLEEK_B3_ENGINE = saved
    }
  })
}

test('digest does not end the hasher, and seeking into the extended output is consistent', () => {
  const input = makeInput(5000)
  const h = createHasher().update(input.subarray(0, 3000))
  const early = h.digest()
  assert.equal(toHex(early), toHex(hash(input.subarray(0, 3000))))
  h.update(input.subarray(3000))
  assert.equal(toHex(h.digest()), toHex(hash(input)))
  const long = hashXof(input, 300)
  assert.equal(toHex(h.rootNode().toRootBytes(100, 150)), toHex(long.subarray(150, 250)))
})
