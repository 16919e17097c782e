/**
 * An authenticated map for the chain state: a sparse Merkle tree over 256-bit keys (BLAKE3 of
 * table ‖ key) whose leaves commit to BLAKE3 of the value bytes, with membership and non-membership
 * proofs compact enough for RPC.
 */
export { EMPTY_ROOT, hashValue } from './hash.ts'
export { MemoryNodeStore, type MerkleNodeStore } from './node.ts'
export { decodeProof, encodeProof, verifyProof, type MerkleProof, type MerkleProofLeaf } from './proof.ts'
export { SparseMerkleTree } from './tree.ts'
