export { Application, computeGenesisHash, type ServedReport, type StateProof } from './application.ts'
export {
  DEVNET_PARAMS,
  createDevnetGenesis,
  defaultNodePorts,
  parseGenesis,
  serializeGenesis,
  validateGenesis,
  type DevnetGenesisOptions,
  type DevnetNode,
  type Genesis,
  type GenesisAccount,
  type GenesisNode,
  type GenesisService,
} from './genesis.ts'
export {
  computeQuorum,
  chooseCommittee,
  chooseShuffledCommittee,
  computeBoost,
  listActiveNodes,
  shuffleWithSeed,
} from './epoch.ts'
export { computeBeaconCommit, computeBeaconSeed, listEligibleMembers } from './beacon.ts'
export { checkParams } from './params.ts'
export { STATE_TABLES, type StateTable } from './state.ts'
export * from './types.ts'
export { readChainRoots, readStateEntries, restoreState, type StateTableEntries } from './snapshot.ts'
