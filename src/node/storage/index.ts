export type { RangeOptions, ReadTable, ReadView, Storage, StorageKey, Table } from './interface.ts'
export { openLmdbStorage, type LmdbStorageOptions } from './lmdb-storage.ts'
export { MemoryStorage } from './memory-storage.ts'
