import { FleekCommand } from '../../cli/base-command.ts'
import { devnetDir } from '../../cli/devnet.ts'
import { RpcClient } from '../../client/rpc.ts'
import { type NodeStatus, isRunning, readDevnetState } from '../../node/index.ts'

interface Row {
  index: number
  up: boolean
  pid?: number
  rpcUrl: string
  nodeId: string
  height?: number
  stateRoot?: string
  epoch?: number
  committee?: number
  isCommitteeMember?: boolean
  peers?: number
}

export default class DevnetStatus extends FleekCommand<typeof DevnetStatus> {
  static override summary = 'Show each devnet node: up or down, height, state root, epoch, committee, peers.'
  static override examples = [
    '<%= config.bin %> devnet status',
    '<%= config.bin %> devnet status --json | jq ".nodes[].height"',
  ]

  async run(): Promise<{ nodes: Row[]; agree: boolean }> {
    const state = readDevnetState(devnetDir(this.home))
    const nodes = await Promise.all(
      state.nodes.map(async (n): Promise<Row> => {
        const base = {
          index: n.index,
          rpcUrl: n.rpcUrl,
          nodeId: n.nodeId,
          ...(n.pid !== undefined ? { pid: n.pid } : {}),
        }
        try {
          const s = await new RpcClient(n.rpcUrl, { timeoutMs: 3000 }).call<NodeStatus>('flk_get_status')
          return {
            ...base,
            up: true,
            height: s.height,
            stateRoot: s.stateRoot,
            epoch: s.epoch,
            committee: s.committee.length,
            isCommitteeMember: s.isCommitteeMember,
            peers: s.peers,
          }
        } catch {
          return { ...base, up: isRunning(n.pid) }
        }
      }),
    )
    // Nodes at the same height must agree on the state root.
    const roots = new Map<number, Set<string>>()
    for (const r of nodes)
      if (r.height !== undefined) roots.set(r.height, (roots.get(r.height) ?? new Set()).add(r.stateRoot!))
    const agree = [...roots.values()].every((s) => s.size === 1)
    this.log('node  up    height  epoch  peers  committee  state root')
    for (const r of nodes) {
      const up = r.height !== undefined ? 'yes' : r.up ? 'start' : 'no'
      this.log(
        `${String(r.index).padEnd(6)}${up.padEnd(6)}${String(r.height ?? '-').padEnd(8)}${String(r.epoch ?? '-').padEnd(7)}${String(r.peers ?? '-').padEnd(7)}${(r.isCommitteeMember ? 'member' : r.height !== undefined ? 'edge' : '-').padEnd(11)}${r.stateRoot?.slice(0, 16) ?? '-'}`,
      )
    }
    if (!agree) this.notice('warning: nodes at the same height report different state roots')
    return { nodes, agree }
  }
}
