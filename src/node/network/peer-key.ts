/**
 * Peers are named two ways: libp2p's PeerId, and the lowercase hex of the ed25519 node key
 * (`PeerKey`, what consensus and the application use). Only ed25519 peers can take part.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromPublicKey } from '@libp2p/peer-id'

import { FleekError } from '../../lib/errors.ts'

/** Lowercase hex of an ed25519 public key (32 bytes → 64 characters). */
export type PeerKey = string

const PEER_KEY_PATTERN = /^[0-9a-f]{64}$/

export function encodeHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/** The PeerKey of a 32-byte ed25519 public key; INVALID_INPUT otherwise. */
export function toPeerKey(publicKey: Uint8Array): PeerKey {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new FleekError('INVALID_INPUT', 'a node public key is 32 bytes of ed25519')
  }
  return encodeHex(publicKey)
}

/** The PeerKey behind a PeerId, or `undefined` when the PeerId does not carry an ed25519 key. */
export function peerKeyOf(peerId: PeerId): PeerKey | undefined {
  if (peerId.type !== 'Ed25519' || peerId.publicKey === undefined) return undefined
  return encodeHex(peerId.publicKey.raw)
}

/** The libp2p PeerId of a PeerKey; INVALID_INPUT when it is not 64 lowercase hex characters. */
export function peerIdOf(peerKey: PeerKey): PeerId {
  if (!PEER_KEY_PATTERN.test(peerKey)) {
    throw new FleekError(
      'INVALID_INPUT',
      'a peer key is the 64-character lowercase hex of an ed25519 public key',
    )
  }
  return peerIdFromPublicKey(publicKeyFromRaw(Buffer.from(peerKey, 'hex')))
}
