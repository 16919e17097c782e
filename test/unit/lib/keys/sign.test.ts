import assert from 'node:assert/strict'
import { createHash, createPrivateKey, sign } from 'node:crypto'
import { describe, it } from 'node:test'

import { ed25519 } from '@noble/curves/ed25519.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'

import {
  aggregatePublicKeys,
  aggregateSignatures,
  proveConsensusKey,
  publicIdentity,
  createAccountVerifyKey,
  recoverAccount,
  recoverAccountAddress,
  signAccount,
  verifyAccountSha256,
  signConsensus,
  signNode,
  verifyConsensus,
  verifyConsensusKeyProof,
  verifyNode,
  type SecretKey,
} from '../../../../src/lib/keys/index.ts'
import { fixedKeys, otherKeys } from './fixtures.ts'
import { expectRefused, hex } from './helpers.ts'

const message = new TextEncoder().encode('fleek-network test message')

function flip(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[index] ^= 1
  return copy
}

describe('node signatures (ed25519)', () => {
  it('gives the RFC 8032 §7.1 test 1 signature of the empty message', () => {
    const signature = signNode(fixedKeys.node, new Uint8Array(0))
    assert.deepEqual(
      signature,
      hex(
        'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
      ),
    )
  })

  it('verifies its signatures, agrees with noble, and refuses edits', () => {
    const publicKey = publicIdentity(fixedKeys.node).publicKey
    const signature = signNode(fixedKeys.node, message)
    assert.equal(verifyNode(publicKey, message, signature), true)
    assert.equal(ed25519.verify(signature, message, publicKey), true)
    assert.equal(verifyNode(publicKey, flip(message, 0), signature), false)
    assert.equal(verifyNode(publicKey, message, flip(signature, 5)), false)
    assert.equal(verifyNode(publicIdentity(otherKeys.node).publicKey, message, signature), false)
    assert.equal(verifyNode(publicKey.subarray(1), message, signature), false)
    assert.equal(verifyNode(publicKey, message, signature.subarray(1)), false)
  })

  it('refuses a key of another kind', () => {
    expectRefused(() => signNode(fixedKeys.account, message), 'INVALID_INPUT')
  })
})

describe('account signatures (secp256k1, recoverable)', () => {
  const hash = keccak_256(message)

  it('signs r ‖ s ‖ v with v 27/28 and recovers the address', () => {
    const identity = publicIdentity(fixedKeys.account)
    assert.ok(identity.kind === 'account')
    const signature = signAccount(fixedKeys.account, hash)
    assert.equal(signature.length, 65)
    assert.ok(signature[64] === 27 || signature[64] === 28)
    assert.equal(recoverAccountAddress(hash, signature), identity.address)
    // noble verifies the r ‖ s part, low s
    assert.equal(
      secp256k1.verify(signature.subarray(0, 64), hash, identity.publicKey, { prehash: false }),
      true,
    )
    // v as 0/1 works too
    const v01 = Uint8Array.from(signature)
    v01[64] -= 27
    assert.equal(recoverAccountAddress(hash, v01), identity.address)
  })

  it('recovers another address from an edited hash or signature, and refuses malformed ones', () => {
    const identity = publicIdentity(fixedKeys.account)
    assert.ok(identity.kind === 'account')
    const signature = signAccount(fixedKeys.account, hash)
    assert.notEqual(recoverAccountAddress(flip(hash, 3), signature), identity.address)
    const otherV = Uint8Array.from(signature)
    otherV[64] = otherV[64] === 27 ? 28 : 27
    assert.notEqual(recoverAccountAddress(hash, otherV), identity.address)
    expectRefused(() => recoverAccountAddress(hash, signature.subarray(0, 64)), 'INVALID_INPUT')
    const badV = Uint8Array.from(signature)
    badV[64] = 29
    expectRefused(() => recoverAccountAddress(hash, badV), 'INVALID_INPUT', /invalid v/)
    // high s (n − s) is malleable: refused
    const sig = secp256k1.Signature.fromBytes(signature.subarray(0, 64), 'compact')
    const high = new secp256k1.Signature(sig.r, secp256k1.Point.Fn.ORDER - sig.s).toBytes('compact')
    expectRefused(() => recoverAccountAddress(hash, Uint8Array.of(...high, 27)), 'INVALID_INPUT')
    expectRefused(() => signAccount(fixedKeys.account, message), 'INVALID_INPUT', /32-byte message hash/)
  })
})

