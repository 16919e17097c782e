import { Args, Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { ownConsensusKey } from '../../cli/identity.ts'
import { nodeFlag, targetNode } from '../../cli/stake.ts'
import { sendAndReport, txFlags } from '../../cli/tx.ts'
import type { SendResult } from '../../client/transactions.ts'
import { parseTokenAmount } from '../../lib/amount.ts'
import { FleekError } from '../../lib/errors.ts'
import { NodeHome, defaultNodePorts } from '../../node/index.ts'

export default class StakeAdd extends FleekCommand<typeof StakeAdd> {
  static override summary =
    'Stake FLK on a node from this home’s account (the first stake registers the node).'
  static override description =
    'Staking on this home’s own node registers it with its node and consensus keys, --host and the configured RPC port. Staking on another node (--node) that is not registered yet needs --consensus-key and --host.'
  static override examples = [
    '<%= config.bin %> stake add 1000',
    '<%= config.bin %> stake add 250.5 --node 69GGL62knE8R9dzBzjXiGG5Y8wvgJ2auZ9jTVT29oc9u --json',
  ]
  static override args = {
    amount: Args.string({ description: 'FLK to stake, decimals allowed.', required: true }),
  }
  static override flags = {
    ...nodeFlag,
    'consensus-key': Flags.string({
      summary: 'BLS consensus public key (96 hex digits), to register another node.',
    }),
    host: Flags.string({
      summary: 'Host or IP the node is reachable at, to register it.',
      default: '127.0.0.1',
    }),
    ...txFlags,
  }

  async run(): Promise<SendResult> {
    const amount = parseTokenAmount(this.args.amount, 'flk')
    const node = targetNode(this.home, this.flags.node)
    let consensusKey: Uint8Array | undefined
    if (this.flags['consensus-key'] !== undefined) {
      if (!/^[0-9a-fA-F]{96}$/.test(this.flags['consensus-key']))
        throw new FleekError(
          'INVALID_INPUT',
          '--consensus-key must be 96 hex digits (a BLS12-381 G1 public key)',
        )
      consensusKey = Uint8Array.from(Buffer.from(this.flags['consensus-key'], 'hex'))
    } else if (node.own) consensusKey = ownConsensusKey(this.home)
    const rpcPort = new NodeHome(this.home).loadConfig().rpc.port
    return sendAndReport(this.io, this.flags, 'account', {
      method: 'Stake',
      args: {
        amount,
        node: node.key,
        ...(consensusKey !== undefined
          ? { consensusKey, host: this.flags.host, ports: { ...defaultNodePorts, rpc: rpcPort } }
          : {}),
      },
    })
  }
}
