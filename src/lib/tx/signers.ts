import { createPrivateKey, createPublicKey, sign as signEd25519, verify as verifyEd25519 } from 'node:crypto'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { FleekError } from '../errors.ts'

/**
 * The two signature schemes of transactions, over the 32-byte digest:
 * accounts sign with secp256k1 (65 bytes r‖s‖v, v = recovery id 0 or 1; 27/28 accepted on verify) and
 * are identified by their Ethereum address; nodes sign with ed25519 (64 bytes).
 */

const ED25519_PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
])
const ED25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
])

/** Lowercase 0x address of a secp256k1 public key (33 or 65 bytes). */
export function computeAccountAddress(publicKey: Uint8Array): string {
  const point = secp256k1.Point.fromBytes(publicKey)
  const uncompressed = point.toBytes(false)
  return '0x' + Buffer.from(keccak_256(uncompressed.subarray(1)).subarray(12)).toString('hex')
}

export function getAccountPublicKey(secret: Uint8Array): Uint8Array {
  return secp256k1.getPublicKey(secret, true)
}

export function signAccountDigest(secret: Uint8Array, digest: Uint8Array): Uint8Array {
  const recovered = secp256k1.sign(digest, secret, { prehash: false, format: 'recovered' })
  const out = new Uint8Array(65)
  out.set(recovered.subarray(1), 0)
  out[64] = recovered[0]
  return out
}

/** The lowercase 0x address that signed `digest`, or undefined when the signature is malformed. */
export function recoverAccountDigestSigner(digest: Uint8Array, signature: Uint8Array): string | undefined {
  if (signature.length !== 65) return undefined
  let v = signature[64]
  if (v === 27 || v === 28) v -= 27
  if (v !== 0 && v !== 1) return undefined
  const recovered = new Uint8Array(65)
  recovered[0] = v
  recovered.set(signature.subarray(0, 64), 1)
  try {
    return computeAccountAddress(secp256k1.recoverPublicKey(recovered, digest, { prehash: false }))
  } catch {
    return undefined
  }
}

export function getNodePublicKey(secret: Uint8Array): Uint8Array {
  const der = createPublicKey(toEd25519PrivateKey(secret)).export({ format: 'der', type: 'spki' })
  return new Uint8Array(der.subarray(ED25519_SPKI_PREFIX.length))
}

export function signNodeDigest(secret: Uint8Array, digest: Uint8Array): Uint8Array {
  return new Uint8Array(signEd25519(null, digest, toEd25519PrivateKey(secret)))
}

export function verifyNodeDigest(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false
  try {
    const key = createPublicKey({
      key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]),
      format: 'der',
      type: 'spki',
    })
    return verifyEd25519(null, digest, key, signature)
  } catch {
    return false
  }
}

function toEd25519PrivateKey(secret: Uint8Array) {
  if (secret.length !== 32) throw new FleekError('INVALID_INPUT', 'a node secret key must be 32 bytes')
  return createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, secret]),
    format: 'der',
    type: 'pkcs8',
  })
}

const HEX_ADDRESS = /^0x[0-9a-fA-F]{40}$/

/**
 * Validates an Ethereum address typed by a user and returns its lowercase form. A mixed-case address
 * must carry a correct EIP-55 checksum; all-lower and all-upper are accepted as is.
 */
export function normalizeAddress(text: string, what = 'address'): string {
  if (typeof text !== 'string' || !HEX_ADDRESS.test(text)) {
    throw new FleekError('INVALID_INPUT', `${what} must be 0x followed by 40 hex digits`)
  }
  const hex = text.slice(2)
  const lower = hex.toLowerCase()
  if (hex !== lower && hex !== hex.toUpperCase() && toChecksumAddress('0x' + lower) !== text) {
    throw new FleekError('INVALID_INPUT', `${what} ${text} has a wrong EIP-55 checksum`)
  }
  return '0x' + lower
}

/** EIP-55 mixed-case form of a lowercase address. */
export function toChecksumAddress(address: string): string {
  const lower = address.slice(2).toLowerCase()
  const hash = keccak_256(new TextEncoder().encode(lower))
  let out = '0x'
  for (let i = 0; i < lower.length; i++) {
    const nibble = (hash[i >> 1] >> (i % 2 === 0 ? 4 : 0)) & 0xf
    out += nibble >= 8 ? lower[i].toUpperCase() : lower[i]
  }
  return out
}
