// The WebAssembly SIMD engine against the official vectors, hash-wasm and the TypeScript engine.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileURLToPath, pathToFileURL } from 'node:url'
import fc from 'fast-check'
import { createBLAKE3 } from 'hash-wasm'
import { IV, KEYED_HASH, DERIVE_KEY_CONTEXT, DERIVE_KEY_MATERIAL } from '../../../../src/lib/b3/constants.ts'
import { tsBackend } from '../../../../src/lib/b3/ts-backend.ts'
import { createWasmBackend, loadWasmBackend, type WasmB3Backend } from '../../../../src/lib/b3/wasm/index.ts'
import { isFleekError } from '../../../../src/lib/errors.ts'
import { seededBytes } from '../../../helpers/bytes.ts'

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
const vectorsUrl = new URL('../../../../../shared/vectors/blake3/test_vectors.json', import.meta.url)

// A fresh checkout runs the tests before any build: compile the module first (atomic, so concurrent
// test files never read half a file).
if (!existsSync(new URL('../../../../src/lib/b3/wasm/build/blake3.wasm', import.meta.url))) {
  execFileSync(process.execPath, ['scripts/build-b3-wasm.js'], { cwd: repoRoot, stdio: 'ignore' })
}

/** The engine; a missing build is a failure, no SIMD a skip (then the TS engine serves). */
function getWasm(t: { skip: (reason: string) => void }): WasmB3Backend | undefined {
  const wasm = loadWasmBackend()
  if (wasm === undefined) t.skip('WebAssembly SIMD is unavailable in this runtime')
  return wasm
}

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const keyWords = (key: Uint8Array): Uint32Array => {
  const view = new DataView(key.buffer, key.byteOffset, 32)
  return Uint32Array.from({ length: 8 }, (_, i) => view.getUint32(4 * i, true))
}
const wasmCv = (wasm: WasmB3Backend, input: Uint8Array, counter: number, key = IV, flags = 0, root = false) =>
  toHex(wasm.subtreeCv(input, counter, key, flags, root, new Uint8Array(32), 0))
const tsCv = (input: Uint8Array, counter: number, key = IV, flags = 0, root = false) =>
  toHex(tsBackend.subtreeCv(input, counter, key, flags, root, new Uint8Array(32), 0))

test('the module loads and names itself', () => {
  assert.ok(existsSync(new URL('../../../../src/lib/b3/wasm/build/blake3.wasm', import.meta.url)))
  const wasm = loadWasmBackend()
  if (wasm === undefined) return
  assert.equal(wasm.name, 'wasm-simd')
  assert.equal(loadWasmBackend(), wasm, 'the loader caches its instance')
})

test('no engine (undefined, not an error) when the module is missing or does not compile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleek-b3-wasm-'))
  try {
    assert.equal(createWasmBackend(pathToFileURL(join(dir, 'missing.wasm'))), undefined)
    // A module that does not compile (a truncated type section), as ours does where there is no SIMD.
    const broken = join(dir, 'broken.wasm')
    writeFileSync(
      broken,
      Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00),
    )
    assert.equal(createWasmBackend(pathToFileURL(broken)), undefined)
    const fresh = createWasmBackend()
    if (fresh !== undefined)
      assert.notEqual(fresh, loadWasmBackend(), 'createWasmBackend makes a new instance')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('official vectors: hash, keyed hash, derive key (first 32 bytes)', (t) => {
  if (!existsSync(vectorsUrl)) return t.skip(`vectors absent: ${fileURLToPath(vectorsUrl)}`)
  const wasm = getWasm(t)
  if (wasm === undefined) return
  const vectors = JSON.parse(readFileSync(vectorsUrl, 'utf8')) as {
    key: string
    context_string: string
    cases: { input_len: number; hash: string; keyed_hash: string; derive_key: string }[]
  }
  const key = keyWords(new TextEncoder().encode(vectors.key))
  const contextKey = keyWords(
    wasm.subtreeCv(
      new TextEncoder().encode(vectors.context_string),
      0,
      IV,
      DERIVE_KEY_CONTEXT,
      true,
      new Uint8Array(32),
      0,
    ),
  )
  assert.equal(vectors.cases.length, 35)
  for (const c of vectors.cases) {
    const input = Uint8Array.from({ length: c.input_len }, (_, i) => i % 251)
    assert.equal(wasmCv(wasm, input, 0, IV, 0, true), c.hash.slice(0, 64), `hash of ${c.input_len} bytes`)
    assert.equal(
      wasmCv(wasm, input, 0, key, KEYED_HASH, true),
      c.keyed_hash.slice(0, 64),
      `keyed ${c.input_len}`,
    )
    assert.equal(
      wasmCv(wasm, input, 0, contextKey, DERIVE_KEY_MATERIAL, true),
      c.derive_key.slice(0, 64),
      `derive_key of ${c.input_len} bytes`,
    )
  }
})

