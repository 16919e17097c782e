import { Args } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { rpcClient, rpcFlags } from '../../cli/node-flags.ts'
import type { ReceiptJson } from '../../client/transactions.ts'
import { parseTxHash } from '../../lib/ids.ts'

export default class TxShow extends FleekCommand<typeof TxShow> {
  static override summary = 'Show the receipt of a transaction.'
  static override examples = [
    '<%= config.bin %> tx show 3f1c…e9',
    '<%= config.bin %> tx show 0x3f1c…e9 --json | jq -r .status',
  ]
  static override args = {
    hash: Args.string({ description: 'Transaction hash (64 hex digits).', required: true }),
  }
  static override flags = { ...rpcFlags }

  async run(): Promise<ReceiptJson> {
    const hash = parseTxHash(this.args.hash)
    const r = await rpcClient(this.home, this.flags.rpc).call<ReceiptJson>('flk_get_receipt', [hash])
    this.log(`tx       ${hash}`)
    this.log(`method   ${r.method ?? '?'}`)
    this.log(`status   ${r.status}${r.reason ? ` (${r.reason})` : ''}`)
    this.log(`height   ${r.height} (index ${r.index})`)
    return { ...r, txHash: hash }
  }
}
