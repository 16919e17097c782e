import { FleekCommand } from '../../cli/base-command.ts'
import { sendAndReport, txFlags } from '../../cli/tx.ts'
import type { SendResult } from '../../client/transactions.ts'

export default class NodeOptOut extends FleekCommand<typeof NodeOptOut> {
  static override summary = 'Stop participating from the next epoch (keep the node online until then).'
  static override examples = ['<%= config.bin %> node opt-out', '<%= config.bin %> node opt-out --no-wait']
  static override flags = { ...txFlags }

  async run(): Promise<SendResult> {
    return sendAndReport(this.io, this.flags, 'node', { method: 'OptOut', args: {} })
  }
}
