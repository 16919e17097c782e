import { Args } from '@oclif/core'

import { FleekCommand } from '../../cli/base-command.ts'
import { Progress } from '../../cli/progress.ts'
import { createHasher, toHex } from '../../lib/b3/index.ts'
import { toCid } from '../../lib/b3/cid.ts'
import { openContentInput } from '../../node/index.ts'

export default class ContentHash extends FleekCommand<typeof ContentHash> {
  static override summary = 'Print the content hash of a file, a folder or standard input; store nothing.'
  static override description =
    'The same hash `fleek content put` would give (BLAKE3, equal to `b3sum` for a file; a folder is hashed as its deterministic tar), as hex and as a CIDv1. Nothing is written.'
  static override examples = [
    '<%= config.bin %> content hash ./video.mp4',
    'cat data.bin | <%= config.bin %> content hash -',
    '<%= config.bin %> content hash ./site --json | jq -r .cid',
  ]
  static override args = {
    input: Args.string({ description: 'File or folder to hash, or - for standard input.', required: true }),
  }

  async run(): Promise<{ hash: string; cid: string; sizeBytes: number; kind: 'file' | 'directory' }> {
    const input = await openContentInput(this.args.input, {
      onSkip: (path, reason) => this.notice(`skipped ${path} (${reason})`),
    })
    const progress = new Progress({
      label: 'hashing',
      totalBytes: input.sizeBytes,
      enabled: !this.jsonEnabled(),
    })
    const hasher = createHasher()
    let sizeBytes = 0
    try {
      for await (const chunk of input.source) {
        hasher.update(chunk)
        sizeBytes += chunk.length
        progress.add(chunk.length)
      }
    } finally {
      progress.done()
    }
    const digest = hasher.digest()
    const result = { hash: toHex(digest), cid: toCid(digest), sizeBytes, kind: input.kind }
    this.log(`${result.hash}  ${result.cid}`)
    return result
  }
}
