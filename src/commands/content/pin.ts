import { FleekCommand } from '../../cli/base-command.ts'
import { hashArg, setPinned } from '../../cli/content.ts'
import { parseContentId } from '../../lib/b3/cid.ts'
import { NodeHome } from '../../node/index.ts'

export default class ContentPin extends FleekCommand<typeof ContentPin> {
  static override summary = 'Pin a blob: the size budget never evicts it.'
  static override description =
    'Pinning is idempotent. Unpinned blobs are evicted least-recently-used first when a put goes over [blockstore] max_size_bytes.'
  static override examples = [
    '<%= config.bin %> content pin bafkr4i…',
    '<%= config.bin %> content pin 5f2b… --json',
  ]
  static override args = hashArg

  async run(): Promise<{ hash: string; pinned: boolean }> {
    parseContentId(this.args.hash) // bad input is told first
    new NodeHome(this.home).requireExisting()
    return setPinned(this.io, this.args.hash, true)
  }
}
