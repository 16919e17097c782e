import { FleekCommand } from '../../cli/base-command.ts'
import { hashArg, setPinned } from '../../cli/content.ts'
import { parseContentId } from '../../lib/b3/cid.ts'
import { NodeHome } from '../../node/index.ts'

export default class ContentUnpin extends FleekCommand<typeof ContentUnpin> {
  static override summary = 'Unpin a blob: the size budget may evict it again.'
  static override description =
    'Unpinning is idempotent; the blob stays until the size budget evicts it or `fleek content rm` removes it.'
  static override examples = [
    '<%= config.bin %> content unpin bafkr4i…',
    '<%= config.bin %> content unpin 5f2b… --json',
  ]
  static override args = hashArg

  async run(): Promise<{ hash: string; pinned: boolean }> {
    parseContentId(this.args.hash) // bad input is told first
    new NodeHome(this.home).requireExisting()
    return setPinned(this.io, this.args.hash, false)
  }
}
