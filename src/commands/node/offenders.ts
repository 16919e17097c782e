import { FleekCommand } from '../../cli/base-command.ts'
import { rpcClient, rpcFlags } from '../../cli/node-flags.ts'
import type { OffenderRecord } from '../../node/index.ts'

/** flk_get_offenders: the records, each peer as its node id (base58). */
type OffenderJson = OffenderRecord

export default class NodeOffenders extends FleekCommand<typeof NodeOffenders> {
  static override summary = 'List the peers this node caught breaking a protocol rule.'
  static override description =
    'Malformed or forged messages, equivocating headers, parcels or checkpoints that do not verify, floods: each refusal is recorded against the sending peer (since the node started).'
  static override examples = ['<%= config.bin %> node offenders', '<%= config.bin %> node offenders --json']
  static override flags = { ...rpcFlags }

  async run(): Promise<OffenderJson[]> {
    const list = await rpcClient(this.home, this.flags.rpc).call<OffenderJson[]>('flk_get_offenders', [])
    if (list.length === 0) this.log('no offences recorded')
    for (const o of list) {
      const kinds = Object.entries(o.kinds)
        .map(([k, n]) => `${k} ${n}`)
        .join(', ')
      this.log(`${o.peer}  ${o.count} offence(s) (${kinds}), last ${new Date(o.lastAtMs).toISOString()}`)
      for (const r of o.recent) this.log(`  ${r}`)
    }
    return list
  }
}
