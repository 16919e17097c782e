// Bao (k = 0) encodings: sizes and layout from the Bao spec, round trips (combined, outboard, slices),
// root == BLAKE3 hash, and a one-bit change anywhere is caught; truncation and trailing bytes too.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'

import { isFleekError } from '../../../../src/lib/errors.ts'
import {
  BAO_HEADER_LEN,
  baoEncode,
  baoEncodedSize,
  baoOutboard,
  baoSlice,
  baoSliceFromEncoding,
} from '../../../../src/lib/b3/bao.ts'
import {
  BaoDecoder,
  baoDecode,
  baoDecodeOutboard,
  baoDecodeSlice,
} from '../../../../src/lib/b3/bao-decode.ts'
import { hash, toHex } from '../../../../src/lib/b3/index.ts'
import { parentOutput } from '../../../../src/lib/b3/output.ts'
import { IV } from '../../../../src/lib/b3/constants.ts'
import { chunkOutput } from '../../../../src/lib/b3/chunk.ts'

const SEED = 0xb3b3
const SIZES = [0, 1, 1023, 1024, 1025, 2048, 2049, 3072, 3073, 4096, 4097, 8193, 16384, 31744]

function makeInput(len: number, salt = 0): Uint8Array {
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = (i * 31 + salt) % 251
  return out
}

function expectIntegrity(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => isFleekError(err, 'INTEGRITY'), message)
}

test('the Bao layout of 2049 bytes is header | root parent | left parent | chunk0 | chunk1 | chunk2 (spec example)', () => {
  const input = new Uint8Array(2049)
  const { encoding, hash: root } = baoEncode(input)
  assert.equal(toHex(root), toHex(hash(input)))
  assert.equal(toHex(encoding.subarray(0, 8)), '0108000000000000')
  assert.equal(encoding.length, 8 + 64 + 64 + 2049)
  const cv = (pos: number, len: number, counter: number): Uint8Array =>
    chunkOutput(input, pos, len, counter, IV, 0).toCv()
  const c0 = cv(0, 1024, 0)
  const c1 = cv(1024, 1024, 1)
  const c2 = cv(2048, 1, 2)
  const left = parentOutput(c0, c1, IV, 0).toCv()
  assert.equal(toHex(encoding.subarray(8, 72)), toHex(left) + toHex(c2), 'root parent = left CV | chunk 2 CV')
  assert.equal(
    toHex(encoding.subarray(72, 136)),
    toHex(c0) + toHex(c1),
    'left parent = chunk 0 CV | chunk 1 CV',
  )
  assert.deepEqual(encoding.subarray(136), input)
})

test('combined and outboard encodings round-trip at chunk boundaries; sizes follow the spec', () => {
  for (const len of SIZES) {
    const input = makeInput(len)
    const { encoding, hash: root } = baoEncode(input)
    assert.equal(toHex(root), toHex(hash(input)), `root == hash, ${len}`)
    assert.equal(encoding.length, baoEncodedSize(len), `combined size, ${len}`)
    assert.deepEqual(baoDecode(encoding, root), input, `decode, ${len}`)
    const outboard = baoOutboard(input)
    assert.equal(outboard.encoding.length, baoEncodedSize(len, true), `outboard size, ${len}`)
    assert.deepEqual(baoDecodeOutboard(outboard.encoding, input, root), input, `outboard decode, ${len}`)
    // Fed one byte at a time, a decoder never emits more than what is verified, and the length shows last.
    const d = new BaoDecoder(root)
    let got = 0
    for (let i = 0; i < encoding.length; i++) {
      if (i < encoding.length - 1) assert.equal(d.contentLength, undefined)
      got += d.write(encoding.subarray(i, i + 1)).length
    }
    d.end()
    assert.equal(got, len)
    assert.equal(d.contentLength, len)
  }
})

test('the empty encoding must verify its empty chunk against the root', () => {
  const { encoding } = baoEncode(new Uint8Array(0))
  assert.equal(encoding.length, BAO_HEADER_LEN)
  expectIntegrity(() => baoDecode(encoding, hash(new Uint8Array([1]))), 'empty encoding with a wrong root')
})

