import { Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { rpcClient, rpcFlags } from '../../cli/node-flags.ts'

interface CheckpointJson {
  epoch: number
  height: number
  index: number
  stateRoot: string
  parcel: string
  nextCommittee: string
  snapshotBytes: number
  snapshotHash: string
  signers: number[]
  signature: string
}

export default class CheckpointShow extends FleekCommand<typeof CheckpointShow> {
  static override summary = 'Show the latest (or an epoch’s) checkpoint the node holds.'
  static override description =
    'At each epoch change the ending committee BLS-signs the state root; 2f+1 signatures aggregate into the checkpoint from which late nodes restore the state (`fleek node run --sync checkpoint`).'
  static override examples = [
    '<%= config.bin %> checkpoint show',
    '<%= config.bin %> checkpoint show --epoch 3 --json',
  ]
  static override flags = {
    epoch: Flags.integer({ summary: 'The epoch the checkpoint ends (default: the latest held).', min: 0 }),
    ...rpcFlags,
  }

  async run(): Promise<CheckpointJson> {
    const c = await rpcClient(this.home, this.flags.rpc).call<CheckpointJson>(
      'flk_get_checkpoint',
      this.flags.epoch !== undefined ? [this.flags.epoch] : [],
    )
    this.log(`checkpoint of epoch ${c.epoch}: height ${c.height}, state root ${c.stateRoot}`)
    this.log(`  signed by committee members ${c.signers.join(', ')} (aggregate BLS signature)`)
    this.log(`  parcel ${c.parcel}`)
    this.log(`  state snapshot ${c.snapshotBytes} bytes, BLAKE3 ${c.snapshotHash}`)
    return c
  }
}
