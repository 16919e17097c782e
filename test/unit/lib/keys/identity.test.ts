import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { secp256k1 } from '@noble/curves/secp256k1.js'
import { base58btc } from 'multiformats/bases/base58'
import * as Digest from 'multiformats/hashes/digest'

import {
  ed25519FromPeerId,
  ethAddress,
  generateKey,
  keyKinds,
  peerIdFromEd25519,
  publicIdentity,
  toChecksumAddress,
} from '../../../../src/lib/keys/index.ts'
import { fixedKeys } from './fixtures.ts'
import { expectRefused, hex } from './helpers.ts'

describe('public identities', () => {
  it('gives the Ethereum address of the private key 1 (0x7E5F…5Bdf)', () => {
    const one = new Uint8Array(32)
    one[31] = 1
    const identity = publicIdentity({ kind: 'account', secret: one })
    assert.ok(identity.kind === 'account')
    assert.equal(identity.address, '0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf')
    assert.equal(identity.publicKey.length, 33)
    // the same address from the uncompressed form
    assert.equal(ethAddress(secp256k1.getPublicKey(one, false)), identity.address)
  })

  it('gives the address of the web3.js documentation key', () => {
    const identity = publicIdentity(fixedKeys.account)
    assert.ok(identity.kind === 'account')
    assert.equal(identity.address, '0x2c7536E3605D9C16a7a3D7b1898e529396a65c23')
  })

  it('checksums the EIP-55 examples', () => {
    for (const address of [
      '0x52908400098527886E0F7030069857D2E4169EE7',
      '0x8617E340B3D01FA5F11F306F4090FD50E238070D',
      '0xde709f2102306220921060314715629080e2fb77',
      '0x27b1fdb04752bbc536007a920d24acb045561c26',
      '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
      '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359',
      '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB',
      '0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb',
    ]) {
      assert.equal(toChecksumAddress(address.toLowerCase()), address)
    }
  })

  it('refuses public keys of the wrong length or off the curve', () => {
    expectRefused(() => ethAddress(new Uint8Array(32)), 'INVALID_INPUT', /33 or 65 bytes/)
    expectRefused(
      () => ethAddress(Uint8Array.of(5, ...new Uint8Array(32).fill(2))),
      'INVALID_INPUT',
      /not a secp256k1 public key/,
    )
  })

  it('gives the PeerId of the libp2p spec ed25519 key (12D3KooWBtg3…)', () => {
    // libp2p peer-ids spec test vector: PrivateKey 08011240 ‖ seed ‖ public, PublicKey 08011220 ‖ public
    const seed = hex('7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d')
    const identity = publicIdentity({ kind: 'node', secret: seed })
    assert.ok(identity.kind === 'node')
    assert.deepEqual(
      identity.publicKey,
      hex('1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e'),
    )
    assert.equal(identity.peerId, '12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq')
  })

  it('writes the PeerId as an identity multihash of the protobuf public key, in base58btc', () => {
    const identity = publicIdentity(fixedKeys.node)
    assert.ok(identity.kind === 'node')
    assert.ok(identity.peerId.startsWith('12D3KooW'))
    const bytes = base58btc.decode('z' + identity.peerId)
    const digest = Digest.decode(bytes)
    assert.equal(digest.code, 0x00)
    assert.deepEqual(digest.digest, Uint8Array.of(0x08, 0x01, 0x12, 0x20, ...identity.publicKey))
    assert.equal(base58btc.encode(bytes).slice(1), identity.peerId)
    assert.deepEqual(ed25519FromPeerId(identity.peerId), identity.publicKey)
    assert.deepEqual(base58btc.decode('z' + identity.publicKeyBase58), identity.publicKey)
    expectRefused(() => ed25519FromPeerId('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'), 'INVALID_INPUT')
    expectRefused(() => peerIdFromEd25519(new Uint8Array(33)), 'INVALID_INPUT')
  })

  it('generates valid keys of every kind, with the documented lengths', () => {
    const lengths = { node: 32, consensus: 48, account: 33 }
    for (const kind of keyKinds) {
      const a = generateKey(kind)
      const b = generateKey(kind)
      assert.equal(a.kind, kind)
      assert.equal(a.secret.length, 32)
      assert.notDeepEqual(a.secret, b.secret)
      assert.equal(publicIdentity(a).publicKey.length, lengths[kind])
    }
  })

  it('gives the consensus public key in hex', () => {
    const identity = publicIdentity(fixedKeys.consensus)
    assert.ok(identity.kind === 'consensus')
    assert.equal(identity.publicKeyHex, Buffer.from(identity.publicKey).toString('hex'))
  })

  it('refuses invalid secrets', () => {
    expectRefused(
      () => publicIdentity({ kind: 'account', secret: new Uint8Array(32) }),
      'INVALID_INPUT',
      /not a valid secp256k1 scalar/,
    )
    expectRefused(
      () => publicIdentity({ kind: 'consensus', secret: new Uint8Array(32) }),
      'INVALID_INPUT',
      /not a valid BLS12-381 scalar/,
    )
    expectRefused(
      () => publicIdentity({ kind: 'node', secret: new Uint8Array(31) }),
      'INVALID_INPUT',
      /not 32 bytes/,
    )
  })
})
