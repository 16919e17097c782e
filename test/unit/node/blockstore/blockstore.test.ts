import assert from 'node:assert/strict'
import { existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { hash, toHex } from '../../../../src/lib/b3/index.ts'
import { isFleekError } from '../../../../src/lib/errors.ts'
import { Blockstore, type BlockstoreDeps } from '../../../../src/node/blockstore/blockstore.ts'
import { createFileWriter } from '../../../../src/node/blockstore/file-writer.ts'
import { BLOCK_BYTES } from '../../../../src/node/blockstore/tree-file.ts'
import { scratchDir } from '../../../helpers/cli.ts'
import { seededBytes } from '../../../helpers/bytes.ts'

function* slices(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size)
  if (bytes.length === 0) yield bytes
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return Buffer.concat(parts)
}

function openStore(
  t: Parameters<typeof scratchDir>[0],
  maxSizeBytes = 0,
  deps: BlockstoreDeps = {},
): Blockstore {
  const store = Blockstore.open({ dir: join(scratchDir(t, 'fleek-bs-'), 'bs'), maxSizeBytes }, deps)
  t.after(() => store.close())
  return store
}

const blobFile = (store: Blockstore, hex: string): string => join(store.dir, 'blobs', hex.slice(0, 2), hex)

test('round trips at sizes around chunk and block boundaries, in any slicing', async (t) => {
  const store = openStore(t)
  const sizes = [
    0,
    1,
    1023,
    1024,
    1025,
    BLOCK_BYTES - 1,
    BLOCK_BYTES,
    BLOCK_BYTES + 1,
    2 * BLOCK_BYTES,
    3 * BLOCK_BYTES + 5,
  ]
  for (const [n, size] of sizes.entries()) {
    const data = seededBytes(size, n + 1)
    const put = await store.put(slices(data, 7777 + n))
    assert.equal(put.hash, toHex(hash(data)), `hash of ${size} bytes`)
    assert.equal(put.sizeBytes, size)
    assert.equal(put.blocks, Math.max(1, Math.ceil(size / BLOCK_BYTES)))
    assert.equal(put.existed, false)
    assert.ok(store.has(put.hash))
    assert.deepEqual(await collect(store.read(put.hash)), Buffer.from(data), `read back ${size} bytes`)
    assert.deepEqual(await store.verify(put.hash), { hash: put.hash, sizeBytes: size, blocks: put.blocks })
  }
  assert.equal(store.list().length, sizes.length)
  assert.equal(
    store.sizeBytes(),
    sizes.reduce((a, b) => a + b, 0),
  )
})

test('a second put of the same bytes writes nothing new', async (t) => {
  const store = openStore(t)
  const data = seededBytes(5000)
  const first = await store.put([data])
  const again = await store.put([data.subarray(0, 10), data.subarray(10)])
  assert.equal(again.hash, first.hash)
  assert.equal(again.existed, true)
  assert.equal(store.list().length, 1)
  assert.deepEqual(readdirSync(join(store.dir, 'tmp')), [])
})

test('blocks come out in ranges, each checked', async (t) => {
  const store = openStore(t)
  const data = seededBytes(5 * BLOCK_BYTES + 100)
  const { hash: hex } = await store.put([data])
  const got = []
  for await (const block of store.readBlocks(hex, { startBlock: 2, endBlock: 4 })) got.push(block)
  assert.deepEqual(
    got.map((b) => b.index),
    [2, 3],
  )
  assert.deepEqual(Buffer.from(got[0].bytes), Buffer.from(data.subarray(2 * BLOCK_BYTES, 3 * BLOCK_BYTES)))
  const tooFar = store.readBlocks(hex, { startBlock: 7 })
  await assert.rejects(tooFar.next(), (err) => isFleekError(err, 'INVALID_INPUT'))
})

test('an expected hash that does not match stores nothing (INTEGRITY)', async (t) => {
  const store = openStore(t)
  const data = seededBytes(3 * BLOCK_BYTES)
  const wrong = toHex(hash(seededBytes(10)))
  await assert.rejects(store.put([data], { expectedHash: wrong }), (err) => {
    assert.ok(isFleekError(err, 'INTEGRITY'))
    assert.match(err.message, /does not match the expected hash/)
    return true
  })
  assert.equal(store.list().length, 0)
  assert.equal(store.has(hash(data)), false)
  assert.deepEqual(readdirSync(join(store.dir, 'tmp')), [])
  const ok = await store.put([data], { expectedHash: hash(data) })
  assert.equal(ok.hash, toHex(hash(data)))
})

