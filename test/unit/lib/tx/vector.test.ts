/**
 * docs/protocol/transactions.md against the code: the worked example's bytes (read from the document),
 * and §4.1's two rules for account signatures — the recovery rule and the known-key rule, each also
 * written here from the document on noble's point arithmetic — on random, tampered and malformed
 * signatures (fast-check, fixed seeds): the code gives the document's verdicts, and the two rules agree
 * everywhere except on the one documented difference (a copy with the other recovery bit in v).
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { secp256k1 } from '../../../../src/lib/keys/secp256k1.ts'
import {
  AccountKeyCache,
  computeAccountAddress,
  computeAccountMessageHash,
  computeTransactionDigest,
  encodePayload,
  getAccountPublicKey,
  signTransaction,
  verifyTransaction,
  type Transaction,
  type TransactionPayload,
} from '../../../../src/lib/tx/index.ts'

const DOC = new URL('../../../../docs/protocol/transactions.md', import.meta.url)
const Point = secp256k1.Point
const Fn = Point.Fn
const N = Fn.ORDER
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const toBigInt = (b: Uint8Array) => BigInt('0x' + hex(b))
const toBytes32 = (x: bigint) => Uint8Array.from(Buffer.from(x.toString(16).padStart(64, '0'), 'hex'))
const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest())

/** The hex lines that follow `label` in the document's example block, joined. */
function exampleHex(text: string, label: string): string {
  const lines = text.split('\n')
  const at = lines.findIndex((l) => l.startsWith(label))
  assert.ok(at >= 0, `the document has no "${label}" line`)
  let out = ''
  for (const line of lines.slice(at + 1)) {
    if (!/^ {2}[0-9a-f]+$/.test(line)) break
    out += line.trim()
  }
  return out
}

function examplePayload(): TransactionPayload {
  const secret = toBytes32(1n)
  return {
    sender: { account: computeAccountAddress(getAccountPublicKey(secret)) },
    nonce: 1,
    chainId: 1337,
    method: 'Transfer',
    args: { to: '0x' + '11'.repeat(20), token: 'flk', amount: 10n ** 18n },
  }
}

/** The code's two rules: recovery (no key recorded) and the known-key rule (OpenSSL) with `publicKey`. */
const cache = new AccountKeyCache(4)
const byRecovery = (tx: Transaction, digest: Uint8Array) => verifyTransaction(tx, digest)
const byKnownKey = (tx: Transaction, digest: Uint8Array, publicKey: Uint8Array) =>
  verifyTransaction(tx, digest, { accountKey: () => publicKey, keyCache: cache })

describe('the worked example of docs/protocol/transactions.md', () => {
  test('payload bytes, digest, message hash and signature are the document’s; both rules accept it', () => {
    const text = readFileSync(DOC, 'utf8')
    const payload = examplePayload()
    const publicKey = getAccountPublicKey(toBytes32(1n))
    const address = computeAccountAddress(publicKey)
    assert.equal(address, '0x7e5f4552091a69125d5dfcb7b8c2659029395bdf')
    assert.ok(text.includes(address))
    assert.ok(text.includes(hex(publicKey)))
    const encoded = encodePayload(payload)
    assert.equal(hex(encoded), exampleHex(text, 'dagcbor(payload)'))
    assert.ok(text.includes(`dagcbor(payload), ${encoded.length} bytes:`))
    const digest = computeTransactionDigest(payload)
    assert.equal(hex(digest), exampleHex(text, 'digest:'))
    assert.equal(hex(computeAccountMessageHash(digest)), exampleHex(text, 'message hash'))
    assert.equal(hex(sha256(digest)), exampleHex(text, 'message hash'))
    const tx = signTransaction(payload, { kind: 'account', secret: toBytes32(1n) })
    assert.equal(hex(tx.signature), exampleHex(text, 'signature'))
    assert.equal(tx.signature[64], 0x1b)
    assert.ok(byRecovery(tx, digest) && byKnownKey(tx, digest, publicKey))
    // As the document says: with v = 0x1c, valid under the known-key rule only.
    const other: Transaction = { ...tx, signature: Uint8Array.of(...tx.signature.subarray(0, 64), 0x1c) }
    assert.equal(byRecovery(other, digest), false)
    assert.equal(byKnownKey(other, digest, publicKey), true)
    // A standard ECDSA-SHA256 verifier of the digest accepts r ‖ s (what the document says e is).
    assert.ok(secp256k1.verify(tx.signature.subarray(0, 64), digest, publicKey, { prehash: true }))
  })
})

