import { Args } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { ownAccountAddress } from '../../cli/identity.ts'
import { rpcClient, rpcFlags } from '../../cli/node-flags.ts'
import { formatTokenAmount } from '../../lib/amount.ts'
import { normalizeAddress } from '../../lib/tx/index.ts'

export default class AccountShow extends FleekCommand<typeof AccountShow> {
  static override summary = 'Show an account: FLK and stablecoin balances and nonce.'
  static override examples = [
    '<%= config.bin %> account show',
    '<%= config.bin %> account show 0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf --json',
  ]
  static override args = {
    address: Args.string({ description: 'Account address (default: this home’s account).' }),
  }
  static override flags = { ...rpcFlags }

  async run(): Promise<{ address: string; flk: string; usd: string; nonce: number }> {
    const address =
      this.args.address !== undefined ? normalizeAddress(this.args.address) : ownAccountAddress(this.home)
    const acc = await rpcClient(this.home, this.flags.rpc).call<{ flk: string; usd: string; nonce: number }>(
      'flk_get_account',
      [address],
    )
    const out = {
      address,
      flk: formatTokenAmount(BigInt(acc.flk), 'flk'),
      usd: formatTokenAmount(BigInt(acc.usd), 'usd'),
      nonce: acc.nonce,
    }
    this.log(`account  ${out.address}`)
    this.log(`FLK      ${out.flk}`)
    this.log(`USD      ${out.usd}`)
    this.log(`nonce    ${out.nonce}`)
    return out
  }
}
