import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import {
  decodeKeyFile,
  encodeKeyFile,
  isEncryptedKeyFile,
  keyKinds,
  publicIdentity,
  readKeyFileIdentity,
  readKeyFilePublicKey,
  type KeyKind,
} from '../../../../src/lib/keys/index.ts'
import { fixedKeys, otherKeys } from './fixtures.ts'
import { checkEveryTamper, expectRefused, rangeOf, smallScrypt, tinyScrypt } from './helpers.ts'

const passphrase = 'correct horse battery staple'

describe('key file at rest', () => {
  for (const kind of keyKinds) {
    const key = fixedKeys[kind]

    describe(kind, () => {
      it('round-trips in plaintext, with the fields of version 1', () => {
        const text = encodeKeyFile(key)
        const record = JSON.parse(text)
        assert.deepEqual(Object.keys(record), ['version', 'kind', 'algorithm', 'publicKey', 'secretKey'])
        assert.equal(record.version, 1)
        assert.equal(record.kind, kind)
        assert.equal(
          record.algorithm,
          { node: 'ed25519', consensus: 'bls12-381', account: 'secp256k1' }[kind],
        )
        assert.equal(record.publicKey, Buffer.from(publicIdentity(key).publicKey).toString('hex'))
        assert.equal(isEncryptedKeyFile(text), false)
        assert.deepEqual(decodeKeyFile(text, kind), key)
      })

      it('round-trips encrypted, and the secret is not in the file', () => {
        const text = encodeKeyFile(key, { passphrase, scrypt: smallScrypt })
        const record = JSON.parse(text)
        assert.equal(record.secretKey, undefined)
        assert.equal(record.crypto.kdf, 'scrypt')
        assert.deepEqual(
          { n: record.crypto.kdfparams.n, r: record.crypto.kdfparams.r, p: record.crypto.kdfparams.p },
          { n: 1024, r: 8, p: 1 },
        )
        assert.equal(record.crypto.cipher, 'aes-256-gcm')
        assert.ok(!text.includes(Buffer.from(key.secret).toString('hex')))
        assert.equal(isEncryptedKeyFile(text), true)
        assert.deepEqual(decodeKeyFile(text, kind, { passphrase }), key)
      })

      it('refuses a wrong passphrase and a missing one with BAD_PASSPHRASE', () => {
        const text = encodeKeyFile(key, { passphrase, scrypt: smallScrypt })
        expectRefused(
          () => decodeKeyFile(text, kind, { passphrase: 'wrong' }),
          'BAD_PASSPHRASE',
          new RegExp(`^wrong passphrase for the ${kind} key$`),
        )
        const missing = expectRefused(
          () => decodeKeyFile(text, kind),
          'BAD_PASSPHRASE',
          /is encrypted: give the passphrase/,
        )
        assert.ok(!missing.message.includes(passphrase))
      })

      it('refuses every edit of one character of a plaintext file, or reads the same key', () => {
        const text = encodeKeyFile(key)
        const record = JSON.parse(text)
        const refused = checkEveryTamper(text, (t) => decodeKeyFile(t, kind), key, [
          rangeOf(text, record.secretKey),
          rangeOf(text, record.publicKey),
        ])
        assert.ok(refused > text.length * 0.9, `only ${refused} of ${text.length} edits refused`)
      })

      it('refuses every edit of one character of an encrypted file, or reads the same key', () => {
        const text = encodeKeyFile(key, { passphrase, scrypt: tinyScrypt })
        const { crypto, publicKey } = JSON.parse(text)
        checkEveryTamper(text, (t) => decodeKeyFile(t, kind, { passphrase }), key, [
          rangeOf(text, publicKey),
          rangeOf(text, crypto.kdfparams.salt),
          rangeOf(text, crypto.iv),
          rangeOf(text, crypto.tag),
          rangeOf(text, crypto.ciphertext),
        ])
      })

      it('detects a header swapped between two encrypted files (the header is GCM additional data)', () => {
        const mine = JSON.parse(encodeKeyFile(key, { passphrase, scrypt: tinyScrypt }))
        const theirs = JSON.parse(encodeKeyFile(otherKeys[kind], { passphrase, scrypt: tinyScrypt }))
        const swapped = JSON.stringify({ ...mine, publicKey: theirs.publicKey })
        expectRefused(() => decodeKeyFile(swapped, kind, { passphrase }), 'BAD_PASSPHRASE')
      })

      it('refuses a file of another kind with one clear line', () => {
        for (const other of keyKinds.filter((k) => k !== kind)) {
          const text = encodeKeyFile(fixedKeys[other])
          const article = kind === 'account' ? 'an' : 'a'
          expectRefused(
            () => decodeKeyFile(text, kind),
            'INVALID_INPUT',
            new RegExp(`^this is a ${other} key file, not ${article} ${kind} key$`),
          )
        }
      })

      it('refuses truncated, empty and non-JSON text', () => {
        const text = encodeKeyFile(key)
        for (const cut of [1, 10, Math.floor(text.length / 2), text.length - 3]) {
          expectRefused(
            () => decodeKeyFile(text.slice(0, cut), kind),
            'INVALID_INPUT',
            /not valid JSON|empty/,
          )
        }
        expectRefused(() => decodeKeyFile('', kind), 'INVALID_INPUT', /is empty/)
        expectRefused(
          () => decodeKeyFile('-----BEGIN PRIVATE KEY-----', kind),
          'INVALID_INPUT',
          /not valid JSON/,
        )
        expectRefused(() => decodeKeyFile('[1,2]', kind), 'INVALID_INPUT', /not a JSON object/)
      })

      it('refuses another version, a relabelled kind, extra fields, and a swapped public key', () => {
        const record = JSON.parse(encodeKeyFile(key))
        expectRefused(
          () => decodeKeyFile(JSON.stringify({ ...record, version: 2 }), kind),
          'INVALID_INPUT',
          /version 2/,
        )
        expectRefused(
          () => decodeKeyFile(JSON.stringify({ ...record, extra: 1 }), kind),
          'INVALID_INPUT',
          /unexpected field/,
        )
        const other = JSON.parse(encodeKeyFile(otherKeys[kind]))
        expectRefused(
          () => decodeKeyFile(JSON.stringify({ ...record, publicKey: other.publicKey }), kind),
          'INVALID_INPUT',
          /does not match its secret key/,
        )
        const relabelled: KeyKind = kind === 'node' ? 'consensus' : 'node'
        expectRefused(
          () => decodeKeyFile(JSON.stringify({ ...record, kind: relabelled }), relabelled),
          'INVALID_INPUT',
        )
      })

      it('shows the public identity without the passphrase', () => {
        const expected = publicIdentity(key)
        assert.deepEqual(readKeyFileIdentity(encodeKeyFile(key), kind), expected)
        const encrypted = encodeKeyFile(key, { passphrase, scrypt: tinyScrypt })
        assert.deepEqual(readKeyFileIdentity(encrypted, kind), expected)
        assert.deepEqual(readKeyFilePublicKey(encrypted, kind), expected.publicKey)
      })
    })
  }

  it('never puts the secret or the passphrase in an error message', () => {
    const key = fixedKeys.account
    const secretHex = Buffer.from(key.secret).toString('hex')
    const plain = JSON.parse(encodeKeyFile(key))
    const errors = [
      expectRefused(() =>
        decodeKeyFile(JSON.stringify({ ...plain, secretKey: secretHex + '00' }), 'account'),
      ),
      expectRefused(() => decodeKeyFile(JSON.stringify({ ...plain, version: secretHex }), 'account')),
      expectRefused(() => decodeKeyFile(JSON.stringify({ ...plain, kind: 'node' }), 'account')),
      expectRefused(() =>
        decodeKeyFile(encodeKeyFile(key, { passphrase, scrypt: tinyScrypt }), 'account', {
          passphrase: 'hunter2',
        }),
      ),
    ]
    for (const err of errors) {
      assert.ok(!err.message.includes(secretHex.slice(0, 16)), err.message)
      assert.ok(!err.message.includes('hunter2') && !err.message.includes(passphrase), err.message)
    }
  })

  it('refuses an empty passphrase and hostile scrypt parameters', () => {
    expectRefused(() => encodeKeyFile(fixedKeys.node, { passphrase: '' }), 'INVALID_INPUT', /empty/)
    expectRefused(
      () => encodeKeyFile(fixedKeys.node, { passphrase, scrypt: { N: 1000, r: 8, p: 1 } }),
      'INVALID_INPUT',
      /power of two/,
    )
    const record = JSON.parse(encodeKeyFile(fixedKeys.node, { passphrase, scrypt: tinyScrypt }))
    record.crypto.kdfparams.n = 2 ** 24
    record.crypto.kdfparams.r = 64
    expectRefused(
      () => decodeKeyFile(JSON.stringify(record), 'node', { passphrase }),
      'INVALID_INPUT',
      /1 GiB/,
    )
  })

  it('uses N=2^15, r=8, p=1 by default and a fresh salt and iv each time', () => {
    const a = JSON.parse(encodeKeyFile(fixedKeys.node, { passphrase }))
    const b = JSON.parse(encodeKeyFile(fixedKeys.node, { passphrase, scrypt: tinyScrypt }))
    assert.deepEqual([a.crypto.kdfparams.n, a.crypto.kdfparams.r, a.crypto.kdfparams.p], [32768, 8, 1])
    assert.notEqual(a.crypto.kdfparams.salt, b.crypto.kdfparams.salt)
    assert.notEqual(a.crypto.iv, b.crypto.iv)
    assert.deepEqual(decodeKeyFile(JSON.stringify(a), 'node', { passphrase }), fixedKeys.node)
  })

  it('normalises the passphrase (NFKC): a composed and a decomposed é open the same file', () => {
    const text = encodeKeyFile(fixedKeys.node, { passphrase: 'caf\u00e9', scrypt: tinyScrypt })
    assert.deepEqual(decodeKeyFile(text, 'node', { passphrase: 'cafe\u0301' }), fixedKeys.node)
  })
})
