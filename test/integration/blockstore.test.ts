// The blockstore with the real b3 library and lmdb: what it serves for the network verifies with the
// b3 verifier from the hash alone, and its trees equal b3's for any size around block boundaries.
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import fc from 'fast-check'

import { hash, toHex } from '../../src/lib/b3/index.ts'
import { buildTree } from '../../src/lib/b3/tree.ts'
import { verifyBlockStream } from '../../src/lib/b3/verifier.ts'
import { isFleekError } from '../../src/lib/errors.ts'
import { Blockstore } from '../../src/node/blockstore/blockstore.ts'
import { BLOCK_BYTES } from '../../src/node/blockstore/tree-file.ts'
import { scratchDir } from '../helpers/cli.ts'
import { seededBytes } from '../helpers/bytes.ts'

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return Buffer.concat(parts)
}

test('blocks with proofs from any start block verify against the hash alone', async (t) => {
  const store = Blockstore.open({ dir: join(scratchDir(t), 'bs'), maxSizeBytes: 0 })
  t.after(() => store.close())
  const data = seededBytes(7 * BLOCK_BYTES + 1234, 42)
  const { hash: hex } = await store.put([data])
  const root = hash(data)
  for (let start = 0; start < 8; start++) {
    const frames = (async function* () {
      for await (const b of store.readBlocks(hex, { startBlock: start }))
        yield { proof: b.proof, block: b.bytes }
    })()
    const got = await collect(verifyBlockStream(root, frames, { startBlock: start }))
    assert.ok(got.equals(Buffer.from(data.subarray(start * BLOCK_BYTES))), `stream from block ${start}`)
  }
  // The stored tree is b3's tree of the same bytes.
  const tree = await store.readTree(hex)
  assert.ok(Buffer.from(tree.nodes).equals(Buffer.from(buildTree(data).nodes)))
})

test('a proof stream for bytes corrupted on disk never reaches the peer', async (t) => {
  const store = Blockstore.open({ dir: join(scratchDir(t), 'bs'), maxSizeBytes: 0 })
  t.after(() => store.close())
  const data = seededBytes(3 * BLOCK_BYTES, 7)
  const { hash: hex } = await store.put([data])
  const path = join(store.dir, 'blobs', hex.slice(0, 2), hex)
  const damaged = Buffer.from(readFileSync(path))
  damaged[BLOCK_BYTES + 5] ^= 0x40
  writeFileSync(path, damaged)
  const sent: number[] = []
  await assert.rejects(
    (async () => {
      for await (const b of store.readBlocks(hex)) sent.push(b.index)
    })(),
    (err) => isFleekError(err, 'INTEGRITY') && /block 1/.test(err.message),
  )
  assert.deepEqual(sent, [0])
})

test('put equals the BLAKE3 hash for sizes around block boundaries, in random slicings (property)', async (t) => {
  const store = Blockstore.open({ dir: join(scratchDir(t), 'bs'), maxSizeBytes: 0 })
  t.after(() => store.close())
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: 4 }),
      fc.integer({ min: -1025, max: 1025 }),
      fc.integer({ min: 1, max: 300_000 }),
      fc.integer({ min: 1, max: 0x7fffffff }),
      async (blocks, delta, sliceBytes, seed) => {
        const size = Math.max(0, blocks * BLOCK_BYTES + delta)
        const data = seededBytes(size, seed)
        const pieces = []
        for (let i = 0; i < size; i += sliceBytes) pieces.push(data.subarray(i, i + sliceBytes))
        const put = await store.put(pieces)
        assert.equal(put.hash, toHex(hash(data)))
        assert.ok((await collect(store.read(put.hash))).equals(Buffer.from(data)))
        await store.remove(put.hash)
      },
    ),
    { numRuns: 25, seed: 20261126 },
  )
})
