import { Args, Flags } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { Progress } from '../../cli/progress.ts'
import { fromHex } from '../../lib/b3/index.ts'
import { parseContentId, toCid } from '../../lib/b3/cid.ts'
import { openContentInput, openHomeBlockstore } from '../../node/index.ts'

export interface ContentPutResult {
  hash: string
  cid: string
  sizeBytes: number
  blocks: number
  kind: 'file' | 'directory'
  existed: boolean
  pinned: boolean
  evicted: string[]
  skipped: Array<{ path: string; reason: string }>
}

export default class ContentPut extends FleekCommand<typeof ContentPut> {
  static override summary = 'Store a file, a folder or standard input in the blockstore; print its hash.'
  static override description =
    'Streams the bytes into the node’s blockstore while hashing them (BLAKE3, 256 KiB blocks) and prints the content hash as hex and as a CIDv1. A folder is stored as one deterministic tar (sorted entries, mtime 0, uid/gid 0, modes 0644/0755; symbolic links and special files are skipped with a notice), so the same contents always give the same hash and `fleek content get` restores the folder. Nothing is visible until the whole input is stored; with --expect, content that hashes to anything else is not stored at all.'
  static override examples = [
    '<%= config.bin %> content put ./video.mp4',
    '<%= config.bin %> content put ./site',
    'cat data.bin | <%= config.bin %> content put - --json | jq -r .hash',
    '<%= config.bin %> content put ./file --expect bafkr4i…',
  ]
  static override args = {
    input: Args.string({ description: 'File or folder to store, or - for standard input.', required: true }),
  }
  static override flags = {
    expect: Flags.string({ summary: 'Store only if the content has this hash (hex or CID).' }),
    pin: Flags.boolean({ summary: 'Pin the blob, so the size budget never evicts it.', default: false }),
  }

  async run(): Promise<ContentPutResult> {
    const expected = this.flags.expect === undefined ? undefined : parseContentId(this.flags.expect)
    const skipped: Array<{ path: string; reason: string }> = []
    const input = await openContentInput(this.args.input, {
      onSkip: (path, reason) => {
        skipped.push({ path, reason })
        this.notice(`skipped ${path} (${reason})`)
      },
    })
    const store = openHomeBlockstore(this.home)
    const progress = new Progress({
      label: 'storing',
      totalBytes: input.sizeBytes,
      enabled: !this.jsonEnabled(),
    })
    try {
      const put = await store.put(input.source, {
        kind: input.kind,
        onBytes: (n) => progress.add(n),
        ...(expected !== undefined ? { expectedHash: expected } : {}),
      })
      progress.done()
      const pinned = this.flags.pin ? store.pin(put.hash).pinned : (store.stat(put.hash)?.pinned ?? false)
      const result: ContentPutResult = {
        hash: put.hash,
        cid: toCid(fromHex(put.hash)),
        sizeBytes: put.sizeBytes,
        blocks: put.blocks,
        kind: put.kind,
        existed: put.existed,
        pinned,
        evicted: put.evicted,
        skipped,
      }
      this.log(`hash  ${result.hash}`)
      this.log(`cid   ${result.cid}`)
      this.log(
        `size  ${result.sizeBytes} bytes, ${result.blocks} block${result.blocks === 1 ? '' : 's'}${result.kind === 'directory' ? ', a folder' : ''}${result.existed ? ' (already stored)' : ''}${pinned ? ', pinned' : ''}`,
      )
      if (put.evicted.length > 0)
        this.notice(
          `evicted ${put.evicted.length} least-recently-used blob(s) to stay within the size budget`,
        )
      return result
    } finally {
      progress.done()
      await store.close()
    }
  }
}
