import { FleekCommand } from '../../cli/base-command.ts'
import { formatBytes } from '../../cli/progress.ts'
import { fromHex } from '../../lib/b3/index.ts'
import { toCid } from '../../lib/b3/cid.ts'
import { NodeHome, openHomeBlockstore } from '../../node/index.ts'

export interface ContentListEntry {
  hash: string
  cid: string
  sizeBytes: number
  kind: 'file' | 'directory'
  pinned: boolean
  addedAt: string
  lastAccessAt: string
}

export default class ContentLs extends FleekCommand<typeof ContentLs> {
  static override summary = 'List the blobs in the blockstore: hash, size, pin, last access.'
  static override description =
    'Most recently used first. The total is what the size budget ([blockstore] max_size_bytes) counts: blob contents. Unpinned blobs are evicted least-recently-used first when a put goes over the budget.'
  static override examples = [
    '<%= config.bin %> content ls',
    '<%= config.bin %> content ls --json | jq -r ".blobs[] | select(.pinned) | .hash"',
  ]

  async run(): Promise<{
    blobs: ContentListEntry[]
    count: number
    totalBytes: number
    maxSizeBytes: number
  }> {
    const store = openHomeBlockstore(new NodeHome(this.home).requireExisting().dir)
    try {
      const blobs = store.list().map((b) => ({
        hash: b.hash,
        cid: toCid(fromHex(b.hash)),
        sizeBytes: b.sizeBytes,
        kind: b.kind,
        pinned: b.pinned,
        addedAt: new Date(b.addedAtMs).toISOString(),
        lastAccessAt: new Date(b.accessedAtMs).toISOString(),
      }))
      const totalBytes = blobs.reduce((sum, b) => sum + b.sizeBytes, 0)
      if (blobs.length === 0) this.log('no blobs stored')
      else {
        const rows = blobs.map((b) => [
          b.hash,
          formatBytes(b.sizeBytes),
          b.kind === 'directory' ? 'folder' : 'file',
          b.pinned ? 'pinned' : '',
          b.lastAccessAt.replace('T', ' ').slice(0, 19),
        ])
        const header = ['HASH', 'SIZE', 'KIND', 'PIN', 'LAST ACCESS (UTC)']
        const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
        const line = (cells: string[]): string =>
          cells
            .map((c, i) => (i === 1 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
            .join('  ')
            .trimEnd()
        this.log(line(header))
        for (const row of rows) this.log(line(row))
      }
      const budget = store.maxSizeBytes > 0 ? ` of ${formatBytes(store.maxSizeBytes)} budget` : ''
      if (blobs.length > 0)
        this.log(`${blobs.length} blob${blobs.length === 1 ? '' : 's'}, ${formatBytes(totalBytes)}${budget}`)
      return { blobs, count: blobs.length, totalBytes, maxSizeBytes: store.maxSizeBytes }
    } finally {
      await store.close()
    }
  }
}
