/** Where the nodes of the registry are reachable, read from the chain state. */
import { toHex } from '../../lib/bytes.ts'
import { peerIdFromEd25519 } from '../../lib/keys/index.ts'
import type { Application } from '../application/index.ts'
import type { NodeRecord } from '../network/index.ts'

/** Each registered node's consensus address: its host and primary port. */
export function registryRecords(chain: Pick<Application, 'nodes'>): NodeRecord[] {
  return chain.nodes().map((n) => ({
    publicKey: n.publicKey,
    multiaddrs: [`/${hostProtocol(n.host)}/${n.host}/tcp/${n.ports.primary}`],
  }))
}

function hostProtocol(host: string): 'ip4' | 'ip6' | 'dns4' {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return 'ip4'
  return host.includes(':') ? 'ip6' : 'dns4'
}

/** The current committee's addresses (multiaddrs with /p2p/<peer id>), for a node off it to dial. */
export function committeeAddresses(chain: Pick<Application, 'nodes' | 'epochInfo'>): string[] {
  const members = new Set(chain.epochInfo().committee.map(toHex))
  return registryRecords(chain)
    .filter((r) => members.has(toHex(r.publicKey)))
    .flatMap((r) => r.multiaddrs.map((a) => `${a}/p2p/${peerIdFromEd25519(r.publicKey)}`))
}
