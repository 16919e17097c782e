/** Fresh random keys from the operating system's CSPRNG. */
import { generateBlsScalar } from './bls12-381.ts'
import { generateEd25519Seed } from './ed25519.ts'
import { generateSecp256k1Scalar } from './secp256k1.ts'
import { FleekError } from '../errors.ts'
import type { KeyKind, SecretKey } from './types.ts'

/** A new key: ed25519 seed (node:crypto), BLS12-381 scalar or secp256k1 scalar (@noble/curves). */
export function generateKey(kind: KeyKind): SecretKey {
  switch (kind) {
    case 'node':
      return { kind, secret: generateEd25519Seed() }
    case 'consensus':
      return { kind, secret: generateBlsScalar() }
    case 'account':
      return { kind, secret: generateSecp256k1Scalar() }
    default:
      throw new FleekError('INVALID_INPUT', 'a key must be a node, consensus or account key')
  }
}
