// Fleek's block tree and ProofBuf vectors (../shared/vectors/fleek/derived_block_tree_proofs.json):
// tree arrays and proofs byte for byte; the verifier accepts a stream from every start block and
// rejects a one-bit change anywhere in a proof or a block.
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

import { isFleekError } from '../../../../src/lib/errors.ts'
import { type B3Backend, fromHex, getEngine, hash, toHex } from '../../../../src/lib/b3/index.ts'
import { newProof, resumeProof } from '../../../../src/lib/b3/proof.ts'
import { BlockTree, buildTree, treeFromBlockHashes, TreeBuilder } from '../../../../src/lib/b3/tree.ts'
import { BlockVerifier } from '../../../../src/lib/b3/verifier.ts'

const vectorsPath = fileURLToPath(
  new URL('../../../../../shared/vectors/fleek/derived_block_tree_proofs.json', import.meta.url),
)
const BLOCK = 262144

interface ProofCase {
  block: number
  mode: 'new' | 'resume'
  proof: string
}
interface TreeCase {
  input_len: number
  num_blocks: number
  root: string
  block_hashes: string[]
  tree: string[]
  proofs: ProofCase[]
}

const present = existsSync(vectorsPath)
const cases: TreeCase[] = present
  ? (JSON.parse(readFileSync(vectorsPath, 'utf8')) as { cases: TreeCase[] }).cases
  : []
const skip = present ? false : `Fleek tree vectors not found at ${vectorsPath}`

let patternCache = new Uint8Array(0)
function makeInput(len: number): Uint8Array {
  if (patternCache.length < len) {
    patternCache = new Uint8Array(len)
    for (let i = 0; i < len; i++) patternCache[i] = i % 251
  }
  return patternCache.subarray(0, len)
}

function blockOf(input: Uint8Array, i: number): Uint8Array {
  return input.subarray(i * BLOCK, Math.min(input.length, (i + 1) * BLOCK))
}

/**
 * An engine that remembers the CVs of the (untampered) blocks it has hashed, keyed by buffer, offset,
 * length and counter, so that replaying a stream's prefix costs nothing. Tampered blocks are fresh
 * copies (new buffers): they are always hashed.
 */
function memoEngine(): B3Backend {
  const inner = getEngine()
  const memo = new WeakMap<ArrayBufferLike, Map<string, Uint8Array>>()
  return {
    name: `memo(${inner.name})`,
    subtreeCv(input, counter, key, flags, root, out, outOffset) {
      let byBuffer = memo.get(input.buffer)
      if (byBuffer === undefined) memo.set(input.buffer, (byBuffer = new Map()))
      const id = `${input.byteOffset}:${input.length}:${counter}:${root}:${flags}:${key.join(',')}`
      let cv = byBuffer.get(id)
      if (cv === undefined)
        byBuffer.set(id, (cv = inner.subtreeCv(input, counter, key, flags, root, new Uint8Array(32), 0)))
      out.set(cv, outOffset)
      return out
    },
  }
}

/** Streams blocks [start, n) through a fresh verifier; returns the verified bytes' total and the verifier. */
function streamFrom(tree: BlockTree, input: Uint8Array, start: number, engine: B3Backend): BlockVerifier {
  const v = new BlockVerifier(tree.root, { startBlock: start, engine })
  let bytes = 0
  for (let i = start; i < tree.blockCount; i++) {
    assert.equal(v.contentLength, undefined, 'length must stay hidden until the last block')
    assert.equal(v.done, false)
    const out = v.push(i === start ? newProof(tree, i) : resumeProof(tree, i), blockOf(input, i))
    bytes += out.length
  }
  assert.equal(v.done, true)
  assert.equal(v.contentLength, input.length)
  assert.equal(bytes, input.length - Math.min(input.length, start * BLOCK))
  return v
}

function expectIntegrity(fn: () => void, message: string): void {
  assert.throws(fn, (err: unknown) => isFleekError(err, 'INTEGRITY'), message)
}

test('block trees and proofs match the vectors byte for byte', { skip }, () => {
  assert.equal(cases.length, 14)
  for (const c of cases) {
    const input = makeInput(c.input_len)
    const tree = buildTree(input)
    const name = `input_len ${c.input_len}`
    assert.equal(tree.blockCount, c.num_blocks, name)
    assert.deepEqual(tree.toHexArray(), c.tree, name)
    assert.equal(toHex(tree.root), c.root, name)
    assert.equal(toHex(hash(input)), c.root, name)
    c.block_hashes.forEach((h, i) => assert.equal(toHex(tree.blockHash(i)), h, `${name} block ${i}`))
    for (const p of c.proofs) {
      const got = p.mode === 'new' ? newProof(tree, p.block) : resumeProof(tree, p.block)
      assert.equal(toHex(got), p.proof, `${name} ${p.mode} proof of block ${p.block}`)
    }
    // The same tree from streaming slices that straddle block boundaries, and from the leaves alone.
    const builder = new TreeBuilder()
    for (let i = 0; i < input.length; i += 100_003) builder.update(input.subarray(i, i + 100_003))
    assert.deepEqual(builder.finish().toHexArray(), c.tree, `${name} (streamed)`)
    const leaves = c.block_hashes.map((h) => fromHex(h))
    assert.deepEqual(treeFromBlockHashes(leaves).toHexArray(), c.tree, `${name} (from leaves)`)
  }
})

