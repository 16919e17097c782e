// Parallel hashing on worker threads == the single-thread engine.
import { spawnSync } from 'node:child_process'
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { createBLAKE3 } from 'hash-wasm'
import { IV, KEYED_HASH } from '../../../../src/lib/b3/constants.ts'
import {
  B3Pool,
  blockCvsParallel,
  hashParallel,
  PARALLEL_MIN_BYTES,
} from '../../../../src/lib/b3/parallel.ts'
import { loadWasmBackend } from '../../../../src/lib/b3/wasm/index.ts'
import { tsBackend } from '../../../../src/lib/b3/ts-backend.ts'
import { isFleekError } from '../../../../src/lib/errors.ts'
import { seededBytes } from '../../../helpers/bytes.ts'

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
const pool = new B3Pool({ threads: 2 })
after(() => pool.close())

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const engine = loadWasmBackend() ?? tsBackend
const singleThread = (input: Uint8Array, key = IV, flags = 0) =>
  toHex(engine.subtreeCv(input, 0, key, flags, true, new Uint8Array(32), 0))
const data = seededBytes(13 << 20, 2026)
const invalid = (err: unknown) => isFleekError(err, 'INVALID_INPUT')

test('hashParallel == single thread on random sizes up to 13 MiB', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.integer({ min: 0, max: 13 << 20 }),
        fc.integer({ min: -2048, max: 2048 }).map((d) => PARALLEL_MIN_BYTES + d),
        fc
          .tuple(fc.integer({ min: 4, max: 12 }), fc.integer({ min: -3, max: 3 }))
          .map(([m, d]) => (m << 20) + d),
      ),
      async (length) => {
        const input = data.subarray(0, length)
        assert.equal(toHex(await pool.hash(input)), singleThread(input), `length ${length}`)
      },
    ),
    { seed: 77, numRuns: 25 },
  )
})

test('the shared pool and a SharedArrayBuffer input (no copy) give the same hash', async () => {
  const input = data.subarray(5, (9 << 20) + 5)
  const shared = new Uint8Array(new SharedArrayBuffer(input.length + 16), 16)
  shared.set(input)
  const expected = singleThread(input)
  assert.equal(toHex(await hashParallel(input)), expected)
  assert.equal(toHex(await hashParallel(shared, { threads: 2 })), expected)
  assert.equal(toHex(await hashParallel(shared, { pool })), expected)
})

test('keyed mode == hash-wasm keyed', async () => {
  const keyBytes = seededBytes(32, 5)
  const view = new DataView(keyBytes.buffer)
  const key = Uint32Array.from({ length: 8 }, (_, i) => view.getUint32(4 * i, true))
  const reference = await createBLAKE3(256, keyBytes)
  const input = data.subarray(0, (6 << 20) + 77)
  reference.init()
  reference.update(input)
  assert.equal(toHex(await pool.hash(input, { key, flags: KEYED_HASH })), reference.digest('hex'))
})

test('concurrent jobs on one pool each get their own answer', async () => {
  const lengths = [5 << 20, (7 << 20) + 1, 100, 11 << 20]
  const answers = await Promise.all(lengths.map((n) => pool.hash(data.subarray(n % 1000, n))))
  assert.deepEqual(
    answers.map(toHex),
    lengths.map((n) => singleThread(data.subarray(n % 1000, n))),
  )
})

test('blockCvsParallel == per-block subtree CVs, and their merge is the hash', async () => {
  for (const [log2, length] of [
    [8, (9 << 20) + 1000],
    [8, 300 << 10],
    [0, (4 << 20) + 5],
    [4, 5 << 20],
    [12, 13 << 20],
  ]) {
    const input = data.subarray(0, length)
    const blockBytes = 1024 << log2
    const cvs = await blockCvsParallel(input, log2, { pool })
    const count = Math.ceil(length / blockBytes)
    assert.equal(cvs.length, 32 * count)
    for (const i of [0, 1, count >> 1, count - 1]) {
      const block = input.subarray(i * blockBytes, (i + 1) * blockBytes)
      const expected = engine.subtreeCv(block, (i * blockBytes) / 1024, IV, 0, false, new Uint8Array(32), 0)
      assert.equal(toHex(cvs.subarray(32 * i, 32 * i + 32)), toHex(expected), `k=${log2} block ${i}`)
    }
    const wasm = loadWasmBackend()
    if (wasm !== undefined)
      assert.equal(toHex(wasm.mergeCvs(cvs, IV, 0, true, new Uint8Array(32), 0)), singleThread(input))
  }
  assert.equal((await blockCvsParallel(new Uint8Array(0), 8, { pool })).length, 0)
})

test('bad arguments are refused with INVALID_INPUT', async () => {
  assert.throws(() => new B3Pool({ threads: 0 }), invalid)
  assert.throws(() => new B3Pool({ threads: 1.5 }), invalid)
  await assert.rejects(pool.blockCvs(data, -1), invalid)
  await assert.rejects(pool.blockCvs(data, 2.5), invalid)
  await assert.rejects(pool.blockCvs(data, 13), invalid)
  await assert.rejects(pool.hash('text' as unknown as Uint8Array), invalid)
  await assert.rejects(pool.hash(data, { key: new Uint32Array(7), flags: 0 }), invalid)
  await assert.rejects(pool.hash(data, { key: IV, flags: 8 }), invalid)
  await assert.rejects(pool.blockCvs(data, 8, { key: IV, flags: 3 }), invalid)
})

test('close() is idempotent and later work is refused', async () => {
  const own = new B3Pool({ threads: 1 })
  assert.equal(toHex(await own.hash(data.subarray(0, 5 << 20))), singleThread(data.subarray(0, 5 << 20)))
  const pending = assert.rejects(own.hash(data.subarray(0, 9 << 20)), (err) =>
    isFleekError(err, 'UNAVAILABLE'),
  )
  await Promise.all([own.close(), own.close()])
  await pending
  await assert.rejects(own.hash(data.subarray(0, 5 << 20)), (err) => isFleekError(err, 'UNAVAILABLE'))
})

test('an idle pool does not keep the process alive', () => {
  // A child hashes on a pool it never closes; it must exit by itself (bounded wait: 60 s).
  const script = `
    import { B3Pool } from './src/lib/b3/parallel.ts'
    const pool = new B3Pool({ threads: 2 })
    const digest = await pool.hash(new Uint8Array(6 << 20).fill(7))
    console.log(Buffer.from(digest).toString('hex'))
  `
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
  })
  assert.equal(child.error, undefined, 'the child exited by itself')
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.stdout.trim(), singleThread(new Uint8Array(6 << 20).fill(7)))
})
