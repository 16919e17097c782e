/** This home's own public identities, read without a passphrase. */
import { ethAddress } from '../lib/keys/index.ts'
import { Keystore, NodeHome } from '../node/index.ts'

function keystoreOf(homeDir: string): Keystore {
  const home = new NodeHome(homeDir)
  return new Keystore({ dir: home.path(home.loadConfig().keystore.dir) })
}

export function ownAccountAddress(homeDir: string): string {
  return ethAddress(keystoreOf(homeDir).publicKey('account')).toLowerCase()
}

export function ownNodeKey(homeDir: string): Uint8Array {
  return keystoreOf(homeDir).publicKey('node')
}

export function ownConsensusKey(homeDir: string): Uint8Array {
  return keystoreOf(homeDir).publicKey('consensus')
}
