import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { isFleekError } from '../../../../src/lib/errors.ts'
import {
  EMPTY_ROOT,
  hashValue,
  MemoryNodeStore,
  SparseMerkleTree,
  verifyProof,
} from '../../../../src/lib/merkle/index.ts'
import { hashInternal, hashLeaf } from '../../../../src/lib/merkle/hash.ts'
import { makeKey, makeValue, referenceRoot, toHex } from './helpers.ts'

function buildTree(n: number, store = new MemoryNodeStore()): SparseMerkleTree {
  const tree = new SparseMerkleTree(store)
  for (let i = 0; i < n; i++) tree.update(makeKey(i), makeValue(i))
  return tree
}

describe('SparseMerkleTree', () => {
  it('starts empty with the zero root and finds nothing', () => {
    const tree = new SparseMerkleTree(new MemoryNodeStore())
    assert.deepEqual(tree.root, EMPTY_ROOT)
    assert.equal(toHex(EMPTY_ROOT), '00'.repeat(32))
    assert.equal(tree.get(makeKey(1)), undefined)
    assert.ok(verifyProof(tree.root, makeKey(1), undefined, tree.prove(makeKey(1))))
  })

  it('golden root of a fixed small set (a format change must show here)', () => {
    const tree = buildTree(8)
    assert.equal(toHex(tree.root), GOLDEN_ROOT_8)
    const one = new SparseMerkleTree(new MemoryNodeStore())
    one.update(makeKey(0), makeValue(0))
    assert.equal(toHex(one.root), GOLDEN_ROOT_1)
  })

  it('agrees with a naive second implementation of the root', () => {
    for (const n of [0, 1, 2, 3, 17, 200]) {
      const entries: Array<[Uint8Array, Uint8Array]> = []
      for (let i = 0; i < n; i++) entries.push([makeKey(i), makeValue(i)])
      assert.equal(toHex(buildTree(n).root), toHex(referenceRoot(entries)), `n = ${n}`)
    }
  })

  it('gets the BLAKE3 hash of the stored value, and undefined for absent keys', () => {
    const tree = buildTree(100)
    for (let i = 0; i < 100; i++) assert.deepEqual(tree.get(makeKey(i)), hashValue(makeValue(i)))
    for (let i = 100; i < 150; i++) assert.equal(tree.get(makeKey(i)), undefined)
    tree.update(makeKey(7), makeValue(7, 1))
    assert.deepEqual(tree.get(makeKey(7)), hashValue(makeValue(7, 1)))
    tree.update(makeKey(7), undefined)
    assert.equal(tree.get(makeKey(7)), undefined)
  })

  it('proves membership and non-membership, and rejects a wrong root, key or value', () => {
    const tree = buildTree(300)
    const root = tree.root
    const otherRoot = buildTree(299).root
    for (let i = 0; i < 300; i += 7) {
      const key = makeKey(i)
      const proof = tree.prove(key)
      assert.ok(verifyProof(root, key, makeValue(i), proof), `member ${i}`)
      assert.equal(verifyProof(root, key, makeValue(i, 1), proof), false, 'wrong value')
      assert.equal(verifyProof(root, key, undefined, proof), false, 'claims absence of a member')
      assert.equal(verifyProof(root, makeKey(i + 1), makeValue(i), proof), false, 'wrong key')
      assert.equal(verifyProof(otherRoot, key, makeValue(i), proof), false, 'wrong root')
    }
    let sawLeafEnd = false
    let sawEmptyEnd = false
    for (let i = 300; i < 400; i++) {
      const key = makeKey(i)
      const proof = tree.prove(key)
      if (proof.leaf) sawLeafEnd = true
      else sawEmptyEnd = true
      assert.ok(verifyProof(root, key, undefined, proof), `non-member ${i}`)
      assert.equal(verifyProof(root, key, makeValue(i), proof), false, 'claims membership of an absent key')
      assert.equal(verifyProof(EMPTY_ROOT, key, undefined, proof), false, 'wrong root')
    }
    assert.ok(sawLeafEnd && sawEmptyEnd, 'both kinds of non-membership proof were exercised')
  })

  it('rejects a non-membership proof whose leaf does not share the key path', () => {
    // A root with a leaf placed off its key's path (only a forger makes one): key 1 sits on the left
    // although its first bit is 1. Hashing alone would accept it as proof that a left key is absent.
    let member = makeKey(0)
    for (let i = 1; member[0] >> 7 === 0; i++) member = makeKey(i)
    let absent = makeKey(1000)
    for (let i = 1001; absent[0] >> 7 === 1; i++) absent = makeKey(i)
    const valueHash = hashValue(makeValue(1))
    const root = hashInternal(hashLeaf(member, valueHash), EMPTY_ROOT)
    const proof = { siblings: [EMPTY_ROOT], leaf: { key: member, valueHash } }
    assert.equal(verifyProof(root, absent, undefined, proof), false)
    // The same shape with the leaf on its own side does verify, for a key that shares its first bit.
    const honestRoot = hashInternal(EMPTY_ROOT, hashLeaf(member, valueHash))
    let sharing = makeKey(2000)
    for (let i = 2001; sharing[0] >> 7 === 0; i++) sharing = makeKey(i)
    assert.ok(verifyProof(honestRoot, sharing, undefined, proof))
  })

  it('gives the same root whatever the order of inserts and deletes; deleting all gives the empty root', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 400 }), { minLength: 0, maxLength: 60 }),
        fc.uniqueArray(fc.integer({ min: 0, max: 400 }), { maxLength: 30 }),
        fc.integer(),
        (present, deleted, shuffleSeed) => {
          const a = new SparseMerkleTree(new MemoryNodeStore())
          for (const i of present) a.update(makeKey(i), makeValue(i))
          for (const i of deleted) a.update(makeKey(i), undefined)
          // The other order: deletions first (of keys that may be absent), inserts shuffled, deletions again.
          const b = new SparseMerkleTree(new MemoryNodeStore())
          for (const i of deleted) b.update(makeKey(i), undefined)
          const shuffled = shuffle(present, shuffleSeed)
          for (const i of shuffled) b.update(makeKey(i), makeValue(i, 9))
          for (const i of shuffled) b.update(makeKey(i), makeValue(i))
          for (const i of deleted) b.update(makeKey(i), undefined)
          assert.equal(toHex(a.root), toHex(b.root))
          const remaining = present.filter((i) => !deleted.includes(i))
          assert.equal(toHex(a.root), toHex(referenceRoot(remaining.map((i) => [makeKey(i), makeValue(i)]))))
          for (const i of shuffle(remaining, shuffleSeed + 1)) b.update(makeKey(i), undefined)
          assert.deepEqual(b.root, EMPTY_ROOT)
        },
      ),
      { seed: 20260101, numRuns: 60 },
    )
  })

  it('updateMany gives the same root as the same entries one by one', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 150 }), fc.option(fc.integer({ min: 0, max: 3 }))), {
          maxLength: 120,
        }),
        fc.integer({ min: 0, max: 80 }),
        (ops, base) => {
          const entries: Array<[Uint8Array, Uint8Array | undefined]> = ops.map(([i, v]) => [
            makeKey(i),
            v === null ? undefined : makeValue(i, v),
          ])
          const one = buildTree(base)
          for (const [k, v] of entries) one.update(k, v)
          const batch = buildTree(base)
          const returned = batch.updateMany(entries)
          assert.equal(toHex(batch.root), toHex(one.root))
          assert.deepEqual(returned, batch.root)
        },
      ),
      { seed: 7, numRuns: 80 },
    )
  })

  it('keeps old versions readable and reopens a tree from its root', () => {
    const store = new MemoryNodeStore()
    const tree = buildTree(40, store)
    const before = tree.root
    tree.update(makeKey(1), makeValue(1, 2))
    tree.update(makeKey(2), undefined)
    const old = new SparseMerkleTree(store, before)
    assert.deepEqual(old.get(makeKey(1)), hashValue(makeValue(1)))
    assert.deepEqual(old.get(makeKey(2)), hashValue(makeValue(2)))
    const reopened = new SparseMerkleTree(store, tree.root)
    assert.equal(reopened.get(makeKey(2)), undefined)
    assert.ok(verifyProof(tree.root, makeKey(1), makeValue(1, 2), reopened.prove(makeKey(1))))
  })

  it('does not mutate its inputs nor hand out its internal buffers', () => {
    const tree = buildTree(5)
    const key = makeKey(3)
    const keyCopy = key.slice()
    tree.update(key, makeValue(3, 1))
    assert.deepEqual(key, keyCopy)
    const root = tree.root
    root[0] ^= 1
    assert.notDeepEqual(tree.root, root)
    const got = tree.get(key)!
    got[0] ^= 1
    assert.deepEqual(tree.get(key), hashValue(makeValue(3, 1)))
  })

  it('rejects bad keys, values and roots with INVALID_INPUT, and an unknown root with NOT_FOUND', () => {
    const store = new MemoryNodeStore()
    const tree = new SparseMerkleTree(store)
    const invalid = (err: unknown) => isFleekError(err, 'INVALID_INPUT')
    assert.throws(() => tree.update(new Uint8Array(31), makeValue(1)), invalid)
    assert.throws(() => tree.get(new Uint8Array(33)), invalid)
    assert.throws(() => tree.prove(new Uint8Array(0)), invalid)
    assert.throws(() => tree.update(makeKey(1), 'x' as unknown as Uint8Array), invalid)
    assert.throws(() => new SparseMerkleTree(store, new Uint8Array(16)), invalid)
    assert.throws(
      () => new SparseMerkleTree(store, makeKey(1)),
      (err: unknown) => isFleekError(err, 'NOT_FOUND'),
    )
    assert.deepEqual(tree.root, EMPTY_ROOT, 'a rejected update changes nothing')
  })

  it('reports a damaged store as INTEGRITY', () => {
    const store = new MemoryNodeStore()
    const tree = buildTree(10, store)
    const broken = {
      get: (h: Uint8Array) => (toHex(h) === toHex(tree.root) ? store.get(h) : undefined),
      put() {},
    }
    const view = new SparseMerkleTree(broken, tree.root)
    assert.throws(
      () => view.get(makeKey(1)),
      (err: unknown) => isFleekError(err, 'INTEGRITY'),
    )
  })

  it('MemoryNodeStore keeps its own copy and tells keys of any length apart', () => {
    const store = new MemoryNodeStore()
    const node = Uint8Array.from([1, 2, 3])
    store.put(Uint8Array.from([1, 2]), node)
    node[0] = 9
    assert.deepEqual(store.get(Uint8Array.from([1, 2])), Uint8Array.from([1, 2, 3]))
    store.put(Uint8Array.from([1, 2, 0]), Uint8Array.from([4]))
    store.put(Uint8Array.from([1]), Uint8Array.from([5]))
    assert.deepEqual(store.get(Uint8Array.from([1, 2])), Uint8Array.from([1, 2, 3]))
    assert.deepEqual(store.get(Uint8Array.from([1, 2, 0])), Uint8Array.from([4]))
    assert.deepEqual(store.get(Uint8Array.from([1])), Uint8Array.from([5]))
    assert.equal(store.get(Uint8Array.from([2, 1])), undefined)
    assert.equal(store.size, 3)
  })

  it('keeps O(n) live nodes and walks O(log n) levels', () => {
    const tree = buildTree(2000)
    const depths = Array.from({ length: 2000 }, (_, i) => tree.prove(makeKey(i)).siblings.length)
    const mean = depths.reduce((a, b) => a + b, 0) / depths.length
    assert.ok(mean < 16, `mean depth ${mean} for 2000 keys`)
    const fresh = new MemoryNodeStore()
    new SparseMerkleTree(fresh).updateMany(Array.from({ length: 2000 }, (_, i) => [makeKey(i), makeValue(i)]))
    assert.ok(fresh.size < 3 * 2000, `${fresh.size} nodes written by one batch of 2000`)
  })
})

/** A deterministic Fisher–Yates shuffle (xorshift32 from `seed`). */
function shuffle<T>(items: T[], seed: number): T[] {
  const out = items.slice()
  let s = seed | 0 || 1
  for (let i = out.length - 1; i > 0; i--) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    const j = (s >>> 0) % (i + 1)
    ;[out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

const GOLDEN_ROOT_8 = 'faa42260056c9b83f2e1250579166589db570eb10d05ace7e37c999efd02db60'
const GOLDEN_ROOT_1 = '2b2f32f29bb520527372d35c37de0918506fd6e3114a166b8ecab9a87f62e7a3'
