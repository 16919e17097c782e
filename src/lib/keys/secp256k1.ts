/** secp256k1 through @noble/curves: the account key. A secret key is the 32-byte big-endian scalar. */
import { secp256k1 } from '@noble/curves/secp256k1.js'

export { secp256k1 }

/** True when `secret` is 32 bytes encoding a scalar in [1, n). */
export function isValidSecp256k1Scalar(secret: Uint8Array): boolean {
  return secret.length === 32 && secp256k1.utils.isValidSecretKey(secret)
}

/** The 33-byte compressed public key of a valid scalar. */
export function deriveSecp256k1PublicKey(secret: Uint8Array): Uint8Array {
  return secp256k1.getPublicKey(secret, true)
}

export function generateSecp256k1Scalar(): Uint8Array {
  return secp256k1.utils.randomSecretKey()
}
