import { Args, Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { sendAndReport, txFlags } from '../../cli/tx.ts'
import type { SendResult } from '../../client/transactions.ts'
import { type Token, parseTokenAmount } from '../../lib/amount.ts'
import { normalizeAddress } from '../../lib/tx/index.ts'

export default class AccountTransfer extends FleekCommand<typeof AccountTransfer> {
  static override summary = 'Transfer FLK or stablecoin from this home’s account to another.'
  static override examples = [
    '<%= config.bin %> account transfer 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf 1.5',
    '<%= config.bin %> account transfer 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf 20 --token usd --json',
    '<%= config.bin %> account transfer 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf 0.1 --no-wait',
  ]
  static override args = {
    to: Args.string({ description: 'Recipient address (0x…).', required: true }),
    amount: Args.string({ description: 'Amount in whole tokens, decimals allowed ("1.5").', required: true }),
  }
  static override flags = {
    token: Flags.string({ summary: 'Which token.', options: ['flk', 'usd'], default: 'flk' }),
    ...txFlags,
  }

  async run(): Promise<SendResult> {
    const token = this.flags.token as Token
    const to = normalizeAddress(this.args.to, 'recipient')
    const amount = parseTokenAmount(this.args.amount, token)
    return sendAndReport(this.io, this.flags, 'account', { method: 'Transfer', args: { to, token, amount } })
  }
}
