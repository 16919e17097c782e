import { FleekCommand } from '../../cli/base-command.ts'
import { hashArg } from '../../cli/content.ts'
import { Progress } from '../../cli/progress.ts'
import { parseContentId, toCid } from '../../lib/b3/cid.ts'
import { NodeHome, openHomeBlockstore } from '../../node/index.ts'

export default class ContentVerify extends FleekCommand<typeof ContentVerify> {
  static override summary = 'Re-hash a stored blob block by block; name the first bad block.'
  static override description =
    'Checks the blob’s block tree against its hash, then every block against the tree. Exits 0 when all is well; a damaged, truncated or extended blob exits 9 (INTEGRITY) naming the first bad block. Remove and put such a blob again.'
  static override examples = [
    '<%= config.bin %> content verify bafkr4i…',
    '<%= config.bin %> content verify 5f2b… --json',
  ]
  static override args = {
    ...hashArg,
  }

  async run(): Promise<{ hash: string; cid: string; ok: true; sizeBytes: number; blocks: number }> {
    const hash = parseContentId(this.args.hash)
    const store = openHomeBlockstore(new NodeHome(this.home).requireExisting().dir)
    try {
      const size = store.stat(hash)?.sizeBytes
      const progress = new Progress({ label: 'verifying', totalBytes: size, enabled: !this.jsonEnabled() })
      let checked
      try {
        checked = await store.verify(hash, { onBytes: (n) => progress.add(n) })
      } finally {
        progress.done()
      }
      this.log(
        `ok  ${checked.hash}  ${checked.blocks} block${checked.blocks === 1 ? '' : 's'}, ${checked.sizeBytes} bytes`,
      )
      return {
        hash: checked.hash,
        cid: toCid(hash),
        ok: true,
        sizeBytes: checked.sizeBytes,
        blocks: checked.blocks,
      }
    } finally {
      await store.close()
    }
  }
}
