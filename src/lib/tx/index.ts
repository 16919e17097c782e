export * from './types.ts'
export { encodePayload, encodeTransaction, decodeTransaction, decodeTransactionParts } from './codec.ts'
export {
  TRANSACTION_DIGEST_CONTEXT,
  computeDigestOfEncodedPayload,
  computeTransactionDigest,
  signTransaction,
  verifyTransaction,
  type SigningKey,
} from './sign.ts'
export {
  computeAccountAddress,
  getAccountPublicKey,
  getNodePublicKey,
  normalizeAddress,
  toChecksumAddress,
} from './signers.ts'
export { computeStateKey } from './state-key.ts'