/** §4.1 rules 1–3, shared by both rules: the recovery bit, or undefined when refused. */
function checkShape(signature: Uint8Array): { r: bigint; s: bigint; b: number } | undefined {
  if (signature.length !== 65) return undefined
  const v = signature[64]
  const b = v >= 27 ? v - 27 : v
  if (b !== 0 && b !== 1) return undefined
  const r = toBigInt(signature.subarray(0, 32))
  const s = toBigInt(signature.subarray(32, 64))
  if (r < 1n || r > N - 1n || s < 1n || s > N - 1n) return undefined
  if (s > (N - 1n) / 2n) return undefined
  return { r, s, b }
}

/** P = (e·w)·G + (r·w)·Q of §4.1, or undefined at infinity. */
function computeP(publicKey: Uint8Array, digest: Uint8Array, r: bigint, s: bigint) {
  const e = toBigInt(sha256(digest)) % N
  const w = Fn.inv(s)
  const Q = Point.fromBytes(publicKey)
  const P = Point.BASE.multiplyUnsafe(Fn.create(e * w)).add(Q.multiplyUnsafe(Fn.create(r * w)))
  return P.is0() ? undefined : P.toAffine()
}

/**
 * The recovery rule, in the equivalent form of a check against the signer's key (for a key whose
 * address is the sender's): rules 1–3, then P = R, i.e. x(P) = r exactly and parity of y(P) = b.
 */
function docRecoveryRule(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  const shape = checkShape(signature)
  if (shape === undefined) return false
  const P = computeP(publicKey, digest, shape.r, shape.s)
  return P !== undefined && P.x === shape.r && Number(P.y & 1n) === shape.b
}

/** The known-key rule: rules 1–3, then x(P) mod n = r; v is not compared. */
function docKnownKeyRule(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  const shape = checkShape(signature)
  if (shape === undefined) return false
  const P = computeP(publicKey, digest, shape.r, shape.s)
  return P !== undefined && P.x % N === shape.r
}

/** §4.1 rule 6's address, from the uncompressed key (cross-checks computeAccountAddress). */
function addressOf(publicKey: Uint8Array): string {
  const xy = Point.fromBytes(publicKey).toBytes(false).subarray(1)
  return '0x' + hex(keccak_256(xy).subarray(12))
}

/** Ways to change a valid signature; `onlyV` marks those that change nothing but v. */
const TAMPERS: Array<{ name: string; onlyV?: true; apply: (sig: Uint8Array, arg: number) => Uint8Array }> = [
  { name: 'unchanged', apply: (sig) => sig },
  { name: 'one bit', apply: (sig, i) => withByte(sig, i % 65, sig[i % 65] ^ (1 << (i % 8))) },
  { name: 'the other v', onlyV: true, apply: (sig) => withByte(sig, 64, sig[64] === 27 ? 28 : 27) },
  { name: 'v as 0/1', onlyV: true, apply: (sig) => withByte(sig, 64, sig[64] - 27) },
  { name: 'the other v as 0/1', onlyV: true, apply: (sig) => withByte(sig, 64, sig[64] === 27 ? 1 : 0) },
  { name: 'invalid v', apply: (sig, i) => withByte(sig, 64, [2, 26, 29, 255][i % 4]) },
  { name: 'high-s twin, other v', apply: (sig) => withS(sig, N - toBigInt(sig.subarray(32, 64)), true) },
  { name: 'high-s twin, same v', apply: (sig) => withS(sig, N - toBigInt(sig.subarray(32, 64)), false) },
  {
    name: 'r out of range, or 1',
    apply: (sig, i) => withR(sig, [0n, N, N + 1n, 2n ** 256n - 1n, 1n][i % 5]),
  },
  {
    name: 's at the edges',
    apply: (sig, i) => withS(sig, [0n, N, N - 1n, (N - 1n) / 2n, (N - 1n) / 2n + 1n][i % 5], false),
  },
]

function withByte(sig: Uint8Array, index: number, value: number): Uint8Array {
  const out = sig.slice()
  out[index] = value & 0xff
  return out
}
function withR(sig: Uint8Array, r: bigint): Uint8Array {
  const out = sig.slice()
  out.set(toBytes32(r % 2n ** 256n), 0)
  return out
}
function withS(sig: Uint8Array, s: bigint, flipV: boolean): Uint8Array {
  const out = sig.slice()
  out.set(toBytes32(s % 2n ** 256n), 32)
  if (flipV) out[64] = sig[64] === 27 ? 28 : 27
  return out
}
/** The same signature with recovery bit `b` (v = 27 + b). */
const withBit = (sig: Uint8Array, b: number) => withByte(sig, 64, 27 + b)

