import { deriveKey } from '../b3/index.ts'
import { FleekError } from '../errors.ts'
import { encodePayload } from './codec.ts'
import {
  computeAccountAddress,
  getAccountPublicKey,
  getNodePublicKey,
  recoverAccountDigestSigner,
  signAccountDigest,
  signNodeDigest,
  verifyAccountDigestWithKey,
  verifyNodeDigest,
  type AccountKeyCache,
} from './signers.ts'
import type { Transaction, TransactionPayload } from './types.ts'
import { equalBytes } from '../bytes.ts'

export const TRANSACTION_DIGEST_CONTEXT = 'fleek-network transaction v1'

/** The transaction hash and replay key: `deriveKey("fleek-network transaction v1", dagcbor(payload))`. */
export function computeTransactionDigest(payload: TransactionPayload): Uint8Array {
  return deriveKey(TRANSACTION_DIGEST_CONTEXT, encodePayload(payload))
}

/** The digest from the payload's canonical DAG-CBOR bytes (see decodeTransactionParts). */
export function computeDigestOfEncodedPayload(payloadBytes: Uint8Array): Uint8Array {
  return deriveKey(TRANSACTION_DIGEST_CONTEXT, payloadBytes)
}

export interface SigningKey {
  kind: 'account' | 'node'
  /** secp256k1 scalar (account) or ed25519 seed (node), 32 bytes. */
  secret: Uint8Array
}

/** Signs `payload`; the key must belong to the payload's sender (checked, to catch mix-ups early). */
export function signTransaction(payload: TransactionPayload, key: SigningKey): Transaction {
  const digest = computeTransactionDigest(payload)
  if ('account' in payload.sender) {
    if (key.kind !== 'account')
      throw new FleekError('INVALID_INPUT', 'an account sender needs an account key')
    const address = computeAccountAddress(getAccountPublicKey(key.secret))
    if (address !== payload.sender.account) {
      throw new FleekError(
        'INVALID_INPUT',
        `the account key is for ${address}, not the sender ${payload.sender.account}`,
      )
    }
    return { payload, signature: signAccountDigest(key.secret, digest) }
  }
  if (key.kind !== 'node') throw new FleekError('INVALID_INPUT', 'a node sender needs a node key')
  if (!equalBytes(getNodePublicKey(key.secret), payload.sender.node)) {
    throw new FleekError('INVALID_INPUT', 'the node key does not match the sender node')
  }
  return { payload, signature: signNodeDigest(key.secret, digest) }
}

export interface VerifyTransactionOptions {
  /**
   * The account's public key as recorded in the chain state (33 bytes compressed), or undefined when
   * none is recorded yet. Absent: every account signature is checked by recovery.
   */
  accountKey?: (address: string) => Uint8Array | undefined
  /** Key objects of known keys (without one, each known-key check makes its own, ~0.1 ms). */
  keyCache?: AccountKeyCache
}

/**
 * The verdict on a transaction's signature, and for an account whose key the state does not hold yet
 * (checked by recovery) the recovered public key, compressed: the key to record when it executes.
 */
export type SignatureCheck = { valid: false } | { valid: true; recoveredKey?: Uint8Array }

/**
 * Checks the signature by the sender (docs/protocol/transactions.md §4): a node's by ed25519; an
 * account's by the known-key rule (OpenSSL, ECDSA of SHA-256(digest)) when `accountKey` gives its
 * recorded key, else by recovery from SHA-256(digest), whose address must be the sender.
 */
export function checkTransactionSignature(
  tx: Transaction,
  digest: Uint8Array,
  options: VerifyTransactionOptions = {},
): SignatureCheck {
  const sender = tx.payload.sender
  if ('account' in sender) {
    const known = options.accountKey?.(sender.account)
    if (known !== undefined)
      return { valid: verifyAccountDigestWithKey(known, digest, tx.signature, options.keyCache) }
    const signer = recoverAccountDigestSigner(digest, tx.signature)
    if (signer?.address !== sender.account) return { valid: false }
    return { valid: true, recoveredKey: signer.publicKey }
  }
  return { valid: verifyNodeDigest(sender.node, digest, tx.signature) }
}

/** True when the signature is by the sender (checkTransactionSignature's verdict). */
export function verifyTransaction(
  tx: Transaction,
  digest = computeTransactionDigest(tx.payload),
  options: VerifyTransactionOptions = {},
): boolean {
  return checkTransactionSignature(tx, digest, options).valid
}