describe('account signatures against a known key (OpenSSL, ECDSA-SHA256)', () => {
  const identity = publicIdentity(fixedKeys.account)
  assert.ok(identity.kind === 'account')
  const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest())
  const signSha256 = (m: Uint8Array) => signAccount(fixedKeys.account, sha256(m))

  it('recovers the compressed key and the address of the signer', () => {
    const signature = signSha256(message)
    const { address, publicKey } = recoverAccount(sha256(message), signature)
    assert.equal(address, identity.address)
    assert.deepEqual(publicKey, identity.publicKey)
  })

  it('verifies r ‖ s ‖ v over SHA-256 of the message, as OpenSSL signs it, with v unbound', () => {
    for (const publicKey of [
      identity.publicKey,
      secp256k1.Point.fromBytes(identity.publicKey).toBytes(false),
    ]) {
      const key = createAccountVerifyKey(publicKey)
      const signature = signSha256(message)
      assert.equal(verifyAccountSha256(key, message, signature), true)
      for (const v of [0, 1, 27, 28])
        assert.equal(verifyAccountSha256(key, message, Uint8Array.of(...signature.subarray(0, 64), v)), true)
      for (const v of [2, 26, 29, 255])
        assert.equal(verifyAccountSha256(key, message, Uint8Array.of(...signature.subarray(0, 64), v)), false)
      assert.equal(verifyAccountSha256(key, flip(message, 2), signature), false)
      assert.equal(verifyAccountSha256(key, message, flip(signature, 40)), false)
      assert.equal(verifyAccountSha256(key, message, signature.subarray(0, 64)), false)
      // The high-s twin verifies for OpenSSL; it is refused here.
      const sig = secp256k1.Signature.fromBytes(signature.subarray(0, 64), 'compact')
      const high = new secp256k1.Signature(sig.r, secp256k1.Point.Fn.ORDER - sig.s).toBytes('compact')
      assert.equal(verifyAccountSha256(key, message, Uint8Array.of(...high, 27)), false)
    }
  })

  it('accepts a signature OpenSSL made (DER converted to r ‖ s) once s is low', () => {
    const pkcs8 = Buffer.concat([
      Buffer.from('303e020100301006072a8648ce3d020106052b8104000a042730250201010420', 'hex'),
      fixedKeys.account.secret,
    ])
    const privateKey = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })
    const rs = sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' })
    const sig = secp256k1.Signature.fromBytes(rs, 'compact')
    const low = sig.hasHighS() ? new secp256k1.Signature(sig.r, secp256k1.Point.Fn.ORDER - sig.s) : sig
    const key = createAccountVerifyKey(identity.publicKey)
    assert.equal(verifyAccountSha256(key, message, Uint8Array.of(...low.toBytes('compact'), 27)), true)
  })

  it('refuses bytes that are not a public key', () => {
    expectRefused(() => createAccountVerifyKey(new Uint8Array(32)), 'INVALID_INPUT', /33 or 65 bytes/)
    expectRefused(
      () => createAccountVerifyKey(new Uint8Array(33)),
      'INVALID_INPUT',
      /not a secp256k1 public key/,
    )
  })
})

describe('consensus signatures (BLS12-381 min-pk)', () => {
  const keys: SecretKey[] = [
    fixedKeys.consensus,
    otherKeys.consensus,
    { kind: 'consensus', secret: hex('00'.repeat(31) + '07') },
  ]
  const publicKeys = keys.map((key) => publicIdentity(key).publicKey)

  it('signs 96 bytes and verifies, and refuses edits and other keys', () => {
    const signature = signConsensus(keys[0], message)
    assert.equal(signature.length, 96)
    assert.equal(verifyConsensus(publicKeys[0], message, signature), true)
    assert.equal(verifyConsensus(publicKeys[1], message, signature), false)
    assert.equal(verifyConsensus(publicKeys[0], flip(message, 1), signature), false)
    assert.equal(verifyConsensus(publicKeys[0], message, flip(signature, 40)), false)
    assert.equal(verifyConsensus(publicKeys[0].subarray(1), message, signature), false)
  })

  it('verifies an aggregate signature of one message against the aggregate public key', () => {
    const signatures = keys.map((key) => signConsensus(key, message))
    const aggregate = aggregateSignatures(signatures)
    const aggregateKey = aggregatePublicKeys(publicKeys)
    assert.equal(aggregate.length, 96)
    assert.equal(aggregateKey.length, 48)
    assert.equal(verifyConsensus(aggregateKey, message, aggregate), true)
    assert.equal(verifyConsensus(aggregatePublicKeys(publicKeys.slice(0, 2)), message, aggregate), false)
    assert.equal(verifyConsensus(aggregateKey, message, aggregateSignatures(signatures.slice(1))), false)
    expectRefused(() => aggregateSignatures([]), 'INVALID_INPUT')
    expectRefused(() => aggregatePublicKeys([new Uint8Array(48)]), 'INVALID_INPUT')
  })

  it('proves possession of a key, and the proof is no signature of anything else', () => {
    const proof = proveConsensusKey(keys[0])
    assert.equal(verifyConsensusKeyProof(publicKeys[0], proof), true)
    assert.equal(verifyConsensusKeyProof(publicKeys[1], proof), false)
    // a signature of the public key bytes under the signature tag is not a proof (domain separation)
    assert.equal(verifyConsensusKeyProof(publicKeys[0], signConsensus(keys[0], publicKeys[0])), false)
  })

  it('refuses the identity as a public key', () => {
    const identity = new Uint8Array(48)
    identity[0] = 0xc0
    assert.equal(verifyConsensus(identity, message, signConsensus(keys[0], message)), false)
  })
})
