import { Flags } from '@oclif/core'
import { randomBytes } from 'node:crypto'
import { linkSync, lstatSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'

import { FleekCommand } from '../../cli/base-command.ts'
import { hashArg } from '../../cli/content.ts'
import { Progress, writeToStdout } from '../../cli/progress.ts'
import { parseContentId, toCid } from '../../lib/b3/cid.ts'
import { FleekError, fromSystemError } from '../../lib/errors.ts'
import { syncDir } from '../../lib/fs/atomic-write.ts'
import {
  NodeHome,
  extractDirectory,
  openHomeBlockstore,
  toHexHash,
  writeFileFromStream,
} from '../../node/index.ts'

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
    'Reads the blob from the blockstore and checks each 256 KiB block against its block tree and hash before writing it: corrupt or truncated bytes on disk stop the command (exit 9) and are never written. With -o FILE the file appears whole or not at all, and an existing file is refused (exit 4) unless --force replaces it, atomically. A stored folder is restored into the new (or empty) folder -o DIR — an existing one is replaced only with --force, once the new one is complete — or written as its tar with --tar, or to standard output. Without -o the content goes to standard output, unless that is a terminal.'
  static override examples = [
    '<%= config.bin %> content get bafkr4i… -o video.mp4',
    '<%= config.bin %> content get bafkr4i… -o video.mp4 --force',
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
    force: Flags.boolean({
      summary: 'Replace an existing -o file (or folder, for a stored folder).',
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

    const path = output === '-' ? undefined : resolve(output)
    // Before anything is read: what is already at -o stays untouched without --force.
    if (path !== undefined && !this.flags.force) refuseExisting(path)
    const store = openHomeBlockstore(new NodeHome(this.home).requireExisting().dir)
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
        if (path === undefined) {
          await writeToStdout(store.read(hash, { onBytes, reuseBuffers: true }))
          return result
        }
        result.output = path
        if (info.kind === 'directory' && !this.flags.tar) {
          const counts = await extractFolder(store.read(hash, { onBytes }), path, this.flags.force)
          result.files = counts.files
          result.folders = counts.folders
          progress.done()
          this.log(`restored ${counts.files} files and ${counts.folders} folders into ${path}`)
        } else {
          await writeFile(store.read(hash, { onBytes, reuseBuffers: true }), path, this.flags.force)
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

/** What is at `path` (nothing, or an empty folder, is fine): EXISTS, naming --force. */
function refuseExisting(path: string): void {
  if (!isTaken(path)) return
  throw new FleekError('EXISTS', `${path} already exists (use --force to replace it)`)
}

function isTaken(path: string): boolean {
  try {
    return !lstatSync(path).isDirectory() || readdirSync(path).length > 0
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw fromSystemError(err, 'write', path)
  }
}

/** A hidden name beside `path` for a file or folder being made. */
const besidePath = (path: string, what: string): string =>
  join(dirname(path), `.${basename(path)}.fleek-${what}-${randomBytes(6).toString('hex')}`)

/**
 * The file appears whole or not at all. With `replace` it takes the place of what is there (one
 * rename); without, it is linked into place, which fails if a file appeared at `path` meanwhile.
 */
async function writeFile(source: AsyncIterable<Uint8Array>, path: string, replace: boolean): Promise<void> {
  if (replace) {
    await writeFileFromStream(source, path)
    return
  }
  const made = besidePath(path, 'new')
  await writeFileFromStream(source, made)
  try {
    try {
      linkSync(made, path)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'EEXIST') throw err
      // A filesystem without hard links: check, then rename.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err
      refuseExisting(path)
      renameSync(made, path)
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new FleekError('EXISTS', `${path} already exists (use --force to replace it)`, { cause: err })
    throw fromSystemError(err, 'write', path)
  } finally {
    rmSync(made, { force: true })
  }
  syncDir(dirname(path))
}

/**
 * Restores a folder into `path`: a new or empty folder, or — with `replace` — in place of what is
 * there, which is moved aside only once the new folder is complete, and removed after.
 */
async function extractFolder(
  source: AsyncIterable<Uint8Array>,
  path: string,
  replace: boolean,
): Promise<{ files: number; folders: number }> {
  if (!replace || !isTaken(path)) return extractDirectory(source, path)
  const made = besidePath(path, 'new')
  const counts = await extractDirectory(source, made)
  const old = besidePath(path, 'old')
  try {
    renameSync(path, old)
  } catch (err) {
    rmSync(made, { recursive: true, force: true })
    throw fromSystemError(err, 'replace', path)
  }
  try {
    renameSync(made, path)
  } catch (err) {
    renameSync(old, path) // put back what was there
    rmSync(made, { recursive: true, force: true })
    throw fromSystemError(err, 'replace', path)
  }
  syncDir(dirname(path))
  rmSync(old, { recursive: true, force: true })
  return counts
}
