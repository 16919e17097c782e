import { Args, Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { sendAndReport, txFlags } from '../../cli/tx.ts'
import type { SendResult } from '../../client/transactions.ts'
import { type Token, parseTokenAmount } from '../../lib/amount.ts'

export default class AccountFaucet extends FleekCommand<typeof AccountFaucet> {
  static override summary =
    'Mint test tokens to this home’s account (devnets whose genesis enables the faucet).'
  static override examples = [
    '<%= config.bin %> account faucet 1000',
    '<%= config.bin %> account faucet 50 --token usd --json',
  ]
  static override args = {
    amount: Args.string({ description: 'Amount in whole tokens, decimals allowed.', required: true }),
  }
  static override flags = {
    token: Flags.string({ summary: 'Which token.', options: ['flk', 'usd'], default: 'flk' }),
    ...txFlags,
  }

  async run(): Promise<SendResult> {
    const token = this.flags.token as Token
    const amount = parseTokenAmount(this.args.amount, token)
    return sendAndReport(this.io, this.flags, 'account', { method: 'Faucet', args: { token, amount } })
  }
}