// Lengths near chunk boundaries, power-of-two subtree boundaries and the 1 MiB window boundary.
const boundaryLength = fc.oneof(
  fc
    .tuple(fc.integer({ min: 0, max: 40 }), fc.integer({ min: -3, max: 3 }))
    .map(([k, d]) => Math.max(0, k * 1024 + d)),
  fc
    .tuple(fc.integer({ min: 0, max: 11 }), fc.integer({ min: -70, max: 70 }))
    .map(([j, d]) => Math.max(0, 1024 * 2 ** j + d)),
  fc
    .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: -1100, max: 1100 }))
    .map(([w, d]) => (w << 20) + d),
  fc.integer({ min: 0, max: 3 << 20 }),
)

test('hash == hash-wasm at lengths around chunk, subtree and window boundaries', async (t) => {
  const wasm = getWasm(t)
  if (wasm === undefined) return
  const reference = await createBLAKE3()
  const data = seededBytes((3 << 20) + 1100, 7)
  fc.assert(
    fc.property(boundaryLength, fc.integer({ min: 0, max: 1000 }), (length, offset) => {
      const input = data.subarray(offset, offset + length)
      reference.init()
      reference.update(input)
      assert.equal(wasmCv(wasm, input, 0, IV, 0, true), reference.digest('hex'), `length ${length}`)
    }),
    { seed: 20261126, numRuns: 150 },
  )
})

test('keyed hash == hash-wasm keyed', async (t) => {
  const wasm = getWasm(t)
  if (wasm === undefined) return
  const keyBytes = seededBytes(32, 99)
  const reference = await createBLAKE3(256, keyBytes)
  const data = seededBytes(1 << 20, 11)
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1 << 20 }), (length) => {
      const input = data.subarray(0, length)
      reference.init()
      reference.update(input)
      assert.equal(wasmCv(wasm, input, 0, keyWords(keyBytes), KEYED_HASH, true), reference.digest('hex'))
    }),
    { seed: 5, numRuns: 40 },
  )
})

test('subtree CVs at nonzero chunk counters == the TypeScript engine', (t) => {
  const wasm = getWasm(t)
  if (wasm === undefined) return
  const data = seededBytes(2 << 20, 3)
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 11 }),
      fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 2 ** 21, max: 2 ** 31 })),
      fc.boolean(),
      fc.integer({ min: 1, max: 1 << 20 }),
      (log2Chunks, multiple, whole, tailBytes) => {
        // A whole 2^j-chunk subtree at an aligned counter (beyond 2^32 for large multiples), or the
        // last, shorter piece of some content.
        const chunks = 2 ** log2Chunks
        const counter = chunks * multiple
        const length = whole ? chunks * 1024 : Math.min(tailBytes, chunks * 1024)
        const input = data.subarray(0, length)
        assert.equal(
          wasmCv(wasm, input, counter),
          tsCv(input, counter),
          `2^${log2Chunks} chunks at ${counter}`,
        )
      },
    ),
    { seed: 42, numRuns: 40 },
  )
})

