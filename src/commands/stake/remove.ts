import { Args } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { nodeFlag, targetNode } from '../../cli/stake.ts'
import { sendAndReport, txFlags } from '../../cli/tx.ts'
import type { SendResult } from '../../client/transactions.ts'
import { parseTokenAmount } from '../../lib/amount.ts'

export default class StakeRemove extends FleekCommand<typeof StakeRemove> {
  static override summary =
    'Unstake FLK from a node; it stays locked for the protocol’s lock time, then `stake withdraw`.'
  static override examples = [
    '<%= config.bin %> stake remove 100',
    '<%= config.bin %> stake remove 5 --node 69GGL62k… --json',
  ]
  static override args = {
    amount: Args.string({ description: 'FLK to unstake, decimals allowed.', required: true }),
  }
  static override flags = { ...nodeFlag, ...txFlags }

  async run(): Promise<SendResult> {
    const amount = parseTokenAmount(this.args.amount, 'flk')
    const node = targetNode(this.home, this.flags.node)
    return sendAndReport(this.io, this.flags, 'account', {
      method: 'Unstake',
      args: { node: node.key, amount },
    })
  }
}
