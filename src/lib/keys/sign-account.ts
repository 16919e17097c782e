/**
 * Recoverable secp256k1 signatures with the account key, over a 32-byte message hash (the caller hashes:
 * keccak-256 for Ethereum messages, SHA-256 of the transaction digest for fleek transactions). Signatures
 * are 65 bytes r ‖ s ‖ v with low s and v = 27 + recovery id, as Ethereum's ecrecover takes them.
 */
import { FleekError } from '../errors.ts'
import { concatBytes } from './bytes.ts'
import { ethAddress } from './eth-address.ts'
import { secp256k1 } from './secp256k1.ts'
import type { SecretKey } from './types.ts'

export function signAccount(key: SecretKey, messageHash: Uint8Array): Uint8Array {
  if (key.kind !== 'account') throw new FleekError('INVALID_INPUT', 'signAccount needs an account key')
  assertHash(messageHash)
  // noble's "recovered" format is recovery ‖ r ‖ s; Ethereum's is r ‖ s ‖ v.
  const recovered = secp256k1.sign(messageHash, key.secret, {
    prehash: false,
    lowS: true,
    format: 'recovered',
  })
  return concatBytes(recovered.subarray(1, 65), Uint8Array.of(27 + recovered[0]))
}

/**
 * The EIP-55 address that signed `messageHash`. Accepts v as 27/28 or 0/1; refuses (INVALID_INPUT)
 * malformed signatures and high-s ones (malleable).
 */
export function recoverAccountAddress(messageHash: Uint8Array, signature: Uint8Array): string {
  return recoverAccount(messageHash, signature).address
}

/**
 * The signer of `messageHash`: its EIP-55 address and its public key, compressed (33 bytes). The same
 * rules and errors as recoverAccountAddress.
 */
export function recoverAccount(
  messageHash: Uint8Array,
  signature: Uint8Array,
): { address: string; publicKey: Uint8Array } {
  assertHash(messageHash)
  if (signature.length !== 65)
    throw new FleekError('INVALID_INPUT', 'an account signature is 65 bytes (r ‖ s ‖ v)')
  const v = signature[64]
  const recovery = v >= 27 ? v - 27 : v
  if (recovery !== 0 && recovery !== 1)
    throw new FleekError('INVALID_INPUT', 'the account signature has an invalid v')
  try {
    const sig = secp256k1.Signature.fromBytes(signature.subarray(0, 64), 'compact').addRecoveryBit(recovery)
    if (sig.hasHighS()) throw new Error('high s')
    const point = sig.recoverPublicKey(messageHash)
    // Uncompressed: ethAddress hashes X ‖ Y, and a compressed key would cost it a square root.
    return { address: ethAddress(point.toBytes(false)), publicKey: point.toBytes(true) }
  } catch (err) {
    throw new FleekError('INVALID_INPUT', 'the account signature is not valid', { cause: err })
  }
}

function assertHash(messageHash: Uint8Array): void {
  if (!(messageHash instanceof Uint8Array) || messageHash.length !== 32) {
    throw new FleekError('INVALID_INPUT', 'an account signature is over a 32-byte message hash')
  }
}
