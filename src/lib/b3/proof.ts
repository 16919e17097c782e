/**
 * Fleek's ProofBuf (DESIGN §3.2): the hashes from a target block up to the node being expanded, in
 * leaf-to-root order (target first), grouped 8 to a segment, each segment a sign byte (bit 7−j set =
 * hash j is a left sibling) then its hashes; only the first segment may be short.
 */
import { FleekError } from '../errors.ts'
import { type BlockTree, leafIndex, leftBlocks, subtreeRootIndex } from './tree.ts'

/** Most hashes a proof may carry (upstream `is_valid_proof_len`: ≤ 32·47 + 6 bytes). */
export const MAX_PROOF_HASHES = 47

/** Byte size of a proof of `count` hashes: 32·count + ⌈count/8⌉. */
export function proofSizeBytes(count: number): number {
  return 32 * count + Math.ceil(count / 8)
}

/** Encodes hashes (leaf-to-root order) with their left-sibling flags as a ProofBuf. */
export function encodeProof(hashes: readonly Uint8Array[], isLeft: readonly boolean[]): Uint8Array {
  const count = hashes.length
  const out = new Uint8Array(proofSizeBytes(count))
  let pos = 0
  let h = 0
  const first = count % 8 === 0 ? Math.min(8, count) : count % 8
  for (let seg = first; h < count; seg = 8) {
    let sign = 0
    const signAt = pos++
    for (let j = 0; j < seg; j++, h++) {
      if (isLeft[h]) sign |= 0x80 >>> j
      out.set(hashes[h], pos)
      pos += 32
    }
    out[signAt] = sign
  }
  return out
}

/** A decoded proof: hashes in leaf-to-root order and their left-sibling flags. */
export interface DecodedProof {
  readonly hashes: Uint8Array[]
  readonly isLeft: boolean[]
}

/**
 * Decodes a ProofBuf strictly: the length must be a valid segmenting of 2…47 hashes, the unused sign
 * bits of a short first segment must be zero. Throws FleekError('INTEGRITY') naming `what` otherwise.
 */
export function decodeProof(proof: Uint8Array, what = 'proof'): DecodedProof {
  const full = Math.floor(proof.length / 257)
  const rem = proof.length % 257
  if (rem !== 0 && (rem - 1) % 32 !== 0)
    throw new FleekError(
      'INTEGRITY',
      `${what} is malformed: ${proof.length} bytes is not a whole number of hashes`,
    )
  const firstCount = rem === 0 ? 0 : (rem - 1) / 32
  const count = full * 8 + firstCount
  if (count < 2 || count > MAX_PROOF_HASHES)
    throw new FleekError(
      'INTEGRITY',
      `${what} is malformed: ${count} hashes (a proof has 2…${MAX_PROOF_HASHES})`,
    )
  const hashes: Uint8Array[] = []
  const isLeft: boolean[] = []
  let pos = 0
  for (let seg = firstCount === 0 ? 8 : firstCount; pos < proof.length; seg = 8) {
    const sign = proof[pos++]
    if ((sign & (0xff >>> seg)) !== 0)
      throw new FleekError('INTEGRITY', `${what} is malformed: unused sign bits set`)
    for (let j = 0; j < seg; j++) {
      hashes.push(proof.subarray(pos, pos + 32))
      isLeft.push((sign & (0x80 >>> j)) !== 0)
      pos += 32
    }
  }
  return { hashes, isLeft }
}

/** The proof of `block` within the subtree of `count` blocks starting at `first` (walk down from its node). */
function proveWithin(tree: BlockTree, first: number, count: number, block: number): Uint8Array {
  if (count <= 1) return new Uint8Array(0)
  const siblings: Uint8Array[] = []
  const left: boolean[] = []
  while (count > 1) {
    const l = leftBlocks(count)
    if (block < first + l) {
      siblings.push(tree.node(subtreeRootIndex(first + l, count - l)))
      left.push(false)
      count = l
    } else {
      siblings.push(tree.node(subtreeRootIndex(first, l)))
      left.push(true)
      first += l
      count -= l
    }
  }
  siblings.push(tree.node(leafIndex(block)))
  left.push(false)
  return encodeProof(siblings.reverse(), left.reverse())
}

function checkBlock(tree: BlockTree, block: number): void {
  if (!Number.isInteger(block) || block < 0 || block >= tree.blockCount)
    throw new FleekError('INVALID_INPUT', `block ${block} out of range (0…${tree.blockCount - 1})`)
}

/** ProofBuf::new: the proof for a stream that starts at `block` (from the root down; empty for one block). */
export function newProof(tree: BlockTree, block: number): Uint8Array {
  checkBlock(tree, block)
  return proveWithin(tree, 0, tree.blockCount, block)
}

/**
 * ProofBuf::resume: the proof for `block` when every earlier block of the stream was verified: only the
 * hashes not yet known, from the node over blocks [block, block + min(2^tz(block), n − block)). Empty
 * for odd blocks. For block 0 it is the full `newProof`.
 */
export function resumeProof(tree: BlockTree, block: number): Uint8Array {
  checkBlock(tree, block)
  if (block === 0) return newProof(tree, 0)
  let aligned = 1 // 2^tz(block)
  while (block % (aligned * 2) === 0) aligned *= 2
  return proveWithin(tree, block, Math.min(aligned, tree.blockCount - block), block)
}

/** One frame of a verified stream: the proof to send before block `block` (maybe empty). */
export interface ProofFrame {
  readonly block: number
  readonly proof: Uint8Array
}

/** The proofs of a stream of blocks [start, end): `newProof` for the first, `resumeProof` after. */
export function* proofFrames(tree: BlockTree, start = 0, end = tree.blockCount): Generator<ProofFrame> {
  checkBlock(tree, start)
  if (!Number.isInteger(end) || end <= start || end > tree.blockCount)
    throw new FleekError('INVALID_INPUT', `block range ${start}…${end} is not within 0…${tree.blockCount}`)
  for (let i = start; i < end; i++)
    yield { block: i, proof: i === start ? newProof(tree, i) : resumeProof(tree, i) }
}
