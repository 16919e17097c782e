import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import {
  exportAccountKeystore,
  importAccountKeystore,
  publicIdentity,
} from '../../../../src/lib/keys/index.ts'
import { fixedKeys } from './fixtures.ts'
import { checkEveryTamper, expectRefused, hex, rangeOf, smallScrypt, tinyScrypt } from './helpers.ts'

const key = fixedKeys.account
const passphrase = 'keystore passphrase'

// The test vectors of the Web3 Secret Storage Definition (ethereum.org, "Test vectors"):
// password "testpassword", secret 7a28b5ba…, address 008aeeda4d805471df9b2a5b0f38a0c3bcba786b.
const vectorSecret = hex('7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d')
const pbkdf2Vector = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: {
      c: 262144,
      dklen: 32,
      prf: 'hmac-sha256',
      salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd',
    },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}
const scryptVector = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: {
      dklen: 32,
      n: 262144,
      p: 8,
      r: 1,
      salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19',
    },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
}

describe('account key Ethereum keystore v3', () => {
  it('decrypts the Web3 Secret Storage PBKDF2 test vector', () => {
    const imported = importAccountKeystore(JSON.stringify(pbkdf2Vector), 'testpassword')
    assert.deepEqual(imported, { kind: 'account', secret: vectorSecret })
    const identity = publicIdentity(imported)
    assert.ok(identity.kind === 'account')
    assert.equal(identity.address.toLowerCase(), '0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b')
  })

  it('decrypts the Web3 Secret Storage scrypt test vector (n = 262144)', () => {
    assert.deepEqual(importAccountKeystore(JSON.stringify(scryptVector), 'testpassword'), {
      kind: 'account',
      secret: vectorSecret,
    })
  })

  it('refuses the vectors with a wrong passphrase (MAC) as BAD_PASSPHRASE', () => {
    expectRefused(
      () => importAccountKeystore(JSON.stringify(pbkdf2Vector), 'testpassworD'),
      'BAD_PASSPHRASE',
      /wrong passphrase for the account keystore/,
    )
    expectRefused(
      () => importAccountKeystore(JSON.stringify(pbkdf2Vector), undefined),
      'BAD_PASSPHRASE',
      /is encrypted/,
    )
  })

  it('round-trips, in the shape geth writes', () => {
    const text = exportAccountKeystore(key, passphrase, { scrypt: smallScrypt })
    const record = JSON.parse(text)
    assert.equal(record.version, 3)
    assert.match(record.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const identity = publicIdentity(key)
    assert.ok(identity.kind === 'account')
    assert.equal(record.address, identity.address.slice(2).toLowerCase())
    assert.equal(record.crypto.cipher, 'aes-128-ctr')
    assert.equal(record.crypto.kdf, 'scrypt')
    assert.deepEqual(Object.keys(record.crypto.kdfparams).sort(), ['dklen', 'n', 'p', 'r', 'salt'])
    assert.equal(record.crypto.kdfparams.dklen, 32)
    assert.ok(!text.includes(Buffer.from(key.secret).toString('hex')))
    assert.deepEqual(importAccountKeystore(text, passphrase), key)
  })

  it('uses geth standard scrypt (n = 2^18, r = 8, p = 1) by default', () => {
    const record = JSON.parse(exportAccountKeystore(key, passphrase))
    assert.deepEqual(
      [record.crypto.kdfparams.n, record.crypto.kdfparams.r, record.crypto.kdfparams.p],
      [262144, 8, 1],
    )
  })

  it('refuses a wrong passphrase', () => {
    const text = exportAccountKeystore(key, passphrase, { scrypt: tinyScrypt })
    expectRefused(() => importAccountKeystore(text, 'nope'), 'BAD_PASSPHRASE', /wrong passphrase/)
  })

  it('refuses every edit of one character, or reads the same key', () => {
    const text = exportAccountKeystore(key, passphrase, { scrypt: tinyScrypt })
    const record = JSON.parse(text)
    checkEveryTamper(text, (t) => importAccountKeystore(t, passphrase), key, [
      rangeOf(text, record.address),
      rangeOf(text, record.crypto.cipherparams.iv),
      rangeOf(text, record.crypto.ciphertext),
      rangeOf(text, record.crypto.kdfparams.salt),
      rangeOf(text, record.crypto.mac),
    ])
  })

  it('refuses another version, cipher or kdf, and an empty export passphrase', () => {
    const record = JSON.parse(exportAccountKeystore(key, passphrase, { scrypt: tinyScrypt }))
    expectRefused(
      () => importAccountKeystore(JSON.stringify({ ...record, version: 1 }), passphrase),
      'INVALID_INPUT',
      /not a version 3 keystore/,
    )
    const crypto = record.crypto
    expectRefused(
      () =>
        importAccountKeystore(
          JSON.stringify({ ...record, crypto: { ...crypto, cipher: 'aes-128-cbc' } }),
          passphrase,
        ),
      'INVALID_INPUT',
      /unsupported cipher/,
    )
    expectRefused(
      () =>
        importAccountKeystore(
          JSON.stringify({ ...record, crypto: { ...crypto, kdf: 'argon2' } }),
          passphrase,
        ),
      'INVALID_INPUT',
      /unsupported kdf/,
    )
    expectRefused(() => importAccountKeystore('{"version": 3', passphrase), 'INVALID_INPUT', /not valid JSON/)
    expectRefused(() => exportAccountKeystore(key, ''), 'INVALID_INPUT', /needs a passphrase/)
    expectRefused(
      () => exportAccountKeystore(fixedKeys.node, passphrase),
      'INVALID_INPUT',
      /a node key cannot/,
    )
  })

  it('accepts the "Crypto" spelling of older wallets and an address with 0x', () => {
    const record = JSON.parse(exportAccountKeystore(key, passphrase, { scrypt: tinyScrypt }))
    const { crypto, ...rest } = record
    const legacy = { ...rest, address: '0x' + record.address.toUpperCase(), Crypto: crypto }
    assert.deepEqual(importAccountKeystore(JSON.stringify(legacy), passphrase), key)
  })
})
