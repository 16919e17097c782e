// The blockstore: content-addressed blobs (BLAKE3) with their block trees, verified reads, pins and an
// LRU size budget; directories as deterministic tars.
export {
  Blockstore,
  type BlobBlock,
  type BlobInfo,
  type BlockstoreDeps,
  type BlockstoreOptions,
  type ContentHash,
  defaultBlockstoreOptions,
  type PutOptions,
  type PutResult,
  type ReadOptions,
  toHexHash,
} from './blockstore.ts'
export { type BlobKind } from './meta.ts'
export { type CreateFileWriter, type FileWriter } from './file-writer.ts'
export {
  extractDirectory,
  listDirectoryEntries,
  packDirectory,
  type PackOptions,
  safeEntryParts,
} from './dir-tar.ts'
export { BLOCK_BYTES, countBlocks, type StoredTree } from './tree-file.ts'
export { openHomeBlockstore } from './home.ts'
export { type ContentInput, openContentInput } from './input.ts'
export { writeFileFromStream } from './output.ts'
