import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'

import {
  exportConsensusPem,
  exportNodePem,
  importNodePem,
  publicIdentity,
  type SecretKey,
} from '../../../../src/lib/keys/index.ts'
import { fixedKeys } from './fixtures.ts'
import { checkEveryTamper, expectRefused, hex, pemBodyRanges } from './helpers.ts'

const key = fixedKeys.node
// RFC 8032 §7.1 test 1: the public key of the fixed seed
const rfcPublicKey = hex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
const passphrase = 'pem passphrase'
const fastPem = { passphrase, pbkdf2Iterations: 1000 }

const openssl = spawnSync('openssl', ['version'], { encoding: 'utf8' })
const opensslSkip = openssl.status === 0 ? false : 'openssl is not installed'
const dir = mkdtempSync(join(tmpdir(), 'fleek-keys-pem-'))
after(() => rmSync(dir, { recursive: true, force: true }))

function rawPublicKey(publicKeyPem: string): Uint8Array {
  const jwk = createPublicKey(publicKeyPem).export({ format: 'jwk' })
  return new Uint8Array(Buffer.from(jwk.x as string, 'base64url'))
}

function runOpenssl(args: string[]): string {
  const result = spawnSync('openssl', args, { encoding: 'utf8', timeout: 30_000 })
  assert.equal(result.status, 0, `openssl ${args.join(' ')} failed: ${result.stderr}`)
  return result.stdout
}

