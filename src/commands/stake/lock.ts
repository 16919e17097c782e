import { Args } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { nodeFlag, targetNode } from '../../cli/stake.ts'
import { sendAndReport, txFlags } from '../../cli/tx.ts'
import type { SendResult } from '../../client/transactions.ts'
import { FleekError } from '../../lib/errors.ts'

export default class StakeLock extends FleekCommand<typeof StakeLock> {
  static override summary = 'Lock a node’s stake for a number of epochs (a longer lock boosts rewards).'
  static override examples = [
    '<%= config.bin %> stake lock 365',
    '<%= config.bin %> stake lock 30 --node 69GGL62k… --json',
  ]
  static override args = {
    epochs: Args.string({ description: 'Epochs to lock the stake for.', required: true }),
  }
  static override flags = { ...nodeFlag, ...txFlags }

  async run(): Promise<SendResult> {
    if (!/^\d{1,9}$/.test(this.args.epochs) || Number(this.args.epochs) === 0)
      throw new FleekError(
        'INVALID_INPUT',
        `epochs must be a positive whole number, got "${this.args.epochs}"`,
      )
    const node = targetNode(this.home, this.flags.node)
    return sendAndReport(this.io, this.flags, 'account', {
      method: 'StakeLock',
      args: { node: node.key, lockedForEpochs: Number(this.args.epochs) },
    })
  }
}
