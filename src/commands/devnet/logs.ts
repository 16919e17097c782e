import { Args, Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { devnetDir } from '../../cli/devnet.ts'
import { devnetNode, readDevnetLog, readDevnetState } from '../../node/index.ts'

export default class DevnetLogs extends FleekCommand<typeof DevnetLogs> {
  static override summary = 'Print the last lines of a devnet node’s log (JSON lines).'
  static override examples = [
    '<%= config.bin %> devnet logs 0',
    '<%= config.bin %> devnet logs 2 -n 200 | jq -c "select(.level==\\"warn\\")"',
  ]
  static override args = { index: Args.integer({ description: 'Node index.', required: true, min: 0 }) }
  static override flags = {
    lines: Flags.integer({ char: 'n', summary: 'How many lines.', default: 50, min: 1 }),
  }

  async run(): Promise<{ index: number; lines: string[] }> {
    const node = devnetNode(readDevnetState(devnetDir(this.home)), this.args.index)
    const lines = readDevnetLog(node, this.flags.lines)
    for (const line of lines) this.log(line)
    return { index: node.index, lines }
  }
}
