/** BLAKE3 constants (the specification, §2). */

/** Bytes in a chunk (a leaf of the BLAKE3 tree). */
export const CHUNK_LEN = 1024
/** Bytes in a compression block. */
export const BLOCK_LEN = 64
/** Bytes of a chaining value and of the default output. */
export const OUT_LEN = 32
/** Bytes of a keyed-hash key. */
export const KEY_LEN = 32

/** The initialisation vector: SHA-256's initial hash words. Frozen by convention: never written. */
export const IV: Uint32Array = Uint32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
)

/** Domain flags. */
export const CHUNK_START = 1 << 0
export const CHUNK_END = 1 << 1
export const PARENT = 1 << 2
export const ROOT = 1 << 3
export const KEYED_HASH = 1 << 4
export const DERIVE_KEY_CONTEXT = 1 << 5
export const DERIVE_KEY_MATERIAL = 1 << 6

/** The mode flags a caller may pass to the tree functions (0, KEYED_HASH or DERIVE_KEY_MATERIAL). */
export const MODE_FLAGS = KEYED_HASH | DERIVE_KEY_MATERIAL
