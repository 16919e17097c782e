/** Small byte helpers of the Merkle tree: key bits, comparison, hex for map keys. */

/** Bit `index` (0 = the most significant bit of byte 0) of a 32-byte key: 0 goes left, 1 goes right. */
export function getBit(key: Uint8Array, index: number): number {
  return (key[index >>> 3] >>> (7 - (index & 7))) & 1
}

/** Lexicographic order of two equal-length byte strings (the order of their bit paths). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i] - b[i]
  }
  return a.length - b.length
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return false
  }
  return true
}

/** True when every byte is zero (the empty subtree's hash). */
export function isZero(a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== 0) return false
  }
  return true
}

const hexDigits = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lowercase hex; used for map keys and messages. */
export function encodeHex(bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i++) out += hexDigits[bytes[i]]
  return out
}
