import { Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { rpcClient, rpcFlags } from '../../cli/node-flags.ts'

interface CommitteeJson {
  epoch: number
  members: string[]
  readyToChange: string[]
  epochStartMs: number
  epochEndMs: number
}

export default class CommitteeShow extends FleekCommand<typeof CommitteeShow> {
  static override summary = 'Show the committee of the current (or a past) epoch.'
  static override examples = [
    '<%= config.bin %> committee show',
    '<%= config.bin %> committee show --epoch 3 --json',
  ]
  static override flags = {
    epoch: Flags.integer({ summary: 'Epoch (default: the current one).', min: 0 }),
    ...rpcFlags,
  }

  async run(): Promise<CommitteeJson> {
    const c = await rpcClient(this.home, this.flags.rpc).call<CommitteeJson>(
      'flk_get_committee',
      this.flags.epoch !== undefined ? [this.flags.epoch] : [],
    )
    const ready = new Set(c.readyToChange)
    this.log(`epoch ${c.epoch}: ${c.members.length} member(s)`)
    for (const m of c.members) this.log(`  ${m}${ready.has(m) ? '  (signalled the epoch end)' : ''}`)
    return c
  }
}
