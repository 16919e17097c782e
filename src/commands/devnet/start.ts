import { Args, Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { devnetDir, selfCommand } from '../../cli/devnet.ts'
import { FleekError } from '../../lib/errors.ts'
import {
  devnetNode,
  isRunning,
  readDevnetState,
  startDevnetProcess,
  waitForHealth,
  writeDevnetState,
} from '../../node/index.ts'

export default class DevnetStart extends FleekCommand<typeof DevnetStart> {
  static override summary = 'Start one stopped devnet node again (it recovers its state and rejoins).'
  static override examples = ['<%= config.bin %> devnet start 1', '<%= config.bin %> devnet start 1 --json']
  static override args = { index: Args.integer({ description: 'Node index.', required: true, min: 0 }) }
  static override flags = {
    timeout: Flags.integer({ summary: 'Seconds to wait for the node to answer.', default: 60, min: 1 }),
  }

  async run(): Promise<{ index: number; pid: number; rpcUrl: string }> {
    const dir = devnetDir(this.home)
    const state = readDevnetState(dir)
    const node = devnetNode(state, this.args.index)
    if (isRunning(node.pid))
      throw new FleekError('EXISTS', `node ${node.index} is already running (pid ${node.pid})`)
    node.pid = startDevnetProcess(node, selfCommand())
    writeDevnetState(dir, state)
    await waitForHealth(node, this.flags.timeout * 1000, node.pid)
    this.log(`node ${node.index} started: ${node.rpcUrl}`)
    return { index: node.index, pid: node.pid, rpcUrl: node.rpcUrl }
  }
}
