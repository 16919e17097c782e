/** Flags shared by the commands that talk to a node over JSON-RPC. */
import { Flags } from '@oclif/core'

import { RpcClient } from '../client/rpc.ts'
import { NodeHome } from '../node/index.ts'

export const rpcFlags = {
  rpc: Flags.string({
    summary:
      'URL of the node JSON-RPC endpoint (default: the node running on --home, else its configured address).',
    env: 'FLEEK_RPC',
    helpGroup: 'RPC',
  }),
}

/** The RPC client for --rpc, else the node running on the home (its lock file), else the configured one. */
export function rpcClient(homeDir: string, url: string | undefined): RpcClient {
  if (url !== undefined) return new RpcClient(url)
  const home = new NodeHome(homeDir)
  const running = home.runningNode()?.rpcUrl
  if (running !== undefined) return new RpcClient(running)
  const config = home.loadConfig()
  const host = config.rpc.address === '0.0.0.0' ? '127.0.0.1' : config.rpc.address
  return new RpcClient(`http://${host.includes(':') ? `[${host}]` : host}:${config.rpc.port}`)
}
