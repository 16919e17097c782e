import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { bls12_381 } from '@noble/curves/bls12-381.js'

import {
  exportConsensusPem,
  exportNodePem,
  importConsensusPem,
  publicIdentity,
} from '../../../../src/lib/keys/index.ts'
import { fixedKeys } from './fixtures.ts'
import { checkEveryTamper, expectRefused, hex, pemBodyRanges } from './helpers.ts'

const key = fixedKeys.consensus
const ORDER = bls12_381.fields.Fr.ORDER

function bareBlock(scalar: Uint8Array): string {
  return `-----BEGIN FLEEK BLS12-381 PRIVATE KEY-----\n${Buffer.from(scalar).toString('base64')}\n-----END FLEEK BLS12-381 PRIVATE KEY-----\n`
}

function scalarBytes(value: bigint): Uint8Array {
  return hex(value.toString(16).padStart(64, '0'))
}

describe('consensus key PEM', () => {
  it('round-trips, with the documented label, body and public key line', () => {
    const pem = exportConsensusPem(key)
    const lines = pem.trimEnd().split('\n')
    assert.equal(lines.at(-3), '-----BEGIN FLEEK BLS12-381 PRIVATE KEY-----')
    assert.deepEqual(hex(Buffer.from(lines.at(-2)!, 'base64').toString('hex')), key.secret)
    assert.equal(lines.at(-1), '-----END FLEEK BLS12-381 PRIVATE KEY-----')
    const identity = publicIdentity(key)
    assert.ok(identity.kind === 'consensus')
    assert.ok(lines.includes(`Public key: ${identity.publicKeyHex}`))
    assert.deepEqual(importConsensusPem(pem), key)
  })

  it('agrees with noble: the public key is the min-pk G1 point of the big-endian scalar', () => {
    const identity = publicIdentity(key)
    const expected = bls12_381.G1.Point.BASE.multiply(BigInt('0x' + Buffer.from(key.secret).toString('hex')))
    assert.deepEqual(identity.publicKey, expected.toBytes(true))
    assert.equal(identity.publicKey.length, 48)
  })

  it('accepts a bare block without the explanatory lines', () => {
    assert.deepEqual(importConsensusPem(bareBlock(key.secret)), key)
  })

  it('refuses the scalars 0, r and r+1, and a body that is not 32 bytes', () => {
    for (const bad of [0n, ORDER, ORDER + 1n, 2n ** 256n - 1n]) {
      expectRefused(
        () => importConsensusPem(bareBlock(scalarBytes(bad))),
        'INVALID_INPUT',
        /not a valid BLS12-381 scalar/,
      )
    }
    assert.deepEqual(importConsensusPem(bareBlock(scalarBytes(ORDER - 1n))).secret, scalarBytes(ORDER - 1n))
    expectRefused(
      () => importConsensusPem(bareBlock(key.secret.subarray(0, 31))),
      'INVALID_INPUT',
      /not 32 bytes/,
    )
    expectRefused(
      () => importConsensusPem(bareBlock(new Uint8Array(33).fill(1))),
      'INVALID_INPUT',
      /not 32 bytes/,
    )
  })

  it('refuses every edit of one character, or reads the same key', () => {
    const pem = exportConsensusPem(key)
    const refused = checkEveryTamper(pem, importConsensusPem, key, pemBodyRanges(pem, 0, 32))
    assert.ok(refused > 100)
  })

  it('refuses non-canonical base64 (unused bits set in the last character)', () => {
    const body = Buffer.from(key.secret).toString('base64') // 44 chars, one '='
    const last = body[42]
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
    const sloppy = body.slice(0, 42) + alphabet[alphabet.indexOf(last) + 1] + '='
    assert.deepEqual(Buffer.from(sloppy, 'base64'), Buffer.from(key.secret))
    const pem = bareBlock(key.secret).replace(body, sloppy)
    expectRefused(() => importConsensusPem(pem), 'INVALID_INPUT', /not canonical base64/)
  })

  it('refuses a node key PEM and other files with one clear line', () => {
    expectRefused(
      () => importConsensusPem(exportNodePem(fixedKeys.node)),
      'INVALID_INPUT',
      /PKCS#8 private key \(a node key export\), not the consensus key PEM/,
    )
    expectRefused(() => importConsensusPem('{"version":3}'), 'INVALID_INPUT', /not PEM/)
    expectRefused(() => importConsensusPem(''), 'INVALID_INPUT', /empty/)
  })
})
