import { FleekCommand } from '../../cli/base-command.ts'
import { rpcClient, rpcFlags } from '../../cli/node-flags.ts'

interface EpochInfoJson {
  epoch: number
  epochStartMs: number
  epochEndMs: number
  committee: string[]
  readyToChange: string[]
  height: number
}

export default class EpochShow extends FleekCommand<typeof EpochShow> {
  static override summary = 'Show the current epoch: its times, the committee and who has signalled its end.'
  static override examples = [
    '<%= config.bin %> epoch show',
    '<%= config.bin %> epoch show --json | jq .timeLeftMs',
  ]
  static override flags = { ...rpcFlags }

  async run(): Promise<EpochInfoJson & { phase: string; timeLeftMs: number }> {
    const e = await rpcClient(this.home, this.flags.rpc).call<EpochInfoJson>('flk_get_epoch_info')
    const timeLeftMs = Math.max(0, e.epochEndMs - Date.now())
    const phase = timeLeftMs > 0 ? 'running' : 'signalling'
    this.log(`epoch      ${e.epoch} (${phase})`)
    this.log(`started    ${new Date(e.epochStartMs).toISOString()}`)
    this.log(`ends       ${new Date(e.epochEndMs).toISOString()} (in ${Math.round(timeLeftMs / 1000)}s)`)
    this.log(`committee  ${e.committee.length} member(s), ${e.readyToChange.length} signalled`)
    this.log(`height     ${e.height}`)
    return { ...e, phase, timeLeftMs }
  }
}
