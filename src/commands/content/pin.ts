import { Args } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { parseContentId } from '../../lib/b3/cid.ts'
import { openHomeBlockstore } from '../../node/index.ts'

export default class ContentPin extends FleekCommand<typeof ContentPin> {
  static override summary = 'Pin a blob: the size budget never evicts it.'
  static override description =
    'Pinning is idempotent. Unpinned blobs are evicted least-recently-used first when a put goes over [blockstore] max_size_bytes.'
  static override examples = [
    '<%= config.bin %> content pin bafkr4i…',
    '<%= config.bin %> content pin 5f2b… --json',
  ]
  static override args = {
    hash: Args.string({ description: 'Content hash: 64 hex digits or a BLAKE3 CIDv1.', required: true }),
  }

  async run(): Promise<{ hash: string; pinned: boolean }> {
    const hash = parseContentId(this.args.hash)
    const store = openHomeBlockstore(this.home)
    try {
      const info = store.pin(hash)
      this.log(`${info.hash} ${info.pinned ? 'pinned' : 'unpinned'}`)
      return { hash: info.hash, pinned: info.pinned }
    } finally {
      await store.close()
    }
  }
}
