import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import fc from 'fast-check'

import {
  decodeKeyFile,
  encodeKeyFile,
  exportKey,
  importKey,
  isEncryptedKeyFile,
  publicIdentity,
  readKeyFilePublicKey,
  type KeyKind,
  type SecretKey,
} from '../../../../src/lib/keys/index.ts'
import { tinyScrypt } from './helpers.ts'

const runs = { seed: 20260126, numRuns: 40 }

/** Random valid secrets of a kind: 32 bytes, resampled until valid (scalars below the curve order, not 0). */
function arbitraryKey(kind: KeyKind): fc.Arbitrary<SecretKey> {
  return fc
    .uint8Array({ minLength: 32, maxLength: 32 })
    .map((secret): SecretKey => ({ kind, secret }))
    .filter((key) => {
      try {
        publicIdentity(key)
        return true
      } catch {
        return false
      }
    })
}

const kinds: KeyKind[] = ['node', 'consensus', 'account']

describe('round trips of random keys', () => {
  for (const kind of kinds) {
    it(`${kind}: key file plain and encrypted, and the export format`, () => {
      fc.assert(
        fc.property(arbitraryKey(kind), fc.string({ minLength: 1, maxLength: 24 }), (key, passphrase) => {
          assert.deepEqual(decodeKeyFile(encodeKeyFile(key), kind), key)
          const encrypted = encodeKeyFile(key, { passphrase, scrypt: tinyScrypt })
          assert.equal(isEncryptedKeyFile(encrypted), true)
          assert.deepEqual(decodeKeyFile(encrypted, kind, { passphrase }), key)
          assert.deepEqual(readKeyFilePublicKey(encrypted, kind), publicIdentity(key).publicKey)
          const options = kind === 'consensus' ? {} : { passphrase, scrypt: tinyScrypt, pbkdf2Iterations: 1 }
          assert.deepEqual(importKey(kind, exportKey(key, options), { passphrase }), key)
        }),
        runs,
      )
    })
  }
})
