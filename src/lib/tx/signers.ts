import {
  derivePublicKey,
  ethAddress,
  recoverAccountAddress,
  signAccount,
  signNode,
  toChecksumAddress,
  verifyNode,
} from '../keys/index.ts'
import { FleekError } from '../errors.ts'

/**
 * The two signature schemes of transactions, over the 32-byte digest, through src/lib/keys:
 * accounts sign with secp256k1 (65 bytes r‖s‖v, low s, v = 27 + recovery id; 0/1 also accepted) and are
 * identified by their Ethereum address, kept lowercase inside fleek; nodes sign with ed25519 (64 bytes).
 */

/** Lowercase 0x address of a secp256k1 public key (33 or 65 bytes). */
export function computeAccountAddress(publicKey: Uint8Array): string {
  return ethAddress(publicKey).toLowerCase()
}

/** Compressed (33-byte) secp256k1 public key of an account secret. */
export function getAccountPublicKey(secret: Uint8Array): Uint8Array {
  return derivePublicKey({ kind: 'account', secret })
}

export function signAccountDigest(secret: Uint8Array, digest: Uint8Array): Uint8Array {
  return signAccount({ kind: 'account', secret }, digest)
}

/** The lowercase 0x address that signed `digest`, or undefined when the signature is malformed or high-s. */
export function recoverAccountDigestSigner(digest: Uint8Array, signature: Uint8Array): string | undefined {
  try {
    return recoverAccountAddress(digest, signature).toLowerCase()
  } catch {
    return undefined
  }
}

export function getNodePublicKey(secret: Uint8Array): Uint8Array {
  return derivePublicKey({ kind: 'node', secret })
}

export function signNodeDigest(secret: Uint8Array, digest: Uint8Array): Uint8Array {
  return signNode({ kind: 'node', secret }, digest)
}

export function verifyNodeDigest(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
  return verifyNode(publicKey, digest, signature)
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
  if (hex !== lower && hex !== hex.toUpperCase() && toChecksumAddress(lower) !== text) {
    throw new FleekError('INVALID_INPUT', `${what} ${text} has a wrong EIP-55 checksum`)
  }
  return '0x' + lower
}

export { toChecksumAddress }
