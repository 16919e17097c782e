/** This home's own public identities, read without a passphrase. */
import { ethAddress } from '../lib/keys/index.ts'
import { openKeystore } from './keys.ts'

export function ownAccountAddress(homeDir: string): string {
  return ethAddress(openKeystore(homeDir).keystore.publicKey('account')).toLowerCase()
}

export function ownNodeKey(homeDir: string): Uint8Array {
  return openKeystore(homeDir).keystore.publicKey('node')
}

export function ownConsensusKey(homeDir: string): Uint8Array {
  return openKeystore(homeDir).keystore.publicKey('consensus')
}
