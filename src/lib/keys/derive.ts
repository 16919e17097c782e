/** Checks a secret key and derives its public key, for every kind. */
import { FleekError } from '../errors.ts'
import { deriveBlsPublicKey, isValidBlsScalar } from './bls12-381.ts'
import { deriveEd25519PublicKey } from './ed25519.ts'
import { deriveSecp256k1PublicKey, isValidSecp256k1Scalar } from './secp256k1.ts'
import { describeKind, isKeyKind, SECRET_KEY_LENGTH, type KeyKind, type SecretKey } from './types.ts'

/**
 * Throws INVALID_INPUT unless `secret` is a valid secret of `kind`: 32 bytes; for BLS12-381 and
 * secp256k1 a scalar in [1, order). The message never shows the secret.
 */
export function assertValidSecret(
  kind: KeyKind,
  secret: Uint8Array,
  where = `the ${describeKind(kind)}`,
): void {
  if (!(secret instanceof Uint8Array) || secret.length !== SECRET_KEY_LENGTH) {
    throw new FleekError('INVALID_INPUT', `${where} is not ${SECRET_KEY_LENGTH} bytes long`)
  }
  if (kind === 'consensus' && !isValidBlsScalar(secret)) {
    throw new FleekError(
      'INVALID_INPUT',
      `${where} is not a valid BLS12-381 scalar (0 or not below the curve order)`,
    )
  }
  if (kind === 'account' && !isValidSecp256k1Scalar(secret)) {
    throw new FleekError(
      'INVALID_INPUT',
      `${where} is not a valid secp256k1 scalar (0 or not below the curve order)`,
    )
  }
}

/** Checks the shape of a SecretKey (kind and secret) and returns it. */
export function assertValidSecretKey(key: SecretKey): SecretKey {
  if (key === null || typeof key !== 'object' || !isKeyKind(key.kind)) {
    throw new FleekError('INVALID_INPUT', 'a key must be a node, consensus or account key')
  }
  assertValidSecret(key.kind, key.secret)
  return key
}

/** The public key of a secret key: ed25519 32 bytes, BLS G1 48 bytes, secp256k1 33 bytes (compressed). */
export function derivePublicKey(key: SecretKey): Uint8Array {
  assertValidSecretKey(key)
  switch (key.kind) {
    case 'node':
      return deriveEd25519PublicKey(key.secret)
    case 'consensus':
      return deriveBlsPublicKey(key.secret)
    case 'account':
      return deriveSecp256k1PublicKey(key.secret)
  }
}
