// Content IDs: hex and CIDv1 (raw, blake3, base32) both ways; other CIDs and junk give INVALID_INPUT.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { base58btc } from 'multiformats/bases/base58'

import { isFleekError } from '../../../../src/lib/errors.ts'
import { parseContentId, toCid } from '../../../../src/lib/b3/cid.ts'
import { hash, toHex } from '../../../../src/lib/b3/index.ts'

const EMPTY_HASH = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262'

function expectInvalid(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseContentId(text),
    (err: unknown) =>
      isFleekError(err, 'INVALID_INPUT') && pattern.test(err.message) && !err.message.includes('\n'),
    text,
  )
}

test('toCid gives a raw/blake3 base32 CIDv1 and parseContentId reads it back, as it reads hex', () => {
  const h = hash(new Uint8Array(0))
  assert.equal(toHex(h), EMPTY_HASH)
  const cid = toCid(h)
  assert.match(cid, /^bafkr4[a-z2-7]+$/)
  const parsed = CID.parse(cid)
  assert.equal(parsed.version, 1)
  assert.equal(parsed.code, 0x55)
  assert.equal(parsed.multihash.code, 0x1e)
  assert.equal(toHex(parseContentId(cid)), EMPTY_HASH)
  assert.equal(toHex(parseContentId(EMPTY_HASH)), EMPTY_HASH)
  assert.equal(toHex(parseContentId(EMPTY_HASH.toUpperCase())), EMPTY_HASH)
  assert.equal(toHex(parseContentId(`  ${cid}\n`)), EMPTY_HASH)
  // The same multihash in another base is the same content.
  const b58 = CID.createV1(0x55, Digest.create(0x1e, h)).toString(base58btc)
  assert.equal(toHex(parseContentId(b58)), EMPTY_HASH)
})

test('a sha2-256 CID is named as such and points to origin fetching', () => {
  expectInvalid('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG', /sha2-256 CID.*origin fetch/)
  expectInvalid('bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi', /sha2-256 CID/)
})

test('junk, short hex and wrong digest sizes are clear INVALID_INPUT lines', () => {
  expectInvalid('', /not a content ID/)
  expectInvalid('xyz', /not a content ID/)
  expectInvalid(EMPTY_HASH.slice(2), /64 hex digits, got 62/)
  expectInvalid(EMPTY_HASH + '00', /64 hex digits, got 66/)
  expectInvalid('g'.repeat(64), /not a content ID/)
  const short = CID.createV1(0x55, Digest.create(0x1e, new Uint8Array(16))).toString()
  expectInvalid(short, /16-byte digest/)
  assert.throws(
    () => toCid(new Uint8Array(31)),
    (err: unknown) => isFleekError(err, 'INVALID_INPUT'),
  )
})