test('a counter above 2^32 reaches the high word', (t) => {
  const wasm = getWasm(t)
  if (wasm === undefined) return
  const input = seededBytes(8192, 1)
  const low = 5 * 8
  const high = 2 ** 32 + low
  assert.equal(wasmCv(wasm, input, high), tsCv(input, high))
  assert.notEqual(wasmCv(wasm, input, high), wasmCv(wasm, input, low))
  // Four lanes whose counters straddle 2^32 (never happens in an aligned tree, but the carry must hold).
  const straddle = 2 ** 32 - 3
  assert.equal(wasmCv(wasm, input.subarray(0, 4096), straddle), tsCv(input.subarray(0, 4096), straddle))
})

test('mergeCvs over window CVs == the hash of the whole', (t) => {
  const wasm = getWasm(t)
  if (wasm === undefined) return
  const input = seededBytes((5 << 18) + 333, 17)
  const pieceBytes = 1 << 18
  const count = Math.ceil(input.length / pieceBytes)
  const cvs = new Uint8Array(32 * count)
  for (let i = 0; i < count; i++) {
    const piece = input.subarray(i * pieceBytes, (i + 1) * pieceBytes)
    wasm.subtreeCv(piece, (i * pieceBytes) / 1024, IV, 0, false, cvs, 32 * i)
  }
  const copy = cvs.slice()
  const merged = toHex(wasm.mergeCvs(cvs, IV, 0, true, new Uint8Array(32), 0))
  assert.equal(merged, wasmCv(wasm, input, 0, IV, 0, true))
  assert.deepEqual(cvs, copy, 'mergeCvs leaves its input alone')
  assert.equal(toHex(wasm.mergeCvs(cvs, IV, 0, false, new Uint8Array(32), 0)), wasmCv(wasm, input, 0))
})

test('writes at outOffset and leaves the rest of out alone', (t) => {
  const wasm = getWasm(t)
  if (wasm === undefined) return
  const out = new Uint8Array(40).fill(0xee)
  wasm.subtreeCv(seededBytes(3000, 2), 0, IV, 0, true, out, 5)
  assert.deepEqual(out.subarray(0, 5), new Uint8Array(5).fill(0xee))
  assert.deepEqual(out.subarray(37), new Uint8Array(3).fill(0xee))
  assert.equal(toHex(out.subarray(5, 37)), tsCv(seededBytes(3000, 2), 0, IV, 0, true))
})

test('bad arguments are refused with INVALID_INPUT', (t) => {
  const wasm = getWasm(t)
  if (wasm === undefined) return
  const out = new Uint8Array(32)
  const invalid = (err: unknown) => isFleekError(err, 'INVALID_INPUT')
  assert.throws(() => wasm.subtreeCv(new Uint8Array(1024), 1, IV, 0, true, out, 0), invalid)
  assert.throws(() => wasm.subtreeCv(new Uint8Array(0), 0, IV, 0, false, out, 0), invalid)
  assert.throws(() => wasm.subtreeCv(new Uint8Array(1), -1, IV, 0, false, out, 0), invalid)
  assert.throws(() => wasm.subtreeCv(new Uint8Array(1), 0, IV, 0, false, out, 1), invalid)
  assert.throws(() => wasm.mergeCvs(new Uint8Array(33), IV, 0, false, out, 0), invalid)
  assert.throws(() => wasm.mergeCvs(new Uint8Array(0), IV, 0, false, out, 0), invalid)
  assert.throws(() => wasm.mergeCvs(new Uint8Array(32), IV, 0, true, out, 0), invalid)
  assert.throws(() => wasm.mergeCvs(new Uint8Array(64), IV, 0, true, out, 1), invalid)
  assert.throws(() => wasm.mergeCvs(new Uint8Array(64), IV.subarray(1), 0, true, out, 0), invalid)
})
