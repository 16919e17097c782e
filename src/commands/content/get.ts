import { Flags } from '@oclif/core'
import { resolve } from 'node:path'

import { FleekCommand } from '../../cli/base-command.ts'
import { hashArg } from '../../cli/content.ts'
import { Progress, writeToStdout } from '../../cli/progress.ts'
import { parseContentId, toCid } from '../../lib/b3/cid.ts'
import { FleekError } from '../../lib/errors.ts'
import { extractDirectory, openHomeBlockstore, toHexHash, writeFileFromStream } from '../../node/index.ts'

export interface ContentGetResult {
  hash: string
  cid: string
  sizeBytes: number
  kind: 'file' | 'directory'
  output: string
  files?: number
  folders?: number
}

export default class ContentGet extends FleekCommand<typeof ContentGet> {
  static override summary = 'Write stored content out, every block verified as it is read.'
  static override description =
    'Reads the blob from the blockstore and checks each 256 KiB block against its block tree and hash before writing it: corrupt or truncated bytes on disk stop the command (exit 9) and are never written. With -o FILE the file appears whole or not at all. A stored folder is restored into the new folder -o DIR (or written as its tar with --tar, or to standard output). Without -o the content goes to standard output, unless that is a terminal.'
  static override examples = [
    '<%= config.bin %> content get bafkr4i… -o video.mp4',
    '<%= config.bin %> content get 5f2b… -o - | cmp - original.bin',
    '<%= config.bin %> content get <folder hash> -o ./site',
    '<%= config.bin %> content get <folder hash> | tar -t',
  ]
  static override args = {
    ...hashArg,
  }
  static override flags = {
    output: Flags.string({
      char: 'o',
      summary: 'Write to this file (a new folder, for stored folders); - for standard output.',
    }),
    tar: Flags.boolean({
      summary: 'For a stored folder: write its tar instead of extracting it.',
      default: false,
    }),
  }

  async run(): Promise<ContentGetResult> {
    const hash = parseContentId(this.args.hash)
    const hex = toHexHash(hash)
    let output = this.flags.output
    if (output === undefined) {
      if (process.stdout.isTTY)
        throw new FleekError(
          'USAGE',
          'refusing to write binary content to a terminal: give -o FILE, or -o - to write to standard output anyway',
        )
      output = '-'
    }
    if (output === '-' && this.jsonEnabled())
      throw new FleekError('USAGE', '--json needs -o FILE: standard output carries the content')

    const store = openHomeBlockstore(this.home)
    try {
      const info = store.stat(hash)
      if (info === undefined)
        throw new FleekError(
          'NOT_FOUND',
          `no blob ${hex} in the blockstore (store it with \`fleek content put\`)`,
        )
      const result: ContentGetResult = {
        hash: hex,
        cid: toCid(hash),
        sizeBytes: info.sizeBytes,
        kind: info.kind,
        output,
      }
      const progress = new Progress({
        label: 'reading',
        totalBytes: info.sizeBytes,
        enabled: !this.jsonEnabled(),
      })
      const onBytes = (n: number): void => progress.add(n)
      // Stdout and file writers finish each write before asking for the next block: buffers are reused.
      try {
        if (output === '-') {
          await writeToStdout(store.read(hash, { onBytes, reuseBuffers: true }))
          return result
        }
        const path = resolve(output)
        result.output = path
        if (info.kind === 'directory' && !this.flags.tar) {
          const counts = await extractDirectory(store.read(hash, { onBytes }), path)
          result.files = counts.files
          result.folders = counts.folders
          progress.done()
          this.log(`restored ${counts.files} files and ${counts.folders} folders into ${path}`)
        } else {
          await writeFileFromStream(store.read(hash, { onBytes, reuseBuffers: true }), path)
          progress.done()
          this.log(`wrote ${info.sizeBytes} bytes to ${path}`)
        }
        return result
      } finally {
        progress.done()
      }
    } finally {
      await store.close()
    }
  }
}
