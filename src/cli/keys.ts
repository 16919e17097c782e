/** What the key commands share: opening the keystore of a home, and the public identities. */
import { base58btc } from 'multiformats/bases/base58'

import { ethAddress, peerIdFromEd25519, type KeyKind } from '../lib/keys/index.ts'
import { Keystore, NodeHome } from '../node/index.ts'
import { toHex } from '../lib/bytes.ts'

export function openKeystore(homeDir: string): { home: NodeHome; keystore: Keystore } {
  const home = new NodeHome(homeDir)
  const config = home.loadConfig()
  return { home, keystore: new Keystore({ dir: home.path(config.keystore.dir) }) }
}

export interface Identities {
  node?: { publicKey: string; peerId: string; encrypted: boolean }
  consensus?: { publicKey: string; encrypted: boolean }
  account?: { address: string; publicKey: string; encrypted: boolean }
}

/** The public identities of the keys present (no passphrase needed). */
export function identities(keystore: Keystore, kinds: readonly KeyKind[] = keystore.present()): Identities {
  const out: Identities = {}
  for (const kind of kinds) {
    const publicKey = keystore.publicKey(kind)
    const encrypted = keystore.isEncrypted(kind)
    if (kind === 'node')
      out.node = {
        publicKey: base58btc.baseEncode(publicKey),
        peerId: peerIdFromEd25519(publicKey),
        encrypted,
      }
    else if (kind === 'consensus') out.consensus = { publicKey: toHex(publicKey), encrypted }
    else out.account = { address: ethAddress(publicKey), publicKey: `0x${toHex(publicKey)}`, encrypted }
  }
  return out
}

export function printIdentities(log: (line: string) => void, ids: Identities): void {
  if (ids.node) {
    log(`node key        ${ids.node.publicKey}`)
    log(`  peer id       ${ids.node.peerId}`)
  }
  if (ids.consensus) log(`consensus key   ${ids.consensus.publicKey}`)
  if (ids.account) log(`account         ${ids.account.address}`)
}
