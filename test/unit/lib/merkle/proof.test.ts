import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { isFleekError } from '../../../../src/lib/errors.ts'
import {
  decodeProof,
  EMPTY_ROOT,
  encodeProof,
  MemoryNodeStore,
  SparseMerkleTree,
  verifyProof,
  type MerkleProof,
} from '../../../../src/lib/merkle/index.ts'
import { makeKey, makeValue, toHex } from './helpers.ts'

const invalidInput = (err: unknown) => isFleekError(err, 'INVALID_INPUT')

function buildTree(n: number): SparseMerkleTree {
  const tree = new SparseMerkleTree(new MemoryNodeStore())
  tree.updateMany(Array.from({ length: n }, (_, i) => [makeKey(i), makeValue(i)]))
  return tree
}

const tree = buildTree(200)
const root = tree.root
/** Proof cases: members (value set) and absent keys (value undefined), of both absent kinds. */
const cases: Array<{ key: Uint8Array; value: Uint8Array | undefined; proof: MerkleProof }> = []
for (let i = 0; i < 200; i += 20)
  cases.push({ key: makeKey(i), value: makeValue(i), proof: tree.prove(makeKey(i)) })
for (let i = 500; i < 520; i++)
  cases.push({ key: makeKey(i), value: undefined, proof: tree.prove(makeKey(i)) })

describe('merkle proof encoding', () => {
  it('round-trips every proof and stays compact', () => {
    for (const c of cases) {
      const bytes = encodeProof(c.proof)
      const back = decodeProof(bytes)
      assert.deepEqual(back, c.proof)
      assert.ok(verifyProof(root, c.key, c.value, back))
      const present = c.proof.siblings.filter((h) => h.some((b) => b !== 0)).length
      const expected = 3 + Math.ceil(c.proof.siblings.length / 8) + 32 * present
      assert.equal(bytes.length, expected + (c.proof.leaf ? 64 : 0))
    }
  })

  it('encodes empty siblings as bitmap bits only', () => {
    const proof: MerkleProof = { siblings: [EMPTY_ROOT, makeKey(1), EMPTY_ROOT] }
    assert.equal(toHex(encodeProof(proof)), '00000340' + toHex(makeKey(1)))
    assert.deepEqual(decodeProof(encodeProof(proof)), proof)
    assert.equal(toHex(encodeProof({ siblings: [] })), '000000')
    assert.deepEqual(decodeProof(new Uint8Array(3)), { siblings: [] })
    assert.ok(verifyProof(EMPTY_ROOT, makeKey(1), undefined, decodeProof(new Uint8Array(3))))
  })

  it('rejects every one-bit change of an encoded proof (decoding error or failed verification)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: cases.length - 1 }), fc.nat(), (which, at) => {
        const c = cases[which]
        const bytes = encodeProof(c.proof)
        const bitIndex = at % (bytes.length * 8)
        bytes[bitIndex >>> 3] ^= 1 << (bitIndex & 7)
        let proof: MerkleProof
        try {
          proof = decodeProof(bytes)
        } catch (err) {
          assert.ok(invalidInput(err), String(err))
          return
        }
        assert.equal(verifyProof(root, c.key, c.value, proof), false)
      }),
      { seed: 99, numRuns: 3000 },
    )
  })

  it('decodes random and truncated bytes into a proof or an INVALID_INPUT error, never a crash', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
        try {
          const proof = decodeProof(bytes)
          assert.deepEqual(encodeProof(proof), bytes, 'only canonical encodings decode')
          assert.equal(verifyProof(root, makeKey(1), makeValue(1), proof), false)
        } catch (err) {
          assert.ok(invalidInput(err), String(err))
        }
      }),
      { seed: 5, numRuns: 2000 },
    )
    const full = encodeProof(cases[0].proof)
    for (let n = 0; n < full.length; n++) assert.throws(() => decodeProof(full.subarray(0, n)), invalidInput)
    assert.throws(() => decodeProof(new Uint8Array([...full, 0])), invalidInput)
  })

  it('rejects non-canonical encodings', () => {
    assert.throws(() => decodeProof(Uint8Array.from([2, 0, 0])), invalidInput, 'unknown kind')
    assert.throws(() => decodeProof(Uint8Array.from([0, 1, 1])), invalidInput, 'depth 257')
    assert.throws(() => decodeProof(Uint8Array.from([0, 0, 1, 0x40])), invalidInput, 'padding bit set')
    const zeroSibling = new Uint8Array(3 + 1 + 32)
    zeroSibling.set([0, 0, 1, 0x80])
    assert.throws(() => decodeProof(zeroSibling), invalidInput, 'present sibling of zeros')
    assert.throws(() => decodeProof('00' as unknown as Uint8Array), invalidInput)
  })

  it('accepts the deepest possible proof (256 siblings) and refuses more', () => {
    const siblings = Array.from({ length: 256 }, (_, i) => makeKey(i))
    const proof: MerkleProof = { siblings, leaf: { key: makeKey(1), valueHash: makeKey(2) } }
    assert.deepEqual(decodeProof(encodeProof(proof)), proof)
    assert.throws(() => encodeProof({ siblings: [...siblings, makeKey(3)] }), invalidInput)
    assert.throws(() => encodeProof({ siblings: [new Uint8Array(31)] }), invalidInput)
  })

  it('verifyProof returns false (never throws) on malformed arguments', () => {
    const c = cases[0]
    assert.equal(verifyProof(root.subarray(1), c.key, c.value, c.proof), false)
    assert.equal(verifyProof(root, c.key.subarray(1), c.value, c.proof), false)
    assert.equal(verifyProof(root, c.key, c.value, { siblings: [new Uint8Array(3)] }), false)
    assert.equal(verifyProof(root, c.key, c.value, null as unknown as MerkleProof), false)
    assert.equal(verifyProof(root, c.key, c.value, { siblings: 'x' } as unknown as MerkleProof), false)
    const leaf = { key: c.key, valueHash: new Uint8Array(5) }
    assert.equal(verifyProof(root, c.key, c.value, { siblings: c.proof.siblings, leaf }), false)
  })
})
