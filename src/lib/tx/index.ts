export * from './types.ts'
export { encodePayload, encodeTransaction, decodeTransaction, decodeTransactionParts } from './codec.ts'
export {
  TRANSACTION_DIGEST_CONTEXT,
  computeDigestOfEncodedPayload,
  checkTransactionSignature,
  computeTransactionDigest,
  signTransaction,
  verifyTransaction,
  type SignatureCheck,
  type SigningKey,
  type VerifyTransactionOptions,
} from './sign.ts'
export {
  AccountKeyCache,
  DEFAULT_ACCOUNT_KEY_CACHE_SIZE,
  computeAccountAddress,
  computeAccountMessageHash,
  getAccountPublicKey,
  getNodePublicKey,
  normalizeAddress,
  toChecksumAddress,
} from './signers.ts'
export { computeStateKey } from './state-key.ts'
