/**
 * libp2p PeerIds of ed25519 keys (libp2p peer-ids spec): the protobuf `PublicKey { Type = Ed25519 (1),
 * Data = 32 bytes }` is 36 bytes, ≤ 42, so the PeerId is its identity multihash (0x00, length 0x24),
 * written in base58btc without a multibase prefix — "12D3KooW…".
 */
import { base58btc } from 'multiformats/bases/base58'

import { FleekError } from '../errors.ts'
import { concatBytes, equalBytes } from './bytes.ts'

/** identity multihash header, then the protobuf fields: Type (field 1, varint) = 1, Data (field 2) of 32 bytes. */
const ED25519_PEER_ID_PREFIX = Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20)

export function peerIdFromEd25519(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) {
    throw new FleekError('INVALID_INPUT', `an ed25519 public key is 32 bytes, not ${publicKey.length}`)
  }
  return base58btc.baseEncode(concatBytes(ED25519_PEER_ID_PREFIX, publicKey))
}

/** The ed25519 public key inside a PeerId; INVALID_INPUT when it is not an ed25519 PeerId. */
export function ed25519FromPeerId(peerId: string): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = base58btc.baseDecode(peerId)
  } catch (err) {
    throw new FleekError('INVALID_INPUT', 'the PeerId is not base58btc', { cause: err })
  }
  if (bytes.length !== 38 || !equalBytes(bytes.subarray(0, 6), ED25519_PEER_ID_PREFIX)) {
    throw new FleekError('INVALID_INPUT', 'the PeerId is not the PeerId of an ed25519 key')
  }
  return bytes.slice(6)
}

/** The base58btc text of a public key (no multibase prefix). */
export function encodeBase58(bytes: Uint8Array): string {
  return base58btc.baseEncode(bytes)
}
