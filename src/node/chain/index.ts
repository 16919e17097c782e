/** The chain in the node: block execution (both paths), the genesis file, the registry's addresses. */
export { type Block, BlockExecution, type BlockExecutionDeps } from './execution.ts'
export { loadOrCreateGenesis } from './genesis-file.ts'
export { committeeAddresses, registryRecords } from './registry.ts'