describe('node key PKCS#8 PEM', () => {
  it('derives the RFC 8032 public key from the RFC 8032 seed', () => {
    assert.deepEqual(publicIdentity(key).publicKey, rfcPublicKey)
  })

  it('round-trips plain, and node:crypto reads the export with the same public key', () => {
    const pem = exportNodePem(key)
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----$/m)
    assert.deepEqual(importNodePem(pem), key)
    const keyObject = createPrivateKey(pem)
    assert.equal(keyObject.asymmetricKeyType, 'ed25519')
    assert.deepEqual(
      rawPublicKey(createPublicKey(keyObject).export({ type: 'spki', format: 'pem' }) as string),
      rfcPublicKey,
    )
  })

  it('round-trips encrypted (PBES2), and node:crypto decrypts it with the passphrase', () => {
    const pem = exportNodePem(key, fastPem)
    assert.match(pem, /^-----BEGIN ENCRYPTED PRIVATE KEY-----$/m)
    assert.deepEqual(importNodePem(pem, { passphrase }), key)
    const keyObject = createPrivateKey({ key: pem, passphrase })
    assert.deepEqual(
      rawPublicKey(createPublicKey(keyObject).export({ type: 'spki', format: 'pem' }) as string),
      rfcPublicKey,
    )
  })

  it('writes 600,000 PBKDF2 iterations by default', () => {
    const pem = exportNodePem(key, { passphrase })
    const der = Buffer.from(pem.split('-----')[2].replace(/\s/g, ''), 'base64')
    // INTEGER 600000 = 02 03 09 27 c0
    assert.ok(der.includes(Buffer.from('02030927c0', 'hex')))
    assert.deepEqual(importNodePem(pem, { passphrase }), key)
  })

  it('refuses a wrong passphrase and a missing one with BAD_PASSPHRASE', () => {
    const pem = exportNodePem(key, fastPem)
    expectRefused(() => importNodePem(pem, { passphrase: 'not it' }), 'BAD_PASSPHRASE', /wrong passphrase/)
    expectRefused(() => importNodePem(pem), 'BAD_PASSPHRASE', /is encrypted: give the passphrase/)
  })

  it('refuses every edit of one character of a plain export, or reads the same key', () => {
    const pem = exportNodePem(key)
    // the 32-byte seed is the end of the 48-byte DER
    const refused = checkEveryTamper(pem, (t) => importNodePem(t), key, pemBodyRanges(pem, -32, 0))
    assert.ok(refused > 60)
  })

  it('refuses every edit of one character of an encrypted export, or reads the same key', () => {
    const pem = exportNodePem(key, fastPem)
    // Encrypted PKCS#8 (PBKDF2 + AES-CBC) has no MAC: an edit of the last cipher block leaves a valid
    // padding about once in 256, and OpenSSL then reads the intact DER before the garbled tail — the
    // same key. So an accepted edit must give the same key (checked for every edit), and nearly all
    // edits of the encrypted data (the last 64 bytes of the DER) must be refused.
    const ranges = pemBodyRanges(pem, -64, 0)
    const refused = checkEveryTamper(pem, (t) => importNodePem(t, { passphrase }), key, [])
    const inRange = ranges.reduce((n, [a, b]) => n + (b - a), 0)
    assert.ok(refused >= inRange * 0.8, `only ${refused} edits refused (${inRange} in the encrypted data)`)
  })

  it('refuses a changed seed even without the explanatory lines when they are kept (public key check)', () => {
    const other: SecretKey = {
      kind: 'node',
      secret: hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb'),
    }
    const mine = exportNodePem(key)
    const theirs = exportNodePem(other)
    const spliced = mine.slice(0, mine.indexOf('-----BEGIN')) + theirs.slice(theirs.indexOf('-----BEGIN'))
    expectRefused(() => importNodePem(spliced), 'INVALID_INPUT', /does not match the public key/)
    // a bare block (no explanatory text) is a plain PKCS#8 file: accepted
    assert.deepEqual(importNodePem(theirs.slice(theirs.indexOf('-----BEGIN'))), other)
  })

  it('refuses a consensus PEM, a public key, an RSA key, two blocks and garbage with one clear line', () => {
    expectRefused(
      () => importNodePem(exportConsensusPem(fixedKeys.consensus)),
      'INVALID_INPUT',
      /consensus key PEM, not the node key PEM/,
    )
    const publicPem = createPublicKey(createPrivateKey(exportNodePem(key))).export({
      type: 'spki',
      format: 'pem',
    }) as string
    expectRefused(() => importNodePem(publicPem), 'INVALID_INPUT', /public key, not a private key/)
    const rsa = createPrivateKey({
      key: readFileSync(new URL('./rsa-512.pem', import.meta.url), 'utf8'),
    }).export({ type: 'pkcs8', format: 'pem' }) as string
    expectRefused(() => importNodePem(rsa), 'INVALID_INPUT', /holds a rsa key, not an ed25519 key/)
    expectRefused(
      () => importNodePem(exportNodePem(key) + exportNodePem(key)),
      'INVALID_INPUT',
      /2 PEM blocks/,
    )
    expectRefused(() => importNodePem('hello'), 'INVALID_INPUT', /not PEM/)
    expectRefused(
      () => importNodePem(exportNodePem(key).replace(/-----END[^\n]*\n$/, '')),
      'INVALID_INPUT',
      /truncated/,
    )
  })

  describe('with openssl', { skip: opensslSkip }, () => {
    it('openssl pkey -pubout reads the plain and the encrypted export', () => {
      const plain = join(dir, 'node.pem')
      const encrypted = join(dir, 'node-encrypted.pem')
      writeFileSync(plain, exportNodePem(key), { mode: 0o600 })
      writeFileSync(encrypted, exportNodePem(key, fastPem), { mode: 0o600 })
      assert.deepEqual(rawPublicKey(runOpenssl(['pkey', '-in', plain, '-pubout'])), rfcPublicKey)
      const out = runOpenssl(['pkey', '-in', encrypted, '-passin', `pass:${passphrase}`, '-pubout'])
      assert.deepEqual(rawPublicKey(out), rfcPublicKey)
    })

    it('imports keys that openssl generated, plain and encrypted with openssl pkcs8 -v2 aes256', () => {
      const generated = join(dir, 'generated.pem')
      runOpenssl(['genpkey', '-algorithm', 'ed25519', '-out', generated])
      const expected = rawPublicKey(runOpenssl(['pkey', '-in', generated, '-pubout']))
      const imported = importNodePem(readFileSync(generated, 'utf8'))
      assert.deepEqual(publicIdentity(imported).publicKey, expected)
      const encrypted = runOpenssl([
        'pkcs8',
        '-topk8',
        '-v2',
        'aes256',
        '-in',
        generated,
        '-passout',
        'pass:s3cret',
      ])
      assert.deepEqual(importNodePem(encrypted, { passphrase: 's3cret' }), imported)
      expectRefused(() => importNodePem(encrypted, { passphrase: 'other' }), 'BAD_PASSPHRASE')
    })
  })
})
