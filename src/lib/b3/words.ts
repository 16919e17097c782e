/** Little-endian byte ⇄ 32-bit word conversion for BLAKE3 (allocation-free loops). */

/** True on little-endian hosts, where a Uint32Array view of aligned bytes gives BLAKE3's words directly. */
export const IS_LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1

/**
 * Reads `len` (0…64) bytes of `bytes` at `pos` as 16 little-endian words into `dst[dstOff..+16]`,
 * zero-padding the block.
 */
export function loadBlockWords(
  bytes: Uint8Array,
  pos: number,
  len: number,
  dst: Uint32Array,
  dstOff: number,
): void {
  let i = 0
  const whole = len >>> 2
  for (; i < whole; i++) {
    const p = pos + 4 * i
    dst[dstOff + i] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)
  }
  if (i < 16) {
    let w = 0
    const rem = len & 3
    const p = pos + 4 * i
    for (let j = 0; j < rem; j++) w |= bytes[p + j] << (8 * j)
    dst[dstOff + i] = w
    for (i++; i < 16; i++) dst[dstOff + i] = 0
  }
}

/** Writes `count` words of `src` at `srcOff` as little-endian bytes into `out` at `outOff`. */
export function storeWords(
  src: Uint32Array,
  srcOff: number,
  count: number,
  out: Uint8Array,
  outOff: number,
): void {
  for (let i = 0; i < count; i++) {
    const w = src[srcOff + i]
    const p = outOff + 4 * i
    out[p] = w
    out[p + 1] = w >>> 8
    out[p + 2] = w >>> 16
    out[p + 3] = w >>> 24
  }
}

/** Reads 8 little-endian words (a chaining value or a key) from `bytes` at `pos` into `dst[dstOff..+8]`. */
export function loadCvWords(bytes: Uint8Array, pos: number, dst: Uint32Array, dstOff: number): void {
  for (let i = 0; i < 8; i++) {
    const p = pos + 4 * i
    dst[dstOff + i] = bytes[p] | (bytes[p + 1] << 8) | (bytes[p + 2] << 16) | (bytes[p + 3] << 24)
  }
}

/**
 * A Uint32Array view of `bytes` (whole words only) when that view reads BLAKE3's little-endian words
 * directly (little-endian host, 4-byte aligned), else undefined.
 */
export function viewWords(bytes: Uint8Array): Uint32Array | undefined {
  if (!IS_LITTLE_ENDIAN || (bytes.byteOffset & 3) !== 0) return undefined
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2)
}
