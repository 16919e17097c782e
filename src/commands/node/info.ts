import { Args } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { ownNodeKey } from '../../cli/identity.ts'
import { rpcClient, rpcFlags } from '../../cli/node-flags.ts'
import { formatTokenAmount } from '../../lib/amount.ts'
import { formatNodeKey, parseNodeKey } from '../../lib/ids.ts'

interface NodeInfoJson {
  publicKey: string
  owner: string
  consensusKey: string
  host: string
  ports: Record<string, number>
  stake: { staked: string; locked: string; lockedUntil: number; stakeLockedUntil: number }
  participation: string
  nonce: number
}

export default class NodeInfo extends FleekCommand<typeof NodeInfo> {
  static override summary = 'Show a node of the registry: owner, keys, address, stake, participation.'
  static override examples = [
    '<%= config.bin %> node info',
    '<%= config.bin %> node info 69GGL62knE8R9dzBzjXiGG5Y8wvgJ2auZ9jTVT29oc9u --json',
  ]
  static override args = {
    node: Args.string({
      description: 'Node public key (base58, hex or peer id; default: this home’s node).',
    }),
  }
  static override flags = { ...rpcFlags }

  async run(): Promise<NodeInfoJson> {
    const key = this.args.node !== undefined ? parseNodeKey(this.args.node) : ownNodeKey(this.home)
    const n = await rpcClient(this.home, this.flags.rpc).call<NodeInfoJson>('flk_get_node_info', [
      formatNodeKey(key),
    ])
    this.log(`node          ${n.publicKey}`)
    this.log(`owner         ${n.owner}`)
    this.log(`consensus key ${n.consensusKey}`)
    this.log(`address       ${n.host} (rpc ${n.ports.rpc})`)
    this.log(`staked        ${formatTokenAmount(BigInt(n.stake.staked), 'flk')} FLK`)
    this.log(
      `locked        ${formatTokenAmount(BigInt(n.stake.locked), 'flk')} FLK until epoch ${n.stake.lockedUntil}`,
    )
    this.log(`participation ${n.participation}`)
    return n
  }
}
