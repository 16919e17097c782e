/** Epoch checkpoints (BLS aggregate of the committee) and the state snapshots a late node restores. */
export * from './checkpoint.ts'
export { exportSnapshot, importSnapshot, type ImportedSnapshot } from './snapshot.ts'
export { CHECKPOINT_TABLE, CheckpointCollector, type CheckpointCollectorDeps } from './collector.ts'
