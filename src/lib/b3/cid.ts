/**
 * Content IDs (DESIGN §3.1): the BLAKE3 hash as 64 lower-case hex digits or as a CIDv1 with the raw
 * codec (0x55) and the blake3 multihash (0x1e), base32 (`bafkr4…`), so IPFS tools recognise it.
 */
import { base32 } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'

import { FleekError } from '../errors.ts'
import { fromHex } from './hex.ts'
import { checkBytes } from './mode.ts'

/** Multicodec of raw bytes. */
export const RAW_CODEC = 0x55
/** Multihash code of BLAKE3 (32-byte digests here). */
export const BLAKE3_MULTIHASH = 0x1e

const MULTIHASH_NAMES: Record<number, string> = {
  0x00: 'identity',
  0x11: 'sha1',
  0x12: 'sha2-256',
  0x13: 'sha2-512',
  0x16: 'sha3-256',
  0x1b: 'keccak-256',
  0xb220: 'blake2b-256',
}

/** The CIDv1 (raw, blake3, base32) of a 32-byte BLAKE3 hash. */
export function toCid(hash: Uint8Array): string {
  checkBytes(hash, 'hash')
  if (hash.length !== 32)
    throw new FleekError('INVALID_INPUT', `a BLAKE3 hash is 32 bytes, got ${hash.length}`)
  return CID.createV1(RAW_CODEC, Digest.create(BLAKE3_MULTIHASH, hash)).toString(base32)
}

const anyBase = base32.decoder.or(base58btc.decoder).or(base36.decoder)

function parseCid(text: string): CID | undefined {
  try {
    return CID.parse(text, anyBase) as CID
  } catch {
    return undefined
  }
}

/**
 * The 32-byte BLAKE3 hash named by `text`: 64 hex digits, or a CID whose multihash is BLAKE3 (any
 * codec: the hash is of the bytes). Anything else is FleekError('INVALID_INPUT') with a one-line reason.
 */
export function parseContentId(text: string): Uint8Array {
  if (typeof text !== 'string') throw new FleekError('INVALID_INPUT', 'a content ID must be a string')
  const s = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(s)) return fromHex(s)
  if (/^[0-9a-fA-F]+$/.test(s) && s.length !== 64)
    throw new FleekError('INVALID_INPUT', `not a content ID: a BLAKE3 hash is 64 hex digits, got ${s.length}`)
  const cid = parseCid(s)
  if (cid === undefined)
    throw new FleekError(
      'INVALID_INPUT',
      `not a content ID: ${JSON.stringify(s.length > 80 ? s.slice(0, 77) + '...' : s)} is neither 64 hex digits nor a CID`,
    )
  const code = cid.multihash.code
  if (code !== BLAKE3_MULTIHASH) {
    const name = MULTIHASH_NAMES[code] ?? `multihash 0x${code.toString(16)}`
    throw new FleekError(
      'INVALID_INPUT',
      `this is a ${name} CID: fetching it needs an origin fetch (not supported yet); give a BLAKE3 hash or CID`,
      { details: { multihash: code } },
    )
  }
  if (cid.multihash.digest.length !== 32)
    throw new FleekError(
      'INVALID_INPUT',
      `this BLAKE3 CID has a ${cid.multihash.digest.length}-byte digest; expected 32`,
    )
  return cid.multihash.digest.slice()
}
