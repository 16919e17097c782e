/**
 * Text forms of the identifiers users type and read: node public keys (base58, also 64 hex digits or
 * a libp2p peer id), transaction hashes (64 hex digits, optional 0x).
 */
import { base58btc } from 'multiformats/bases/base58'

import { FleekError } from './errors.ts'
import { ed25519FromPeerId } from './keys/index.ts'

export function formatNodeKey(publicKey: Uint8Array): string {
  return base58btc.baseEncode(publicKey)
}

export function parseNodeKey(text: string, what = 'node key'): Uint8Array {
  const t = typeof text === 'string' ? text.trim() : ''
  if (/^(0x)?[0-9a-fA-F]{64}$/.test(t)) return Uint8Array.from(Buffer.from(t.replace(/^0x/, ''), 'hex'))
  if (t.startsWith('12D3KooW')) {
    try {
      return ed25519FromPeerId(t)
    } catch {
      throw new FleekError('INVALID_INPUT', `${what} ${clip(t)} is not a valid ed25519 peer id`)
    }
  }
  let bytes: Uint8Array | undefined
  try {
    bytes = /^[1-9A-HJ-NP-Za-km-z]{40,48}$/.test(t) ? base58btc.baseDecode(t) : undefined
  } catch {
    bytes = undefined
  }
  if (bytes === undefined || bytes.length !== 32)
    throw new FleekError(
      'INVALID_INPUT',
      `${what} must be a base58 ed25519 public key (or 64 hex digits), got "${clip(t)}"`,
    )
  return bytes
}

export function parseTxHash(text: string, what = 'transaction hash'): string {
  const t = typeof text === 'string' ? text.trim() : ''
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(t))
    throw new FleekError('INVALID_INPUT', `${what} must be 64 hex digits, got "${clip(t)}"`)
  return t.replace(/^0x/, '').toLowerCase()
}

function clip(text: string): string {
  return text.length > 50 ? `${text.slice(0, 50)}…` : text
}
