import { Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { nodeFlag, targetNode } from '../../cli/stake.ts'
import { sendAndReport, txFlags } from '../../cli/tx.ts'
import type { SendResult } from '../../client/transactions.ts'
import { normalizeAddress } from '../../lib/tx/index.ts'

export default class StakeWithdraw extends FleekCommand<typeof StakeWithdraw> {
  static override summary = 'Withdraw unstaked FLK whose lock time has passed.'
  static override examples = [
    '<%= config.bin %> stake withdraw',
    '<%= config.bin %> stake withdraw --recipient 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf --json',
  ]
  static override flags = {
    ...nodeFlag,
    recipient: Flags.string({ summary: 'Account to receive the FLK (default: the owner).' }),
    ...txFlags,
  }

  async run(): Promise<SendResult> {
    const node = targetNode(this.home, this.flags.node)
    const recipient =
      this.flags.recipient !== undefined ? normalizeAddress(this.flags.recipient, 'recipient') : undefined
    return sendAndReport(this.io, this.flags, 'account', {
      method: 'WithdrawUnstaked',
      args: { node: node.key, ...(recipient !== undefined ? { recipient } : {}) },
    })
  }
}
