/** The public identities of keys: what `fleek keys show` prints and what peers see. */
import { FleekError } from '../errors.ts'
import { bytesToHex } from './bytes.ts'
import { derivePublicKey } from './derive.ts'
import { ethAddress } from './eth-address.ts'
import { encodeBase58, peerIdFromEd25519 } from './peer-id.ts'
import {
  describeKind,
  publicKeyLengths,
  type AccountIdentity,
  type ConsensusIdentity,
  type KeyKind,
  type NodeIdentity,
  type PublicIdentity,
  type SecretKey,
} from './types.ts'

export function publicIdentity(key: SecretKey & { kind: 'node' }): NodeIdentity
export function publicIdentity(key: SecretKey & { kind: 'consensus' }): ConsensusIdentity
export function publicIdentity(key: SecretKey & { kind: 'account' }): AccountIdentity
export function publicIdentity(key: SecretKey): PublicIdentity
/** The public identity of a secret key: public key, and its base58 and PeerId, hex, or address. */
export function publicIdentity(key: SecretKey): PublicIdentity {
  return identityFromPublicKey(key.kind, derivePublicKey(key))
}

/**
 * The identity of a public key of `kind` (as a key file stores it). Checks the length only; the
 * account address computation also checks that the bytes are a curve point.
 */
export function identityFromPublicKey(kind: KeyKind, publicKey: Uint8Array): PublicIdentity {
  if (publicKey.length !== publicKeyLengths[kind]) {
    throw new FleekError(
      'INVALID_INPUT',
      `a ${describeKind(kind)}'s public key is ${publicKeyLengths[kind]} bytes`,
    )
  }
  switch (kind) {
    case 'node':
      return {
        kind,
        publicKey,
        publicKeyBase58: encodeBase58(publicKey),
        peerId: peerIdFromEd25519(publicKey),
      }
    case 'consensus':
      return { kind, publicKey, publicKeyHex: bytesToHex(publicKey) }
    case 'account':
      return { kind, publicKey, address: ethAddress(publicKey) }
  }
}
