/** Writing a blob out to a file all-or-nothing: a temporary file beside the target, fsync, rename. */
import { randomBytes } from 'node:crypto'
import { lstatSync } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

import { FleekError, fromSystemError } from '../../lib/errors.ts'
import { syncDir } from '../../lib/fs/atomic-write.ts'

/**
 * Writes `source` to `path` so that the file appears whole or not at all: a failure (a corrupt block,
 * a full disk) removes the temporary file and leaves whatever was at `path` before. Returns the bytes.
 */
export async function writeFileFromStream(
  source: AsyncIterable<Uint8Array>,
  path: string,
  onBytes?: (bytes: number) => void,
): Promise<number> {
  try {
    if (lstatSync(path).isDirectory())
      throw new FleekError('INVALID_INPUT', `${path} is a folder; give a file path to write to`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, 'write', path)
  }
  const tmp = join(dirname(path), `.${basename(path)}.fleek-tmp-${randomBytes(6).toString('hex')}`)
  let handle
  try {
    handle = await open(tmp, 'wx', 0o644)
  } catch (err) {
    throw fromSystemError(err, 'write', path)
  }
  let written = 0
  try {
    try {
      for await (const chunk of source) {
        let off = 0
        while (off < chunk.length) off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten
        written += chunk.length
        onBytes?.(chunk.length)
      }
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, path)
    syncDir(dirname(path))
    return written
  } catch (err) {
    await rm(tmp, { force: true })
    throw fromSystemError(err, 'write', path)
  }
}
