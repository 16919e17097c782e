/** Epoch checkpoints (BLS aggregate of the committee), the state snapshots a late node restores, and their sync. */
export * from './checkpoint.ts'
export { exportSnapshot, importSnapshot, type ImportedSnapshot } from './snapshot.ts'
export { CHECKPOINT_TABLE, CheckpointCollector, type CheckpointCollectorDeps } from './collector.ts'
export { SnapshotStore } from './snapshot-store.ts'
export * from './sync.ts'
export { type CatchUpDeps, type LatestCheckpoint, fetchLatestCheckpoint, fetchSnapshot } from './catch-up.ts'
export {
  CheckpointService,
  committeeConsensusKeys,
  defaultCheckpointServiceOptions,
  type CheckpointNetwork,
  type CheckpointServiceDeps,
  type CheckpointServiceOptions,
  type EndedEpoch,
  type RestoredCheckpoint,
} from './service.ts'