const secretArb = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .filter((k) => secp256k1.utils.isValidSecretKey(k))

describe('§4.1: the recovery rule and the known-key rule', () => {
  test('give the document’s verdicts, and agree except on a copy with the other recovery bit', () => {
    const seen = { accepted: 0, refused: 0, differ: 0 }
    fc.assert(
      fc.property(secretArb, fc.nat(), fc.nat(TAMPERS.length - 1), fc.nat(), (secret, nonce, t, arg) => {
        const publicKey = getAccountPublicKey(secret)
        const address = computeAccountAddress(publicKey)
        assert.equal(addressOf(publicKey), address)
        const payload: TransactionPayload = {
          sender: { account: address },
          nonce,
          chainId: 1337,
          method: 'IncrementNonce',
          args: {},
        }
        const tx = signTransaction(payload, { kind: 'account', secret })
        const signature = TAMPERS[t].apply(tx.signature, arg)
        const changed: Transaction = { ...tx, signature }
        const digest = computeTransactionDigest(payload)
        const recovered = byRecovery(changed, digest)
        const known = byKnownKey(changed, digest, publicKey)
        const what = `${TAMPERS[t].name} (${arg}): recovery ${recovered}, known key ${known}`
        // The code gives the document's verdicts.
        assert.equal(recovered, docRecoveryRule(publicKey, digest, signature), what)
        assert.equal(known, docKnownKeyRule(publicKey, digest, signature), what)
        // The documented relation: known key ⇔ v valid and recovery accepts one of the two bits.
        const vValid = [0, 1, 27, 28].includes(signature[64])
        const someBit =
          byRecovery({ ...tx, signature: withBit(signature, 0) }, digest) ||
          byRecovery({ ...tx, signature: withBit(signature, 1) }, digest)
        assert.equal(known, vValid && someBit, what)
        // Hence: they differ only where the known-key rule accepts a copy whose v alone changed.
        if (known !== recovered) {
          assert.ok(known && !recovered && TAMPERS[t].onlyV === true, what)
          seen.differ++
        }
        if (recovered) seen.accepted++
        else seen.refused++
      }),
      { seed: 7, numRuns: 400 },
    )
    // Every kind of verdict occurred (the property did not pass vacuously).
    assert.ok(seen.accepted > 30 && seen.refused > 150 && seen.differ > 10, JSON.stringify(seen))
  })

  test('a known key that is not the signer’s refuses; a wrong digest refuses (fixed seed)', () => {
    fc.assert(
      fc.property(secretArb, secretArb, fc.nat(), (a, b, nonce) => {
        fc.pre(hex(a) !== hex(b))
        const payload: TransactionPayload = {
          sender: { account: computeAccountAddress(getAccountPublicKey(a)) },
          nonce,
          chainId: 1337,
          method: 'IncrementNonce',
          args: {},
        }
        const tx = signTransaction(payload, { kind: 'account', secret: a })
        const digest = computeTransactionDigest(payload)
        assert.equal(byKnownKey(tx, digest, getAccountPublicKey(b)), false)
        const other = computeTransactionDigest({ ...payload, nonce: nonce + 1 })
        assert.equal(byKnownKey(tx, other, getAccountPublicKey(a)), false)
        assert.equal(byRecovery(tx, other), false)
        // The signature is over SHA-256(digest), not the digest itself.
        const overDigest = secp256k1.sign(digest, a, { prehash: false, lowS: true, format: 'recovered' })
        const raw = Uint8Array.of(...overDigest.subarray(1), 27 + overDigest[0])
        assert.equal(byRecovery({ ...tx, signature: raw }, digest), false)
        assert.equal(byKnownKey({ ...tx, signature: raw }, digest, getAccountPublicKey(a)), false)
      }),
      { seed: 11, numRuns: 40 },
    )
  })

  test('a known key that is not a curve point refuses everything', () => {
    const tx = signTransaction(examplePayload(), { kind: 'account', secret: toBytes32(1n) })
    const digest = computeTransactionDigest(tx.payload)
    const notAPoint = Uint8Array.of(0x02, ...new Uint8Array(32).fill(0xff))
    assert.equal(byKnownKey(tx, digest, notAPoint), false)
    assert.equal(byKnownKey(tx, digest, new Uint8Array(33)), false)
  })
})