test('truncation, trailing bytes, a wrong root and a lying header are rejected', () => {
  for (const len of [0, 1, 1025, 4097]) {
    const input = makeInput(len)
    const { encoding, hash: root } = baoEncode(input)
    for (const cut of new Set([0, 1, 7, 8, encoding.length - 1]))
      if (cut < encoding.length)
        expectIntegrity(() => baoDecode(encoding.subarray(0, cut), root), `${len} cut ${cut}`)
    expectIntegrity(() => baoDecode(new Uint8Array([...encoding, 0]), root), `${len} trailing byte`)
    expectIntegrity(() => baoDecode(encoding, hash(makeInput(len + 1))), `${len} wrong root`)
    const lying = encoding.slice()
    lying[0] ^= 1
    expectIntegrity(() => baoDecode(lying, root), `${len} header says ${len ^ 1}`)
    const outboard = baoOutboard(input).encoding
    expectIntegrity(
      () => baoDecodeOutboard(outboard, new Uint8Array([...input, 0]), root),
      'content too long',
    )
    if (len > 0)
      expectIntegrity(() => baoDecodeOutboard(outboard, input.subarray(1), root), 'content too short')
  }
})

test('any one-bit change in a combined or outboard encoding is caught (every bit, sizes up to 4 chunks)', () => {
  for (const len of [0, 1, 1024, 1025, 2049, 4096]) {
    const input = makeInput(len, 7)
    const { encoding, hash: root } = baoEncode(input)
    for (let bit = 0; bit < encoding.length * 8; bit++) {
      const bad = encoding.slice()
      bad[bit >> 3] ^= 1 << (bit & 7)
      expectIntegrity(() => baoDecode(bad, root), `${len}: bit ${bit}`)
    }
    const outboard = baoOutboard(input).encoding
    for (let bit = 0; bit < outboard.length * 8; bit++) {
      const bad = outboard.slice()
      bad[bit >> 3] ^= 1 << (bit & 7)
      expectIntegrity(() => baoDecodeOutboard(bad, input, root), `${len}: outboard bit ${bit}`)
    }
  }
})

test('slices: extracted == built, decode to the range, carry only the path; tampering is caught', () => {
  const len = 9 * 1024 + 100
  const input = makeInput(len, 3)
  const { encoding, hash: root } = baoEncode(input)
  const cases: Array<[number, number]> = [
    [0, 0],
    [0, 1],
    [1023, 2],
    [1024, 1024],
    [5000, 3000],
    [0, len],
    [len - 1, 10],
    [len, 5],
    [len + 5000, 1],
    [9 * 1024, 100],
  ]
  for (const [start, n] of cases) {
    const slice = baoSlice(input, start, n)
    assert.deepEqual(baoSliceFromEncoding(encoding, start, n), slice, `extract ${start}+${n}`)
    const want = input.subarray(Math.min(start, len), Math.min(len, start + n))
    assert.deepEqual(baoDecodeSlice(slice, root, start, n), want, `decode ${start}+${n}`)
    if (start === 0 && n === len) assert.deepEqual(slice, encoding, 'a full slice is the combined encoding')
    if (n <= 1024 && start < len) assert.ok(slice.length < encoding.length / 2, 'a short slice is small')
    for (let bit = 0; bit < slice.length * 8; bit += bit < 64 ? 1 : 13) {
      const bad = slice.slice()
      bad[bit >> 3] ^= 1 << (bit & 7)
      if (bit >= 64) {
        expectIntegrity(() => baoDecodeSlice(bad, root, start, n), `slice ${start}+${n} bit ${bit}`)
        continue
      }
      // A slice that stops before the final chunk cannot verify the length header (Bao is malleable
      // there by design); a changed header must then still yield exactly the right bytes, or fail.
      let out: Uint8Array | undefined
      try {
        out = baoDecodeSlice(bad, root, start, n)
      } catch (err) {
        assert.ok(isFleekError(err, 'INTEGRITY'), `slice ${start}+${n} header bit ${bit}: ${String(err)}`)
      }
      if (out !== undefined) assert.deepEqual(out, want, `slice ${start}+${n} header bit ${bit}`)
    }
  }
})

test('property: decode(encode(x)) == x and a random one-bit change is caught', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 12 }),
      fc.integer({ min: -2, max: 2 }),
      fc.integer({ min: 0, max: 255 }),
      fc.nat(),
      (chunks, delta, salt, bitSeed) => {
        const len = Math.max(0, chunks * 1024 + delta)
        const input = makeInput(len, salt)
        const { encoding, hash: root } = baoEncode(input)
        assert.deepEqual(baoDecode(encoding, root), input)
        assert.deepEqual(root, hash(input))
        const bit = bitSeed % (encoding.length * 8)
        const bad = encoding.slice()
        bad[bit >> 3] ^= 1 << (bit & 7)
        expectIntegrity(() => baoDecode(bad, root), `len ${len} bit ${bit}`)
      },
    ),
    { seed: SEED, numRuns: 200 },
  )
})
