/** Small byte helpers for the key codecs: strict hex, constant-time comparison. */
import { timingSafeEqual } from 'node:crypto'

const HEX_LOWER = /^(?:[0-9a-f]{2})*$/
const HEX_ANY_CASE = /^(?:[0-9a-fA-F]{2})*$/

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

/**
 * Decodes hex, or returns undefined when `text` is not hex of the expected length. Our own files use
 * lowercase only (so that no edit of a byte goes unnoticed); foreign formats pass `anyCase`.
 */
export function parseHex(text: unknown, byteLength?: number, anyCase = false): Uint8Array | undefined {
  if (typeof text !== 'string') return undefined
  if (!(anyCase ? HEX_ANY_CASE : HEX_LOWER).test(text)) return undefined
  if (byteLength !== undefined && text.length !== byteLength * 2) return undefined
  return new Uint8Array(Buffer.from(text, 'hex'))
}

/** Constant-time equality of two byte arrays (false when the lengths differ). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

export { concatBytes } from '../bytes.ts'

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text)
}
