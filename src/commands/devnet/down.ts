import { Flags } from '@oclif/core'
import { rmSync } from 'node:fs'

import { FleekCommand } from '../../cli/base-command.ts'
import { devnetDir } from '../../cli/devnet.ts'
import { readDevnetState, stopDevnetProcess, writeDevnetState } from '../../node/index.ts'

export default class DevnetDown extends FleekCommand<typeof DevnetDown> {
  static override summary =
    'Stop every devnet node; --clean also deletes the devnet (homes, keys, chain data).'
  static override examples = ['<%= config.bin %> devnet down', '<%= config.bin %> devnet down --clean']
  static override flags = {
    clean: Flags.boolean({ summary: 'Delete the devnet folder after stopping.', default: false }),
  }

  async run(): Promise<{ stopped: number[]; cleaned: boolean }> {
    const dir = devnetDir(this.home)
    const state = readDevnetState(dir)
    const stopped: number[] = []
    await Promise.all(
      state.nodes.map(async (node) => {
        if (await stopDevnetProcess(node.pid)) stopped.push(node.index)
        delete node.pid
      }),
    )
    if (this.flags.clean) rmSync(dir, { recursive: true, force: true })
    else writeDevnetState(dir, state)
    stopped.sort((a, b) => a - b)
    this.log(`stopped ${stopped.length} node(s)${this.flags.clean ? `; removed ${dir}` : ''}`)
    return { stopped, cleaned: this.flags.clean }
  }
}
