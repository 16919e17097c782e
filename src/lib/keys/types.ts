/**
 * The three keys of a fleek node (DESIGN §3.3) and the shapes the CLI and the node share.
 * A `SecretKey` is plain data: the kind and the 32 secret bytes. Everything else (public key, address,
 * PeerId) is derived from it.
 */
export type KeyKind = 'node' | 'consensus' | 'account'

export const keyKinds: readonly KeyKind[] = ['node', 'consensus', 'account']

export type KeyAlgorithm = 'ed25519' | 'bls12-381' | 'secp256k1'

/** The algorithm of each kind of key. */
export const keyAlgorithms: Readonly<Record<KeyKind, KeyAlgorithm>> = {
  node: 'ed25519',
  consensus: 'bls12-381',
  account: 'secp256k1',
}

/** Byte length of the public key each kind of key stores (ed25519, compressed G1, compressed secp256k1). */
export const publicKeyLengths: Readonly<Record<KeyKind, number>> = { node: 32, consensus: 48, account: 33 }

/** Every secret is 32 bytes: the ed25519 seed, the BLS12-381 scalar, the secp256k1 scalar (big-endian). */
export const SECRET_KEY_LENGTH = 32

export interface SecretKey {
  kind: KeyKind
  /** ed25519: the 32-byte seed; BLS12-381 and secp256k1: the 32-byte big-endian scalar. */
  secret: Uint8Array
}

export interface NodeIdentity {
  kind: 'node'
  publicKey: Uint8Array
  /** The public key in base58btc (no multibase prefix), the node's id in text. */
  publicKeyBase58: string
  /** The libp2p PeerId ("12D3KooW…"). */
  peerId: string
}

export interface ConsensusIdentity {
  kind: 'consensus'
  /** Compressed G1 point (min-pk BLS: public keys in G1, signatures in G2). */
  publicKey: Uint8Array
  publicKeyHex: string
}

export interface AccountIdentity {
  kind: 'account'
  /** Compressed secp256k1 point. */
  publicKey: Uint8Array
  /** EIP-55 checksummed Ethereum address. */
  address: string
}

export type PublicIdentity = NodeIdentity | ConsensusIdentity | AccountIdentity

/** scrypt cost parameters (N a power of two). */
export interface ScryptParams {
  N: number
  r: number
  p: number
}

/** The words used in messages: "the node key", "a consensus key file". */
export function describeKind(kind: KeyKind): string {
  return `${kind} key`
}

/** "a node key", "a consensus key", "an account key". */
export function describeKindWithArticle(kind: KeyKind): string {
  return `${kind === 'account' ? 'an' : 'a'} ${describeKind(kind)}`
}

export function isKeyKind(value: unknown): value is KeyKind {
  return value === 'node' || value === 'consensus' || value === 'account'
}
