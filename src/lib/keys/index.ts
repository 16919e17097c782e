/**
 * Keys of a fleek node (DESIGN §3.3): generation, public identities, the key files at rest, the export
 * and import formats, and small signing helpers. Pure library: no file system, no logging.
 */
export * from './types.ts'
export { generateKey } from './generate-key.ts'
export { assertValidSecret, assertValidSecretKey, derivePublicKey } from './derive.ts'
export { identityFromPublicKey, publicIdentity } from './identity.ts'
export { ethAddress, toChecksumAddress } from './eth-address.ts'
export { ed25519FromPeerId, encodeBase58, peerIdFromEd25519 } from './peer-id.ts'
export { defaultScryptParams } from './kdf.ts'
export {
  decodeKeyFile,
  encodeKeyFile,
  isEncryptedKeyFile,
  KEY_FILE_VERSION,
  readKeyFileIdentity,
  readKeyFilePublicKey,
  type DecodeKeyFileOptions,
  type EncodeKeyFileOptions,
} from './key-file.ts'
export {
  DEFAULT_PKCS8_PBKDF2_ITERATIONS,
  exportNodePem,
  importNodePem,
  type ExportNodePemOptions,
  type ImportNodePemOptions,
} from './node-pem.ts'
export { CONSENSUS_PEM_LABEL, exportConsensusPem, importConsensusPem } from './consensus-pem.ts'
export {
  defaultKeystoreScryptParams,
  exportAccountKeystore,
  importAccountKeystore,
  type ExportAccountKeystoreOptions,
} from './account-keystore.ts'
export {
  detectKeyFormat,
  exportFileExtensions,
  exportKey,
  importKey,
  type ExportKeyOptions,
  type ImportKeyOptions,
  type KeyFormat,
} from './import-key.ts'
export { signNode, verifyNode } from './sign-node.ts'
export { recoverAccount, recoverAccountAddress, signAccount } from './sign-account.ts'
export { createAccountVerifyKey, verifyAccountSha256 } from './verify-account.ts'
export {
  aggregatePublicKeys,
  aggregateSignatures,
  CONSENSUS_POP_DST,
  CONSENSUS_SIGNATURE_DST,
  proveConsensusKey,
  signConsensus,
  verifyConsensus,
  verifyConsensusKeyProof,
} from './sign-consensus.ts'