test('the verifier accepts a stream from every start block', { skip }, () => {
  const engine = memoEngine()
  for (const c of cases) {
    const input = makeInput(c.input_len)
    const tree = buildTree(input)
    for (let start = 0; start < tree.blockCount; start++) {
      const v = streamFrom(tree, input, start, engine)
      if (start === 0) assert.deepEqual(treeFromBlockHashes(v.blockHashes).toHexArray(), c.tree)
    }
  }
})

/**
 * Bit positions to flip in a block: in full, all bits of its first and last 2 bytes and 16 spread in
 * between; lightly, its first, middle and last bit.
 */
function blockBits(len: number, full: boolean): number[] {
  const bits = new Set<number>()
  if (len === 0) return []
  if (!full) return [0, (len * 8) >> 1, len * 8 - 1]
  for (let b = 0; b < Math.min(len, 2) * 8; b++) bits.add(b)
  for (let b = Math.max(0, len - 2) * 8; b < len * 8; b++) bits.add(b)
  for (let j = 1; j < 16; j++) bits.add(Math.floor((len * 8 * j) / 16))
  return [...bits]
}

test('the verifier rejects a one-bit change anywhere in a proof or a block', { skip }, () => {
  const engine = memoEngine()
  for (const c of cases.filter((x) => x.num_blocks <= 17)) {
    const input = makeInput(c.input_len)
    const tree = buildTree(input)
    const prefixProofs = Array.from({ length: tree.blockCount }, (_, i) => resumeProof(tree, i))
    const prefixBlocks = Array.from({ length: tree.blockCount }, (_, i) => blockOf(input, i))
    // Each block is attacked in the stream that starts at it (new proof) and in the one from block 0
    // (resume proof); streams from every other start are checked for acceptance above.
    for (let start = 0; start < tree.blockCount; start++) {
      for (let target = start; target < tree.blockCount; target++) {
        if (start !== target && start !== 0) continue
        const proof = target === start ? newProof(tree, target) : resumeProof(tree, target)
        const block = blockOf(input, target)
        /** Runs the stream from `start` with `proof`/`block` replaced at `target`; must fail there. */
        const run = (badProof: Uint8Array, badBlock: Uint8Array): void => {
          const v = new BlockVerifier(tree.root, { startBlock: start, engine })
          for (let i = start; i < target; i++) v.push(prefixProofs[i], prefixBlocks[i])
          v.push(badProof, badBlock)
        }
        const where = `${c.input_len} B, block ${target} of a stream from ${start}`
        for (let bit = 0; bit < proof.length * 8; bit++) {
          const bad = proof.slice()
          bad[bit >> 3] ^= 1 << (bit & 7)
          expectIntegrity(() => run(bad, block), `${where}: proof bit ${bit}`)
        }
        if (proof.length > 0) expectIntegrity(() => run(new Uint8Array(0), block), `${where}: proof missing`)
        for (const bit of blockBits(block.length, start === target)) {
          const bad = block.slice()
          bad[bit >> 3] ^= 1 << (bit & 7)
          expectIntegrity(() => run(proof, bad), `${where}: block bit ${bit}`)
        }
        if (block.length > 0)
          expectIntegrity(() => run(proof, block.slice(0, -1)), `${where}: block truncated`)
        const extended = new Uint8Array(block.length + 1)
        extended.set(block)
        expectIntegrity(() => run(proof, extended), `${where}: block extended`)
      }
    }
  }
})

test('multi-segment proofs (130 blocks): every bit of a new proof is checked', { skip }, () => {
  const c = cases.find((x) => x.num_blocks === 130) as TreeCase
  const tree = buildTree(makeInput(c.input_len))
  for (let start = 0; start < tree.blockCount; start += 7) {
    const proof = newProof(tree, start)
    assert.ok(proof.length > 257, 'a multi-segment proof')
    for (let bit = 0; bit < proof.length * 8; bit++) {
      const bad = proof.slice()
      bad[bit >> 3] ^= 1 << (bit & 7)
      expectIntegrity(
        () => new BlockVerifier(tree.root, { startBlock: start }).feedProof(bad),
        `proof of block ${start}, bit ${bit}`,
      )
    }
  }
})

test('an INTEGRITY error names the block and poisons the verifier', { skip }, () => {
  const input = makeInput(3 * BLOCK)
  const tree = buildTree(input)
  const v = new BlockVerifier(tree.root)
  v.push(newProof(tree, 0), blockOf(input, 0))
  const bad = blockOf(input, 1).slice()
  bad[5] ^= 0x10
  assert.throws(
    () => v.push(resumeProof(tree, 1), bad),
    (err: unknown) =>
      isFleekError(err, 'INTEGRITY') && /block 1\b/.test(err.message) && err.details?.block === 1,
  )
  assert.throws(
    () => v.push(resumeProof(tree, 1), blockOf(input, 1)),
    (err: unknown) => isFleekError(err, 'INTEGRITY'),
  )
})
