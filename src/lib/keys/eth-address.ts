/** Ethereum addresses: keccak-256 of the uncompressed public key, last 20 bytes, EIP-55 checksummed. */
import { keccak_256 } from '@noble/hashes/sha3.js'

import { FleekError } from '../errors.ts'
import { utf8 } from './bytes.ts'
import { secp256k1 } from './secp256k1.ts'

/**
 * The EIP-55 address of a secp256k1 public key, compressed (33 bytes) or uncompressed (65 bytes).
 * Throws INVALID_INPUT when the bytes are not a point of the curve.
 */
export function ethAddress(publicKey: Uint8Array): string {
  if (publicKey.length !== 33 && publicKey.length !== 65) {
    throw new FleekError('INVALID_INPUT', `a secp256k1 public key is 33 or 65 bytes, not ${publicKey.length}`)
  }
  let uncompressed: Uint8Array
  try {
    uncompressed = secp256k1.Point.fromBytes(publicKey).toBytes(false)
  } catch (err) {
    throw new FleekError('INVALID_INPUT', 'the bytes are not a secp256k1 public key', { cause: err })
  }
  const lower = Buffer.from(keccak_256(uncompressed.subarray(1)).subarray(12)).toString('hex')
  return toChecksumAddress(lower)
}

/** EIP-55 mixed-case checksum of a 40-hex-digit address (any case, with or without 0x). */
export function toChecksumAddress(address: string): string {
  const lower = address.replace(/^0x/i, '').toLowerCase()
  if (!/^[0-9a-f]{40}$/.test(lower))
    throw new FleekError('INVALID_INPUT', 'an Ethereum address is 40 hex digits')
  const hash = Buffer.from(keccak_256(utf8(lower))).toString('hex')
  let out = '0x'
  for (let i = 0; i < 40; i++) out += parseInt(hash[i], 16) >= 8 ? lower[i].toUpperCase() : lower[i]
  return out
}
