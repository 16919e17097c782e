/** The genesis a node runs, from its home. */
import { existsSync, readFileSync } from 'node:fs'

import { fromSystemError } from '../../lib/errors.ts'
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts'
import { ethAddress } from '../../lib/keys/index.ts'
import {
  DEVNET_PARAMS,
  type Genesis,
  createDevnetGenesis,
  parseGenesis,
  serializeGenesis,
} from '../application/index.ts'
import type { Config } from '../config.ts'
import type { NodeHome } from '../home.ts'
import type { Keystore } from '../keystore/index.ts'

/** --genesis / [application] genesis, else the home's genesis.toml, else a new single-node devnet (written there). */
export function loadOrCreateGenesis(
  home: NodeHome,
  config: Config,
  keystore: Pick<Keystore, 'publicKey'>,
): { genesis: Genesis; path: string; created: boolean } {
  const configured = config.application.genesis
  const path = configured !== '' ? home.path(configured) : home.path('genesis.toml')
  if (configured !== '' || existsSync(path)) {
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      throw fromSystemError(err, 'read the genesis file', path)
    }
    return { genesis: parseGenesis(text), path, created: false }
  }
  const rpcPort = config.rpc.port
  const genesis = createDevnetGenesis({
    nodes: [
      {
        owner: ethAddress(keystore.publicKey('account')),
        publicKey: keystore.publicKey('node'),
        consensusKey: keystore.publicKey('consensus'),
        host: '127.0.0.1',
        ...(rpcPort !== 0 ? { ports: { rpc: rpcPort } } : {}),
      },
    ],
    epochTimeMs: config.application.devnetEpochTimeMs,
    faucet: true,
    params: DEVNET_PARAMS,
  })
  writeFileAtomic(path, serializeGenesis(genesis), { mode: 0o600 })
  return { genesis, path, created: true }
}
