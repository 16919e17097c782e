import { Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { devnetDir, parseDuration, selfCommand } from '../../cli/devnet.ts'
import { FleekError } from '../../lib/errors.ts'
import {
  type DevnetState,
  createDevnet,
  readDevnetState,
  startDevnetProcess,
  waitForHealth,
  writeDevnetState,
} from '../../node/index.ts'

export default class DevnetUp extends FleekCommand<typeof DevnetUp> {
  static override summary = 'Start a devnet: N real node processes on this machine with one shared genesis.'
  static override description =
    'Writes N node homes under <home>/devnet (plaintext keys, one genesis with every node staked and the first --committee nodes on the committee, faucet on) and starts a `fleek node run` process for each on 127.0.0.1. Run again on an existing devnet to start the nodes that are down.'
  static override examples = [
    '<%= config.bin %> devnet up',
    '<%= config.bin %> devnet up --nodes 6 --committee 4 --epoch-time 1m',
    '<%= config.bin %> devnet up --base-port 0 --json',
  ]
  static override flags = {
    nodes: Flags.integer({ summary: 'Number of nodes.', default: 4, min: 1, max: 64 }),
    committee: Flags.integer({ summary: 'Committee size (the first nodes).', min: 1, max: 64 }),
    'epoch-time': Flags.string({ summary: 'Epoch length: 90s, 2m, 1h, or milliseconds.', default: '2m' }),
    'base-port': Flags.integer({
      summary: 'Node i listens on base+10·i (libp2p) and base+10·i+1 (RPC); 0 picks free ports.',
      default: 4300,
      min: 0,
      max: 65000,
    }),
    timeout: Flags.integer({ summary: 'Seconds to wait for every node to answer.', default: 60, min: 1 }),
    start: Flags.boolean({
      summary: 'Start the nodes (--no-start only writes the homes: edit a config.toml, then run up again).',
      default: true,
      allowNo: true,
    }),
  }

  async run(): Promise<DevnetState> {
    const dir = devnetDir(this.home)
    let state: DevnetState
    try {
      state = readDevnetState(dir)
    } catch (err) {
      if ((err as FleekError).code !== 'NOT_FOUND') throw err
      const epochTimeMs = parseDuration(this.flags['epoch-time'])
      if (epochTimeMs === undefined || epochTimeMs < 1000)
        throw new FleekError(
          'INVALID_INPUT',
          `--epoch-time must be a duration of at least 1s (e.g. 90s, 2m), got "${this.flags['epoch-time']}"`,
        )
      state = await createDevnet({
        dir,
        nodes: this.flags.nodes,
        committee: this.flags.committee ?? this.flags.nodes,
        epochTimeMs,
        basePort: this.flags['base-port'],
      })
      this.notice(`Created a devnet of ${state.nodes.length} nodes in ${dir}`)
    }
    const command = selfCommand()
    const started: Array<{ index: number; pid: number }> = []
    for (const node of this.flags.start ? state.nodes : []) {
      const alive = await fetch(`${node.rpcUrl}/health`, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      )
      if (alive) continue
      node.pid = startDevnetProcess(node, command)
      started.push({ index: node.index, pid: node.pid })
    }
    writeDevnetState(dir, state)
    await Promise.all(
      started.map(({ index, pid }) => waitForHealth(state.nodes[index], this.flags.timeout * 1000, pid)),
    )
    for (const node of state.nodes)
      this.log(`node ${node.index}  ${node.rpcUrl}  ${node.nodeId}${node.committee ? '  (committee)' : ''}`)
    if (!this.flags.start)
      this.notice(`Not started: run \`fleek devnet up --home ${this.home}\` to start the nodes`)
    return state
  }
}