test('unknown hashes are NOT_FOUND and malformed ones INVALID_INPUT', async (t) => {
  const store = openStore(t)
  const absent = toHex(hash(seededBytes(1)))
  assert.equal(store.has(absent), false)
  assert.equal(store.stat(absent), undefined)
  await assert.rejects(store.remove(absent), (err) => isFleekError(err, 'NOT_FOUND'))
  assert.throws(
    () => store.pin(absent),
    (err) => isFleekError(err, 'NOT_FOUND'),
  )
  await assert.rejects(store.read(absent).next(), (err) => isFleekError(err, 'NOT_FOUND'))
  assert.throws(
    () => store.has('abc'),
    (err) => isFleekError(err, 'INVALID_INPUT'),
  )
})

test('a leftover temporary file is never visible and is removed at open', async (t) => {
  const dir = join(scratchDir(t, 'fleek-bs-'), 'bs')
  const first = Blockstore.open({ dir, maxSizeBytes: 0 })
  await first.close()
  // A dead process's half-written put (pid 2^31−2 is never alive here) and a live one's.
  const dead = join(dir, 'tmp', '2147483646-0123456789ab.data')
  const live = join(dir, 'tmp', `${process.pid}-0123456789ab.data`)
  writeFileSync(dead, seededBytes(1000))
  writeFileSync(live, seededBytes(1000))
  const store = Blockstore.open({ dir, maxSizeBytes: 0 })
  t.after(() => store.close())
  assert.equal(existsSync(dead), false)
  assert.equal(existsSync(live), true, 'a write in progress in a live process is left alone')
  assert.equal(store.list().length, 0)
  assert.equal(store.has(hash(seededBytes(1000))), false)
})

test('a record whose bytes never arrived (crash before the rename) is not a blob', async (t) => {
  const store = openStore(t)
  const { hash: hex } = await store.put([seededBytes(2000)])
  // Simulate the crash window: the record committed, the bytes file not renamed in.
  rmSync(blobFile(store, hex))
  assert.equal(store.has(hex), false)
  assert.deepEqual(store.list(), [])
})

test('corruption on disk is caught at the block, before any of its bytes are handed out', async (t) => {
  const store = openStore(t)
  const data = seededBytes(4 * BLOCK_BYTES + 10)
  const { hash: hex } = await store.put([data])
  const path = blobFile(store, hex)
  const damaged = Buffer.from(readFileSync(path))
  damaged[2 * BLOCK_BYTES + 77] ^= 0x01
  writeFileSync(path, damaged)

  const seen: number[] = []
  await assert.rejects(
    (async () => {
      for await (const block of store.readBlocks(hex)) seen.push(block.index)
    })(),
    (err) => {
      assert.ok(isFleekError(err, 'INTEGRITY'))
      assert.match(err.message, /block 2 does not match/)
      assert.equal(err.details?.block, 2)
      return true
    },
  )
  assert.deepEqual(seen, [0, 1], 'blocks before the bad one only')
  await assert.rejects(store.verify(hex), /block 2/)
})

test('truncation and extra bytes on disk are INTEGRITY', async (t) => {
  const store = openStore(t)
  const data = seededBytes(3 * BLOCK_BYTES)
  const { hash: hex } = await store.put([data])
  truncateSync(blobFile(store, hex), 2 * BLOCK_BYTES + 5)
  await assert.rejects(store.verify(hex), (err) => {
    assert.ok(isFleekError(err, 'INTEGRITY'))
    assert.match(err.message, /truncated on disk: block 2/)
    return true
  })
  writeFileSync(blobFile(store, hex), Buffer.concat([data, Buffer.from('x')]))
  await assert.rejects(
    store.verify(hex),
    (err) => isFleekError(err, 'INTEGRITY') && /too many/.test(err.message),
  )
})

test('a damaged tree file is INTEGRITY', async (t) => {
  const store = openStore(t)
  const { hash: hex } = await store.put([seededBytes(3 * BLOCK_BYTES)])
  const treePath = `${blobFile(store, hex)}.tree`
  const tree = Buffer.from(readFileSync(treePath))
  tree[16 + 32 + 3] ^= 0x80 // inside node 1 (leaf 1)
  writeFileSync(treePath, tree)
  await assert.rejects(
    store.verify(hex),
    (err) => isFleekError(err, 'INTEGRITY') && /block tree/.test(err.message),
  )
})

