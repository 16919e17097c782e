// Properties around chunk and block boundaries (fixed seed): the engines agree with each other and
// with hash-wasm; subtree CVs at any chunk offset compose into the hash; tree root == hash; streaming
// in random slicings == one-shot.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { createBLAKE3 } from 'hash-wasm'

import {
  createHasher,
  getTsEngine,
  getWasmEngine,
  hash,
  hashXof,
  HASH_MODE,
  toHex,
  type B3Backend,
} from '../../../../src/lib/b3/index.ts'
import { IV } from '../../../../src/lib/b3/constants.ts'
import { parentOutput } from '../../../../src/lib/b3/output.ts'
import { buildTree, TreeBuilder } from '../../../../src/lib/b3/tree.ts'
import { seededBytes } from '../../../helpers/bytes.ts'

const SEED = 20261126
const hw = await createBLAKE3()
const hwXof800 = await createBLAKE3(800)

function hashWasm(input: Uint8Array, outBits = 256): string {
  const h = outBits === 800 ? hwXof800 : hw
  h.init()
  h.update(input)
  return h.digest('hex')
}

/** Sizes near multiples of 1 KiB (chunks) and of power-of-two chunk counts (subtrees and blocks). */
const boundarySize = fc
  .tuple(
    fc.constantFrom(1, 2, 3, 4, 7, 8, 16, 17, 64, 255, 256, 257, 512, 1024),
    fc.integer({ min: -3, max: 3 }),
  )
  .map(([chunks, delta]) => Math.max(0, chunks * 1024 + delta))

const engines: B3Backend[] = [getTsEngine(), ...(getWasmEngine() ? [getWasmEngine() as B3Backend] : [])]

test(`hash == hash-wasm at chunk and subtree boundaries (engines: ${engines.map((e) => e.name).join(', ')})`, () => {
  fc.assert(
    fc.property(boundarySize, fc.integer(), (len, salt) => {
      const input = seededBytes(len, salt)
      const want = hashWasm(input)
      assert.equal(toHex(hash(input)), want)
      for (const e of engines)
        assert.equal(toHex(e.subtreeCv(input, 0, IV, 0, true, new Uint8Array(32), 0)), want)
      assert.equal(toHex(hashXof(input, 100)), hashWasm(input, 800))
    }),
    { seed: SEED, numRuns: 60 },
  )
})

test('subtree CVs at any chunk offset: left and right subtrees compose into the hash, on every engine', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: 1, max: 5000 }),
      fc.integer(),
      (log2, extra, salt) => {
        // A left subtree of 2^log2 chunks and a right part after it, each hashed on its own at its offset.
        const leftLen = 1024 << log2
        const input = seededBytes(leftLen + Math.min(extra, leftLen), salt)
        const want = hashWasm(input)
        for (const e of engines) {
          const left = e.subtreeCv(input.subarray(0, leftLen), 0, IV, 0, false, new Uint8Array(32), 0)
          const right = e
            .subtreeCv(input.subarray(leftLen), 1 << log2, IV, 0, false, new Uint8Array(40), 8)
            .subarray(8)
          assert.equal(
            toHex(parentOutput(left, right, IV, 0).toRootBytes(32)),
            want,
            `${e.name} log2 ${log2}`,
          )
        }
        if (engines.length > 1) {
          // The engines agree on a non-root subtree far from chunk 0 (a 40-bit chunk counter).
          const counter = 2 ** 40 + (1 << log2) * 3
          const cvs = engines.map((e) =>
            toHex(e.subtreeCv(input.subarray(0, leftLen), counter, IV, 0, false, new Uint8Array(32), 0)),
          )
          assert.equal(new Set(cvs).size, 1, `engines disagree at counter ${counter}`)
        }
      },
    ),
    { seed: SEED, numRuns: 40 },
  )
})

test('block tree root == hash for every block size k = 0…8, fed in random slicings', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: -2, max: 2 }),
      fc.array(fc.integer({ min: 1, max: 300_000 }), { minLength: 1, maxLength: 6 }),
      fc.integer(),
      (k, blocks, delta, steps, salt) => {
        const len = Math.max(0, blocks * (1024 << k) + delta)
        const input = seededBytes(len, salt)
        const want = hashWasm(input)
        const tree = buildTree(input, k)
        assert.equal(toHex(tree.root), want)
        assert.equal(tree.blockCount, len === 0 ? 1 : Math.ceil(len / (1024 << k)))
        const builder = new TreeBuilder(k)
        for (let pos = 0, s = 0; pos < len; pos += steps[s++ % steps.length])
          builder.update(input.subarray(pos, pos + steps[s % steps.length]))
        assert.deepEqual(builder.finish().nodes, tree.nodes)
      },
    ),
    { seed: SEED, numRuns: 40 },
  )
})

test('the streaming hasher in random slicings == one-shot == hash-wasm', () => {
  fc.assert(
    fc.property(
      boundarySize,
      fc.array(fc.integer({ min: 0, max: 70_000 }), { minLength: 1, maxLength: 8 }),
      fc.integer(),
      (len, steps, salt) => {
        const input = seededBytes(len, salt)
        const h = createHasher()
        let pos = 0
        for (let s = 0; pos < len; s++) {
          const step = steps[s % steps.length]
          h.update(input.subarray(pos, pos + step))
          pos += step
          if (s > 10_000) break
        }
        h.update(input.subarray(pos))
        assert.equal(toHex(h.digest()), hashWasm(input))
        assert.equal(h.length, len)
      },
    ),
    { seed: SEED, numRuns: 60 },
  )
  assert.equal(HASH_MODE.flags, 0)
})
