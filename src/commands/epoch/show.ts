import { FleekCommand } from '../../cli/base-command.ts'
import { rpcClient, rpcFlags } from '../../cli/node-flags.ts'

interface EpochInfoJson {
  epoch: number
  epochStartMs: number
  epochEndMs: number
  committee: string[]
  readyToChange: string[]
  height: number
  /** running → signalling (ChangeEpoch votes) → commit → reveal (the commit–reveal beacon). */
  phase: string
  beaconRound: number
  phaseEndsMs?: number
}

export default class EpochShow extends FleekCommand<typeof EpochShow> {
  static override summary = 'Show the current epoch: its phase, the beacon round, time left, the committee.'
  static override description =
    'Phases: running until the epoch time is up; signalling while committee members send ChangeEpoch; then the commit and reveal phases of the random beacon that draws the next committee.'
  static override examples = [
    '<%= config.bin %> epoch show',
    '<%= config.bin %> epoch show --json | jq .timeLeftMs',
  ]
  static override flags = { ...rpcFlags }

  async run(): Promise<EpochInfoJson & { timeLeftMs: number }> {
    const e = await rpcClient(this.home, this.flags.rpc).call<EpochInfoJson>('flk_get_epoch_info')
    const deadline = e.phaseEndsMs ?? e.epochEndMs
    const timeLeftMs = Math.max(0, deadline - Date.now())
    const beacon = e.phase === 'commit' || e.phase === 'reveal' ? `, beacon round ${e.beaconRound}` : ''
    this.log(`epoch      ${e.epoch} (${e.phase}${beacon})`)
    this.log(`started    ${new Date(e.epochStartMs).toISOString()}`)
    this.log(`ends       ${new Date(e.epochEndMs).toISOString()}`)
    this.log(
      `time left  ${Math.round(timeLeftMs / 1000)}s${e.phaseEndsMs !== undefined && e.phase !== 'running' ? ` in the ${e.phase} phase` : ''}`,
    )
    this.log(`committee  ${e.committee.length} member(s), ${e.readyToChange.length} signalled`)
    this.log(`height     ${e.height}`)
    return { ...e, timeLeftMs }
  }
}
