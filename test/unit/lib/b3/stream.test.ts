// Verified block streams: whole blobs and block ranges through verifyBlockStream, with k = 2 blocks
// (4 KiB) so that many-block trees stay small; a stream cut short or overlong is rejected.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { isFleekError } from '../../../../src/lib/errors.ts'
import {
  type BlockFrame,
  BlockVerifier,
  buildTree,
  newProof,
  proofFrames,
  resumeProof,
  verifyBlockStream,
} from '../../../../src/lib/b3/index.ts'

const K = 2
const BLOCK = 4096

function makeInput(len: number): Uint8Array {
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = (i * 131 + 7) % 256
  return out
}

function framesOf(input: Uint8Array, start: number, end: number): BlockFrame[] {
  const tree = buildTree(input, K)
  return [...proofFrames(tree, start, end)].map(({ block, proof }) => ({
    proof,
    block: input.subarray(block * BLOCK, Math.min(input.length, (block + 1) * BLOCK)),
  }))
}

async function collect(gen: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of gen) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

test('every block range of a 37-block blob streams and verifies to exactly its bytes', async () => {
  const input = makeInput(36 * BLOCK + 123)
  const tree = buildTree(input, K)
  assert.equal(tree.blockCount, 37)
  for (let start = 0; start < 37; start++) {
    for (const end of new Set([start + 1, Math.min(37, start + 5), 37])) {
      const got = await collect(
        verifyBlockStream(tree.root, framesOf(input, start, end), {
          startBlock: start,
          endBlock: end,
          log2ChunksPerBlock: K,
        }),
      )
      assert.deepEqual(
        got,
        input.subarray(start * BLOCK, Math.min(input.length, end * BLOCK)),
        `${start}…${end}`,
      )
    }
  }
})

test('a stream cut short, or with a frame too many, is rejected', async () => {
  const input = makeInput(5 * BLOCK)
  const tree = buildTree(input, K)
  const frames = framesOf(input, 0, 5)
  await assert.rejects(
    collect(verifyBlockStream(tree.root, frames.slice(0, 4), { log2ChunksPerBlock: K })),
    (err: unknown) => isFleekError(err, 'INTEGRITY') && /before block 4/.test(err.message),
  )
  await assert.rejects(
    collect(verifyBlockStream(tree.root, [...frames, frames[4]], { log2ChunksPerBlock: K })),
    (err: unknown) => isFleekError(err, 'INTEGRITY'),
  )
  await assert.rejects(
    collect(
      verifyBlockStream(tree.root, framesOf(input, 1, 3), {
        startBlock: 1,
        endBlock: 2,
        log2ChunksPerBlock: K,
      }),
    ),
    (err: unknown) => isFleekError(err, 'INTEGRITY') && /after block 1/.test(err.message),
  )
})

test('the length stays hidden until the last block, and a short non-final block is refused', () => {
  const input = makeInput(3 * BLOCK + 10)
  const tree = buildTree(input, K)
  const v = new BlockVerifier(tree.root, { log2ChunksPerBlock: K })
  for (let i = 0; i < 4; i++) {
    assert.equal(v.contentLength, undefined)
    v.push(i === 0 ? newProof(tree, 0) : resumeProof(tree, i), input.subarray(i * BLOCK, (i + 1) * BLOCK))
  }
  assert.equal(v.contentLength, input.length)
  assert.throws(() => v.push(new Uint8Array(0), new Uint8Array(1)), /complete/)
  // A block offered from the middle of a stream without its proof.
  const w = new BlockVerifier(tree.root, { startBlock: 2, log2ChunksPerBlock: K })
  assert.throws(
    () => w.verifyBlock(input.subarray(2 * BLOCK, 3 * BLOCK)),
    (err: unknown) => isFleekError(err, 'INTEGRITY') && /block 2/.test(err.message),
  )
  assert.deepEqual(resumeProof(tree, 0), newProof(tree, 0))
})

test('bad arguments are INVALID_INPUT', () => {
  const tree = buildTree(makeInput(10), K)
  const invalid = (err: unknown): boolean => isFleekError(err, 'INVALID_INPUT')
  assert.throws(() => newProof(tree, 1), invalid)
  assert.throws(() => buildTree(new Uint8Array(1), 9), invalid)
  assert.throws(() => new BlockVerifier(new Uint8Array(31)), invalid)
  assert.throws(() => new BlockVerifier(tree.root, { startBlock: -1 }), invalid)
})
