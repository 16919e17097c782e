import { Args, Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { devnetDir } from '../../cli/devnet.ts'
import { devnetNode, readDevnetState, stopDevnetProcess, writeDevnetState } from '../../node/index.ts'

export default class DevnetStop extends FleekCommand<typeof DevnetStop> {
  static override summary = 'Stop one devnet node (SIGTERM; --kill for SIGKILL, as a crash).'
  static override examples = ['<%= config.bin %> devnet stop 1', '<%= config.bin %> devnet stop 3 --kill']
  static override args = { index: Args.integer({ description: 'Node index.', required: true, min: 0 }) }
  static override flags = {
    kill: Flags.boolean({ summary: 'SIGKILL instead of a clean stop.', default: false }),
  }

  async run(): Promise<{ index: number; stopped: boolean }> {
    const dir = devnetDir(this.home)
    const state = readDevnetState(dir)
    const node = devnetNode(state, this.args.index)
    const stopped = await stopDevnetProcess(node.pid, { force: this.flags.kill })
    delete node.pid
    writeDevnetState(dir, state)
    this.log(stopped ? `node ${node.index} stopped` : `node ${node.index} was not running`)
    return { index: node.index, stopped }
  }
}
