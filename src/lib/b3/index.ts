/**
 * BLAKE3 for fleek: hash, keyed hash, derive key, extended output, streaming hashers, the tree
 * primitives, block trees and proofs (DESIGN §3.1–3.2), Bao, and content-ID helpers.
 */
import { getEngine } from './engine.ts'
import { Blake3Hasher } from './hasher.ts'
import { IV, KEYED_HASH } from './constants.ts'
import {
  checkBytes,
  checkKey,
  checkOutLen,
  deriveKeyMode,
  HASH_MODE,
  type HashMode,
  keyedMode,
} from './mode.ts'
import { rootOutput } from './root.ts'
import { hashOneChunk, keyedHashOneChunk, SMALL_MAX_INPUT, SMALL_MAX_OUTPUT } from './small.ts'

export type { B3Backend } from './backend.ts'
export { getEngine, getTsEngine, getWasmEngine } from './engine.ts'
export { tsBackend } from './ts-backend.ts'
export { Blake3Hasher } from './hasher.ts'
export { HASH_MODE, keyedMode, deriveKeyMode, type HashMode } from './mode.ts'
export { toHex, fromHex } from './hex.ts'
export { CHUNK_LEN, OUT_LEN, KEY_LEN } from './constants.ts'

function hashInMode(input: Uint8Array, mode: HashMode, outLen: number): Uint8Array {
  checkBytes(input, 'input')
  checkOutLen(outLen)
  if (input.length <= SMALL_MAX_INPUT && outLen <= SMALL_MAX_OUTPUT)
    return hashOneChunk(input, mode.key, mode.flags, outLen)
  return rootOutput(input, mode.key, mode.flags, getEngine()).toRootBytes(outLen)
}

/** The BLAKE3 hash of `input` (32 bytes; equals `b3sum`). */
export function hash(input: Uint8Array): Uint8Array {
  checkBytes(input, 'input')
  if (input.length <= SMALL_MAX_INPUT) return hashOneChunk(input, IV, 0, 32)
  return hashInMode(input, HASH_MODE, 32)
}

/** `outLen` bytes of BLAKE3 extended output of `input` (the first 32 are the hash). */
export function hashXof(input: Uint8Array, outLen: number): Uint8Array {
  return hashInMode(input, HASH_MODE, outLen)
}

/** BLAKE3 keyed hash (a MAC) of `input` under a 32-byte key; `outLen` defaults to 32. */
export function keyedHash(key: Uint8Array, input: Uint8Array, outLen = 32): Uint8Array {
  checkKey(key)
  checkBytes(input, 'input')
  checkOutLen(outLen)
  if (input.length <= SMALL_MAX_INPUT && outLen <= SMALL_MAX_OUTPUT)
    return keyedHashOneChunk(key, input, KEYED_HASH, outLen)
  return hashInMode(input, keyedMode(key), outLen)
}

/** BLAKE3 key derivation: `outLen` (default 32) bytes from key material under a hard-coded context string. */
export function deriveKey(context: string, material: Uint8Array, outLen = 32): Uint8Array {
  return hashInMode(material, deriveKeyMode(context), outLen)
}

/** A streaming hasher in the plain hash mode. */
export function createHasher(): Blake3Hasher {
  return new Blake3Hasher(HASH_MODE, getEngine())
}

/** A streaming hasher in keyed-hash mode. */
export function createKeyedHasher(key: Uint8Array): Blake3Hasher {
  return new Blake3Hasher(keyedMode(key), getEngine())
}

/** A streaming hasher in derive-key mode for `context` (feed the key material). */
export function createDeriveKeyHasher(context: string): Blake3Hasher {
  return new Blake3Hasher(deriveKeyMode(context), getEngine())
}

// Tree primitives (for engines, block trees and Bao).
export { NodeOutput, parentOutput } from './output.ts'
export { subtreeOutput, countChunks } from './subtree.ts'
export { rootOutput } from './root.ts'

// Block trees, proofs, verified streaming (DESIGN §3.1–3.2).
export {
  BlockTree,
  TreeBuilder,
  buildTree,
  treeFromBlockHashes,
  blockSizeBytes,
  countBlocks,
  leafIndex,
  NETWORK_BLOCK_LOG2,
} from './tree.ts'
export { newProof, resumeProof, proofFrames, proofSizeBytes, type ProofFrame } from './proof.ts'
export {
  BlockVerifier,
  verifyBlockStream,
  type BlockFrame,
  type BlockVerifierOptions,
  type VerifyStreamOptions,
} from './verifier.ts'

// Bao (k = 0).
export {
  baoEncode,
  baoOutboard,
  baoSlice,
  baoSliceFromEncoding,
  baoEncodedSize,
  BAO_HEADER_LEN,
  type BaoEncoding,
} from './bao.ts'
export {
  BaoDecoder,
  baoDecode,
  baoDecodeOutboard,
  baoDecodeSlice,
  type BaoDecoderOptions,
} from './bao-decode.ts'

// Content IDs.
export { toCid, parseContentId, RAW_CODEC, BLAKE3_MULTIHASH } from './cid.ts'
