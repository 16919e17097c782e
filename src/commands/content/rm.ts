import { Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { hashArg } from '../../cli/content.ts'
import { parseContentId } from '../../lib/b3/cid.ts'
import { NodeHome, openHomeBlockstore } from '../../node/index.ts'

export default class ContentRm extends FleekCommand<typeof ContentRm> {
  static override summary = 'Remove a blob from the blockstore.'
  static override description =
    'Removes the blob and its block tree. A pinned blob is refused unless --force is given. An unknown hash exits 3 (NOT_FOUND).'
  static override examples = [
    '<%= config.bin %> content rm bafkr4i…',
    '<%= config.bin %> content rm 5f2b… --force',
  ]
  static override args = {
    ...hashArg,
  }
  static override flags = {
    force: Flags.boolean({ summary: 'Remove even a pinned blob.', default: false }),
  }

  async run(): Promise<{ hash: string; sizeBytes: number; removed: true }> {
    const hash = parseContentId(this.args.hash)
    const store = openHomeBlockstore(new NodeHome(this.home).requireExisting().dir)
    try {
      const removed = await store.remove(hash, { force: this.flags.force })
      this.log(`removed ${removed.hash} (${removed.sizeBytes} bytes)`)
      return { hash: removed.hash, sizeBytes: removed.sizeBytes, removed: true }
    } finally {
      await store.close()
    }
  }
}
