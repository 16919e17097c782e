/**
 * BLS12-381 signatures with the consensus key (min-pk: 48-byte G1 public keys, 96-byte G2 signatures),
 * with the IETF proof-of-possession ciphersuite, as Ethereum's consensus layer uses. Aggregating
 * signatures of one message by many keys is safe only for keys whose proof of possession was checked
 * (`proveConsensusKey` / `verifyConsensusKeyProof`, at committee registration): otherwise a rogue key
 * could forge an aggregate.
 */
import { FleekError } from '../errors.ts'
import { bls, deriveBlsPublicKey, G1Point, isValidBlsScalar } from './bls12-381.ts'
import type { SecretKey } from './types.ts'

/** Domain separation tag of signatures (BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_). */
export const CONSENSUS_SIGNATURE_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_'
/** Domain separation tag of proofs of possession. */
export const CONSENSUS_POP_DST = 'BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_'

export function signConsensus(key: SecretKey, message: Uint8Array): Uint8Array {
  assertConsensusKey(key)
  return bls.Signature.toBytes(bls.sign(bls.hash(message, CONSENSUS_SIGNATURE_DST), key.secret))
}

/** True when `signature` (96 B) is `publicKey`'s (48 B) signature of `message`; false for malformed input. */
export function verifyConsensus(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return verifyWithDst(publicKey, message, signature, CONSENSUS_SIGNATURE_DST)
}

/** The aggregate (96 B) of signatures; INVALID_INPUT when the list is empty or one is malformed. */
export function aggregateSignatures(signatures: readonly Uint8Array[]): Uint8Array {
  if (signatures.length === 0) throw new FleekError('INVALID_INPUT', 'no signatures to aggregate')
  try {
    return bls.Signature.toBytes(bls.aggregateSignatures([...signatures]))
  } catch (err) {
    throw new FleekError('INVALID_INPUT', 'a consensus signature to aggregate is malformed', { cause: err })
  }
}

/** The aggregate (48 B) of public keys; INVALID_INPUT when the list is empty or one is malformed. */
export function aggregatePublicKeys(publicKeys: readonly Uint8Array[]): Uint8Array {
  if (publicKeys.length === 0) throw new FleekError('INVALID_INPUT', 'no public keys to aggregate')
  try {
    return bls.aggregatePublicKeys([...publicKeys]).toBytes(true)
  } catch (err) {
    throw new FleekError('INVALID_INPUT', 'a consensus public key to aggregate is malformed', { cause: err })
  }
}

/** The proof of possession of a consensus key: its signature of its own public key under the PoP tag. */
export function proveConsensusKey(key: SecretKey): Uint8Array {
  assertConsensusKey(key)
  const message = bls.hash(deriveBlsPublicKey(key.secret), CONSENSUS_POP_DST)
  return bls.Signature.toBytes(bls.sign(message, key.secret))
}

export function verifyConsensusKeyProof(publicKey: Uint8Array, proof: Uint8Array): boolean {
  return verifyWithDst(publicKey, publicKey, proof, CONSENSUS_POP_DST)
}

function verifyWithDst(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
  dst: string,
): boolean {
  if (publicKey.length !== 48 || signature.length !== 96) return false
  try {
    const point = G1Point.fromBytes(publicKey)
    // the identity would verify the identity signature of anything
    if (point.is0()) return false
    return bls.verify(signature, bls.hash(message, dst), point)
  } catch {
    return false
  }
}

function assertConsensusKey(key: SecretKey): void {
  if (key.kind !== 'consensus' || !isValidBlsScalar(key.secret)) {
    throw new FleekError('INVALID_INPUT', 'a consensus signature needs a valid consensus key')
  }
}
