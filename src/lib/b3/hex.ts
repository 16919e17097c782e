/** Lower-case hex encoding (no Buffer: the b3 library also runs in browsers). */
import { FleekError } from '../errors.ts'

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Bytes → lower-case hex. */
export function toHex(bytes: Uint8Array): string {
  if (!(bytes instanceof Uint8Array)) throw new FleekError('INVALID_INPUT', 'toHex: expected a Uint8Array')
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += HEX_DIGITS[bytes[i]]
  return s
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  const lower = c | 0x20
  if (lower >= 97 && lower <= 102) return lower - 87
  return -1
}

/** Hex (either case, even length) → bytes; anything else is INVALID_INPUT. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0)
    throw new FleekError(
      'INVALID_INPUT',
      'not a hex string: expected an even number of hex digits (0-9, a-f)',
    )
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) {
    const hi = hexValue(hex.charCodeAt(2 * i))
    const lo = hexValue(hex.charCodeAt(2 * i + 1))
    if (hi < 0 || lo < 0)
      throw new FleekError(
        'INVALID_INPUT',
        `not a hex string: bad character at position ${hi < 0 ? 2 * i : 2 * i + 1}`,
      )
    out[i] = (hi << 4) | lo
  }
  return out
}
