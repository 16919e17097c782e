/**
 * BLS12-381 through @noble/curves, min-pk variant (`longSignatures`): public keys are 48-byte compressed
 * G1 points, signatures 96-byte compressed G2 points — the consensus key. A secret key is the 32-byte
 * big-endian scalar in [1, r).
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'

export const bls = bls12_381.longSignatures
export const G1Point = bls12_381.G1.Point

/** The order r of the BLS12-381 scalar field. */
export const BLS_CURVE_ORDER: bigint = bls12_381.fields.Fr.ORDER

/** True when `secret` is 32 bytes encoding a scalar in [1, r). */
export function isValidBlsScalar(secret: Uint8Array): boolean {
  if (secret.length !== 32) return false
  const value = BigInt('0x' + (Buffer.from(secret).toString('hex') || '0'))
  return value > 0n && value < BLS_CURVE_ORDER
}

/** The 48-byte compressed G1 public key of a valid scalar. */
export function deriveBlsPublicKey(secret: Uint8Array): Uint8Array {
  return bls.getPublicKey(secret).toBytes(true)
}

export function generateBlsScalar(): Uint8Array {
  return bls.keygen().secretKey
}
