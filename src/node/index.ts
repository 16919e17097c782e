// The public face of the embedded full node: what the CLI and other programs import.
export {
  type Config,
  type ConfigOverrides,
  configSchema,
  defaultConfig,
  renderDefaultConfig,
  resolveConfig,
} from './config.ts'
export { NodeHome } from './home.ts'
export { Keystore, keyKinds, type KeystoreOptions } from './keystore/index.ts'
export { keychainGet, keychainSet, type KeychainResult } from './keystore/keychain.ts'
export type { NodeStatus } from './status.ts'
export type { OffenderRecord } from './offenders.ts'
export { createLogger, silentLogger, type Logger, type LoggerOptions } from './logger.ts'
export * from './blockstore/index.ts'
export * from './devnet/index.ts'
export type { FleekNode, NodeStartOptions } from './node.ts'
export {
  Application,
  createDevnetGenesis,
  defaultNodePorts,
  parseGenesis,
  serializeGenesis,
  type Genesis,
  type Receipt,
} from './application/index.ts'

/**
 * Starts a full node. The node's module (libp2p, consensus, …) loads only here, so that commands
 * which never run a node start fast.
 */
export async function startNode(
  options: import('./node.ts').NodeStartOptions,
): Promise<import('./node.ts').FleekNode> {
  const { FleekNode } = await import('./node.ts')
  return FleekNode.start(options)
}
