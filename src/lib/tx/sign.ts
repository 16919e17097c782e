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
  verifyNodeDigest,
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

/** True when the signature is by the sender: recovered address equals the account, or ed25519 verifies. */
export function verifyTransaction(tx: Transaction, digest = computeTransactionDigest(tx.payload)): boolean {
  const sender = tx.payload.sender
  if ('account' in sender) return recoverAccountDigestSigner(digest, tx.signature) === sender.account
  return verifyNodeDigest(sender.node, digest, tx.signature)
}
