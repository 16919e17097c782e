import { FleekCommand } from '../../cli/base-command.ts'
import { sendAndReport, txFlags } from '../../cli/tx.ts'
import type { SendResult } from '../../client/transactions.ts'

export default class NodeOptIn extends FleekCommand<typeof NodeOptIn> {
  static override summary = 'Ask for this node to participate from the next epoch (signed with the node key).'
  static override examples = ['<%= config.bin %> node opt-in', '<%= config.bin %> node opt-in --json']
  static override flags = { ...txFlags }

  async run(): Promise<SendResult> {
    return sendAndReport(this.io, this.flags, 'node', { method: 'OptIn', args: {} })
  }
}
