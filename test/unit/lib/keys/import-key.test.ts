import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import {
  detectKeyFormat,
  encodeKeyFile,
  exportKey,
  importKey,
  keyKinds,
  type KeyKind,
} from '../../../../src/lib/keys/index.ts'
import { fixedKeys } from './fixtures.ts'
import { expectRefused, tinyScrypt } from './helpers.ts'

const passphrase = 'export passphrase'
const exportOptions = { passphrase, scrypt: tinyScrypt, pbkdf2Iterations: 1000 }

function exportOf(kind: KeyKind): string {
  return exportKey(fixedKeys[kind], kind === 'consensus' ? {} : exportOptions)
}

const names: Record<KeyKind, RegExp> = {
  node: /this is an encrypted PKCS#8 PEM \(a node key export\)/,
  consensus: /this is a consensus key PEM/,
  account: /this is an Ethereum keystore \(an account key\)/,
}

describe('importKey and exportKey', () => {
  for (const kind of keyKinds) {
    it(`round-trips the ${kind} key through its export format`, () => {
      assert.deepEqual(importKey(kind, exportOf(kind), { passphrase }), fixedKeys[kind])
    })

    it(`refuses the ${kind} export given as another kind, naming what it is`, () => {
      for (const other of keyKinds.filter((k) => k !== kind)) {
        const article = other === 'account' ? 'an' : 'a'
        const err = expectRefused(
          () => importKey(other, exportOf(kind), { passphrase }),
          'INVALID_INPUT',
          names[kind],
        )
        assert.match(err.message, new RegExp(`not ${article} ${other} key: expected`))
      }
    })

    it(`imports a fleek ${kind} key file (plain or encrypted) and refuses one of another kind`, () => {
      assert.deepEqual(importKey(kind, encodeKeyFile(fixedKeys[kind])), fixedKeys[kind])
      const encrypted = encodeKeyFile(fixedKeys[kind], { passphrase, scrypt: tinyScrypt })
      assert.deepEqual(importKey(kind, encrypted, { passphrase }), fixedKeys[kind])
      const other = keyKinds.find((k) => k !== kind)!
      expectRefused(() => importKey(other, encrypted, { passphrase }), 'INVALID_INPUT', /key file, not/)
    })
  }

  it('imports an account key given as hex, with or without 0x, and refuses a zero key', () => {
    const hexKey = Buffer.from(fixedKeys.account.secret).toString('hex')
    assert.deepEqual(importKey('account', hexKey + '\n'), fixedKeys.account)
    assert.deepEqual(importKey('account', '0x' + hexKey.toUpperCase()), fixedKeys.account)
    expectRefused(
      () => importKey('account', '00'.repeat(32)),
      'INVALID_INPUT',
      /not a valid secp256k1 scalar/,
    )
    expectRefused(
      () => importKey('node', hexKey),
      'INVALID_INPUT',
      /hex private key \(an account key\), not a node key/,
    )
  })

  it('refuses unknown files, other PEMs and an account export without a passphrase', () => {
    expectRefused(
      () => importKey('node', 'hello world'),
      'INVALID_INPUT',
      /not a node key: expected a PKCS#8 PEM/,
    )
    expectRefused(() => importKey('account', '{"not": "a keystore"}'), 'INVALID_INPUT', /not an account key/)
    const cert = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'
    expectRefused(
      () => importKey('consensus', cert),
      'INVALID_INPUT',
      /"CERTIFICATE" PEM, not a consensus key/,
    )
    expectRefused(() => importKey('account', exportOf('account')), 'BAD_PASSPHRASE', /is encrypted/)
    expectRefused(() => exportKey(fixedKeys.account), 'BAD_PASSPHRASE', /give a passphrase/)
    expectRefused(() => exportKey(fixedKeys.consensus, { passphrase }), 'INVALID_INPUT', /not encrypted/)
  })

  it('exports the node key plain without a passphrase', () => {
    const pem = exportKey(fixedKeys.node)
    assert.match(pem, /-----BEGIN PRIVATE KEY-----/)
    assert.deepEqual(detectKeyFormat(pem), { format: 'pkcs8-pem', kind: 'node' })
    assert.deepEqual(importKey('node', pem), fixedKeys.node)
  })
})