test('pins, unpins and the pinned-removal refusal', async (t) => {
  const store = openStore(t)
  const { hash: hex } = await store.put([seededBytes(100)])
  assert.equal(store.pin(hex).pinned, true)
  assert.equal(store.pin(hex).pinned, true, 'idempotent')
  await assert.rejects(store.remove(hex), (err) => isFleekError(err, 'REJECTED'))
  assert.equal(store.unpin(hex).pinned, false)
  await store.remove(hex)
  assert.equal(store.has(hex), false)
  assert.equal(existsSync(blobFile(store, hex)), false)
  assert.equal(existsSync(`${blobFile(store, hex)}.tree`), false)
  const again = await store.put([seededBytes(100)])
  store.pin(again.hash)
  await store.remove(again.hash, { force: true })
  assert.equal(store.has(again.hash), false)
})

test('the size budget evicts least-recently-used unpinned blobs, never pinned ones', async (t) => {
  let now = 1000
  const store = openStore(t, 3000, { nowMs: () => now++ })
  const a = await store.put([seededBytes(1000, 1)])
  const b = await store.put([seededBytes(1000, 2)])
  const c = await store.put([seededBytes(1000, 3)])
  store.pin(a.hash) // oldest, but pinned
  await collect(store.read(b.hash)) // b is now more recent than c
  assert.equal(store.sizeBytes(), 3000)
  const d = await store.put([seededBytes(1000, 4)])
  assert.deepEqual(d.evicted, [c.hash])
  assert.deepEqual(
    store
      .list()
      .map((x) => x.hash)
      .sort(),
    [a.hash, b.hash, d.hash].sort(),
  )
  assert.equal(store.sizeBytes(), 3000)
  // A blob bigger than the budget alone: everything unpinned but it goes; the pin stays.
  const big = await store.put([seededBytes(5000, 5)])
  assert.deepEqual(new Set(big.evicted), new Set([b.hash, d.hash]))
  assert.deepEqual(
    store
      .list()
      .map((x) => x.hash)
      .sort(),
    [a.hash, big.hash].sort(),
  )
  assert.equal(store.sizeBytes(), 6000)
})

test('a full disk during put leaves no partial blob (NO_SPACE)', async (t) => {
  let budget = 300_000
  const failing: BlockstoreDeps['createWriter'] = async (path) => {
    const real = await createFileWriter(path)
    return {
      ...real,
      async write(bytes) {
        if (bytes.length > budget) {
          await real.write(bytes.subarray(0, budget))
          budget = 0
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
        }
        budget -= bytes.length
        await real.write(bytes)
      },
    }
  }
  const store = openStore(t, 0, { createWriter: failing })
  const data = seededBytes(4 * BLOCK_BYTES)
  await assert.rejects(store.put(slices(data, 65536)), (err) => {
    assert.ok(isFleekError(err, 'NO_SPACE'), String(err))
    assert.match(err.message, /no space left on device/)
    return true
  })
  assert.equal(store.has(hash(data)), false)
  assert.deepEqual(store.list(), [])
  assert.deepEqual(readdirSync(join(store.dir, 'tmp')), [])
  assert.deepEqual(readdirSync(join(store.dir, 'blobs')), [])
})

test('a failing source stores nothing', async (t) => {
  const store = openStore(t)
  async function* broken(): AsyncGenerator<Uint8Array> {
    yield seededBytes(BLOCK_BYTES + 3)
    throw Object.assign(new Error('EACCES: permission denied, read'), { code: 'EACCES' })
  }
  await assert.rejects(store.put(broken()), (err) => isFleekError(err, 'IO'))
  assert.deepEqual(store.list(), [])
  assert.deepEqual(readdirSync(join(store.dir, 'tmp')), [])
})

test('reused read buffers still hand out every block right, across many read groups', async (t) => {
  const store = openStore(t)
  const data = seededBytes(40 * BLOCK_BYTES + 999, 11)
  const { hash: hex } = await store.put(slices(data, 1 << 20))
  const copies: Buffer[] = []
  const views: Uint8Array[] = []
  for await (const block of store.readBlocks(hex, { reuseBuffers: true, startBlock: 3 })) {
    copies.push(Buffer.from(block.bytes)) // copied before asking for the next block, as required
    views.push(block.bytes)
  }
  assert.ok(Buffer.concat(copies).equals(Buffer.from(data.subarray(3 * BLOCK_BYTES))))
  // The views were overwritten by later groups: the buffers really are reused.
  assert.ok(!Buffer.concat(views).equals(Buffer.from(data.subarray(3 * BLOCK_BYTES))))
  const fresh = await collect(store.read(hex))
  assert.ok(Buffer.from(fresh).equals(Buffer.from(data)))
})
