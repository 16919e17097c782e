import { Args } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { parseContentId } from '../../lib/b3/cid.ts'
import { openHomeBlockstore } from '../../node/index.ts'

export default class ContentUnpin extends FleekCommand<typeof ContentUnpin> {
  static override summary = 'Unpin a blob: the size budget may evict it again.'
  static override description =
    'Unpinning is idempotent; the blob stays until the size budget evicts it or `fleek content rm` removes it.'
  static override examples = [
    '<%= config.bin %> content unpin bafkr4i…',
    '<%= config.bin %> content unpin 5f2b… --json',
  ]
  static override args = {
    hash: Args.string({ description: 'Content hash: 64 hex digits or a BLAKE3 CIDv1.', required: true }),
  }

  async run(): Promise<{ hash: string; pinned: boolean }> {
    const hash = parseContentId(this.args.hash)
    const store = openHomeBlockstore(this.home)
    try {
      const info = store.unpin(hash)
      this.log(`${info.hash} ${info.pinned ? 'pinned' : 'unpinned'}`)
      return { hash: info.hash, pinned: info.pinned }
    } finally {
      await store.close()
    }
  }
}
