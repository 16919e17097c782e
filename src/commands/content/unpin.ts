import { FleekCommand } from '../../cli/base-command.ts'
import { hashArg, setPinned } from '../../cli/content.ts'

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
    return setPinned(this.io, this.args.hash, false)
  }
}
