import { FleekCommand } from '../../cli/base-command.ts'
import { rpcClient, rpcFlags } from '../../cli/node-flags.ts'
import type { NodeStatus } from '../../node/index.ts'

export default class NodeStatusCommand extends FleekCommand<typeof NodeStatusCommand> {
  static override summary =
    'Show a running node: height, state root, epoch, committee, consensus round, peers, tx/s.'
  static override examples = [
    '<%= config.bin %> node status',
    '<%= config.bin %> node status --rpc http://127.0.0.1:4241 --json | jq .height',
  ]
  static override flags = { ...rpcFlags }

  async run(): Promise<NodeStatus> {
    const s = await rpcClient(this.home, this.flags.rpc).call<NodeStatus>('flk_get_status')
    const left = Math.max(0, Math.round((s.epochEndMs - Date.now()) / 1000))
    this.log(`node       ${s.nodeId}`)
    this.log(`peer id    ${s.peerId}`)
    this.log(`chain      ${s.chainId}`)
    this.log(`height     ${s.height}`)
    this.log(`state root ${s.stateRoot}`)
    this.log(`epoch      ${s.epoch} (ends in ${left}s)`)
    this.log(`committee  ${s.committee.length} member(s)${s.isCommitteeMember ? ', this node included' : ''}`)
    if (s.consensusRound !== undefined) this.log(`round      ${s.consensusRound}`)
    this.log(`peers      ${s.peers}`)
    const { mode, checkpoint, restored } = s.sync
    this.log(
      `sync       ${mode}${checkpoint ? `; latest checkpoint: epoch ${checkpoint.epoch} at height ${checkpoint.height}` : ''}` +
        `${restored ? `; restored epoch ${restored.epoch}'s at start (${restored.durationMs} ms)` : ''}`,
    )
    this.log(`tx/s       ${s.txPerSecond.toFixed(1)}`)
    return s
  }
}
