import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs'
import { dirname } from 'node:path'

import { fromSystemError } from '../errors.ts'

/**
 * Writes `data` to `path` so that a reader (or a crash) sees the old file or the whole new one, never
 * a part: write a temporary file beside it, fsync, rename over, fsync the folder. `exclusive` refuses
 * to replace an existing file (the rename is then a link-free check-and-rename, race-free enough for a
 * single user's home).
 */
export function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): void {
  const mode = options.mode ?? 0o644
  const dir = dirname(path)
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const fd = openSync(tmp, 'wx', mode)
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
      let off = 0
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
    syncDir(dir)
  } catch (err) {
    rmSync(tmp, { force: true })
    throw fromSystemError(err, 'write', path)
  }
}

/** fsync a folder so that a rename inside it survives a crash (a no-op where the OS refuses). */
export function syncDir(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // Some filesystems do not allow fsync on a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
