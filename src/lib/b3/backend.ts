/**
 * The one operation a fast BLAKE3 engine must provide: the chaining value of a BLAKE3 subtree.
 * Everything else (hash, keyed hash, derive key, XOF, block trees, Bao) is built on top of it in
 * TypeScript. Two engines implement it: the pure-TypeScript one and the WebAssembly SIMD one.
 */
export interface B3Backend {
  readonly name: string
  /**
   * Chaining value of the BLAKE3 subtree covering `input`, whose first chunk has index `chunkCounter`.
   * `input` must be a whole subtree: its length is a power-of-two number of 1024-byte chunks, or it is
   * the last, shorter piece of the content (then any length ≥ 1; the tree inside is left-heavy as BLAKE3's).
   * `key` is the 8-word key (IV for hash and for derive-key material, the key words for keyed hash);
   * `flags` are the mode flags (0, KEYED_HASH or DERIVE_KEY_MATERIAL). With `root` set (only with
   * chunkCounter 0) the top node is ROOT-finalised and the 32 bytes are the hash itself; the empty input
   * is valid only then. Writes 32 bytes to `out` at `outOffset` and returns `out`.
   */
  subtreeCv(
    input: Uint8Array,
    chunkCounter: number,
    key: Uint32Array,
    flags: number,
    root: boolean,
    out: Uint8Array,
    outOffset: number,
  ): Uint8Array
}
