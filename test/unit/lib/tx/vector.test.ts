/**
 * docs/protocol/transactions.md against the code: the worked example's bytes (read from the document),
 * and the known-key rule of §4.1 — written here from the document, on noble's point arithmetic —
 * giving the same verdict as verifyTransaction's recovery on random, tampered and malformed signatures.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { secp256k1 } from '../../../../src/lib/keys/secp256k1.ts'
import {
  computeAccountAddress,
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

describe('the worked example of docs/protocol/transactions.md', () => {
  test('payload bytes, digest and signature are the document’s, and the signature verifies', () => {
    const text = readFileSync(DOC, 'utf8')
    const payload = examplePayload()
    const address = computeAccountAddress(getAccountPublicKey(toBytes32(1n)))
    assert.equal(address, '0x7e5f4552091a69125d5dfcb7b8c2659029395bdf')
    assert.ok(text.includes(address))
    const encoded = encodePayload(payload)
    assert.equal(hex(encoded), exampleHex(text, 'dagcbor(payload)'))
    assert.ok(text.includes(`dagcbor(payload), ${encoded.length} bytes:`))
    assert.equal(hex(computeTransactionDigest(payload)), exampleHex(text, 'digest:'))
    const tx = signTransaction(payload, { kind: 'account', secret: toBytes32(1n) })
    assert.equal(hex(tx.signature), exampleHex(text, 'signature'))
    assert.ok(verifyTransaction(tx))
  })
})

/**
 * §4.1's check against a known public key: rules 1–3, then P = (e·w)·G + (r·w)·Q not infinity, x(P) = r
 * exactly, parity of y(P) = the recovery bit.
 */
function verifyWithKnownKey(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 65) return false
  const v = signature[64]
  const b = v >= 27 ? v - 27 : v
  if (b !== 0 && b !== 1) return false
  const r = toBigInt(signature.subarray(0, 32))
  const s = toBigInt(signature.subarray(32, 64))
  if (r < 1n || r > N - 1n || s < 1n || s > N - 1n) return false
  if (s > (N - 1n) / 2n) return false
  const e = toBigInt(digest) % N
  const w = Fn.inv(s)
  const Q = Point.fromBytes(publicKey)
  const P = Point.BASE.multiplyUnsafe(Fn.create(e * w)).add(Q.multiplyUnsafe(Fn.create(r * w)))
  if (P.is0()) return false
  const { x, y } = P.toAffine()
  return x === r && Number(y & 1n) === b
}

/** §4.1 rule 6's address, from the uncompressed key (cross-checks computeAccountAddress). */
function addressOf(publicKey: Uint8Array): string {
  const xy = Point.fromBytes(publicKey).toBytes(false).subarray(1)
  return '0x' + hex(keccak_256(xy).subarray(12))
}

/** Ways to change a valid signature: each gives bytes that recovery and the known-key rule must judge alike. */
const TAMPERS: Array<(sig: Uint8Array, arg: number) => Uint8Array> = [
  (sig) => sig, // unchanged
  (sig, i) => withByte(sig, i % 65, sig[i % 65] ^ (1 << (i % 8))), // one bit
  (sig) => withByte(sig, 64, sig[64] === 27 ? 28 : 27), // the other v
  (sig) => withByte(sig, 64, sig[64] - 27), // v as 0/1
  (sig, i) => withByte(sig, 64, [2, 26, 29, 255][i % 4]), // invalid v
  (sig) => withS(sig, N - toBigInt(sig.subarray(32, 64)), true), // the high-s twin (with the other v)
  (sig) => withS(sig, N - toBigInt(sig.subarray(32, 64)), false), // the high-s twin, same v
  (sig, i) => withR(sig, [0n, N, N + 1n, 2n ** 256n - 1n, 1n][i % 5]), // r out of range, or 1
  (sig, i) => withS(sig, [0n, N, (N - 1n) / 2n, (N - 1n) / 2n + 1n][i % 4], false), // s at the edges
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

describe('§4.1: recovery and the known-key rule agree', () => {
  test('on valid, tampered and malformed signatures of random keys and payloads', () => {
    let accepted = 0
    let refused = 0
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((k) => secp256k1.utils.isValidSecretKey(k)),
        fc.nat(),
        fc.nat(TAMPERS.length - 1),
        fc.nat(),
        (secret, nonce, tamper, arg) => {
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
          const changed: Transaction = { ...tx, signature: TAMPERS[tamper](tx.signature, arg) }
          const digest = computeTransactionDigest(payload)
          const byRecovery = verifyTransaction(changed, digest)
          const byKey = verifyWithKnownKey(publicKey, digest, changed.signature)
          assert.equal(byKey, byRecovery, `tamper ${tamper} (${arg}): recovery ${byRecovery}, key ${byKey}`)
          if (byRecovery) accepted++
          else refused++
        },
      ),
      { seed: 7, numRuns: 300 },
    )
    // Both verdicts occurred (the property did not pass vacuously).
    assert.ok(accepted > 20 && refused > 100, `accepted ${accepted}, refused ${refused}`)
  })

  test('a signature with r = x of a point whose y has the other parity than v: refused both ways', () => {
    // Sign, then keep r and s but claim the other recovery bit: recovery finds another key, the rule
    // finds y(P) of the wrong parity. Plain ECDSA (x mod n only) would have accepted it.
    const secret = toBytes32(0xfeedn)
    const publicKey = getAccountPublicKey(secret)
    const digest = new Uint8Array(32).fill(9)
    const sig = secp256k1.sign(digest, secret, { prehash: false, lowS: true, format: 'recovered' })
    const rsv = Uint8Array.of(...sig.subarray(1), 27 + (sig[0] ^ 1))
    assert.ok(secp256k1.verify(sig.subarray(1), digest, publicKey, { prehash: false }))
    assert.equal(verifyWithKnownKey(publicKey, digest, rsv), false)
    const payloadless: Transaction = {
      payload: {
        sender: { account: computeAccountAddress(publicKey) },
        nonce: 1,
        chainId: 1,
        method: 'IncrementNonce',
        args: {},
      },
      signature: rsv,
    }
    assert.equal(verifyTransaction(payloadless, digest), false)
    assert.equal(
      verifyTransaction(
        { ...payloadless, signature: Uint8Array.of(...sig.subarray(1), 27 + sig[0]) },
        digest,
      ),
      true,
    )
  })
})
