/**
 * Directories as one blob: a deterministic tar (ustar, pax headers for long names, via tar-stream).
 * Entries are the folder's contents in depth-first order with names sorted by their UTF-8 bytes, a
 * folder before what it holds; names are relative with '/' separators (folders end in '/'); mtime 0,
 * uid/gid 0, empty user and group names; mode 0755 for folders and for files with any execute bit,
 * 0644 for other files. Only regular files and folders are packed: symbolic links, sockets, FIFOs and
 * devices are skipped and reported through `onSkip` (a link could point anywhere, so it is never
 * followed). The same folder contents therefore always give the same bytes and the same hash.
 *
 * Extraction accepts only files and folders with safe relative names (no absolute path, no `..`, no
 * empty or `.` component), writes into a staging folder beside the target and renames it into place
 * at the end, so a failed or corrupt extraction leaves nothing at the target.
 */
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { lstatSync, readdirSync, rmdirSync } from 'node:fs'
import { mkdir, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import tar from 'tar-stream'

import { FleekError, fromSystemError } from '../../lib/errors.ts'

const READ_BYTES = 256 * 1024
const EPOCH = new Date(0)

export interface PackOptions {
  /** Told of every entry that is not packed (a symbolic link or a special file), with the reason. */
  onSkip?: (relativePath: string, reason: string) => void
}

interface PackEntry {
  name: string
  path: string
  type: 'file' | 'directory'
  mode: number
  size: number
}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
}

/** The entries of the folder `root` in tar order (see the file comment). */
export function listDirectoryEntries(root: string, options: PackOptions = {}): PackEntry[] {
  const out: PackEntry[] = []
  const walk = (dir: string, prefix: string): void => {
    let names: string[]
    try {
      names = readdirSync(dir).sort(compareNames)
    } catch (err) {
      throw fromSystemError(err, 'read the folder', dir)
    }
    for (const name of names) {
      const path = join(dir, name)
      const rel = `${prefix}${name}`
      let st
      try {
        st = lstatSync(path)
      } catch (err) {
        throw fromSystemError(err, 'read', path)
      }
      if (st.isDirectory()) {
        out.push({ name: `${rel}/`, path, type: 'directory', mode: 0o755, size: 0 })
        walk(path, `${rel}/`)
      } else if (st.isFile()) {
        out.push({ name: rel, path, type: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, size: st.size })
      } else {
        options.onSkip?.(rel, st.isSymbolicLink() ? 'symbolic link' : 'not a regular file or folder')
      }
    }
  }
  walk(root, '')
  return out
}

/** The deterministic tar of the folder `root`, streamed (one read buffer in memory). */
export async function* packDirectory(root: string, options: PackOptions = {}): AsyncGenerator<Uint8Array> {
  let st
  try {
    st = lstatSync(root)
  } catch (err) {
    throw fromSystemError(err, 'read', root)
  }
  if (!st.isDirectory()) throw new FleekError('INVALID_INPUT', `${root} is not a folder`)
  const entries = listDirectoryEntries(root, options)
  const pack = tar.pack()
  let failure: unknown
  const produce = async (): Promise<void> => {
    for (const entry of entries) {
      const header = {
        name: entry.name,
        type: entry.type,
        mode: entry.mode,
        size: entry.size,
        mtime: EPOCH,
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
      }
      if (entry.type === 'directory') {
        await new Promise<void>((resolve, reject) =>
          pack.entry(header, (err) => (err ? reject(err) : resolve())),
        )
        continue
      }
      let sink!: ReturnType<typeof pack.entry>
      const done = new Promise<void>((resolve, reject) => {
        sink = pack.entry(header, (err) => (err ? reject(err) : resolve()))
      })
      done.catch(() => undefined) // awaited below; an early throw must not leave it unhandled
      let handle
      try {
        handle = await open(entry.path, 'r')
      } catch (err) {
        throw fromSystemError(err, 'read', entry.path)
      }
      try {
        let left = entry.size
        while (left > 0) {
          const buf = Buffer.allocUnsafe(Math.min(READ_BYTES, left))
          const { bytesRead } = await handle.read(buf, 0, buf.length, entry.size - left)
          if (bytesRead === 0)
            throw new FleekError('IO', `${entry.path} changed while it was being read; try again`)
          left -= bytesRead
          if (!sink.write(buf.subarray(0, bytesRead))) await once(sink, 'drain')
        }
      } finally {
        await handle.close()
      }
      sink.end(undefined)
      await done
    }
    pack.finalize()
  }
  const producing = produce().catch((err: unknown) => {
    failure = err
    pack.destroy(err instanceof Error ? err : new Error(String(err)))
  })
  try {
    for await (const chunk of pack as AsyncIterable<Uint8Array>) yield chunk
  } catch (err) {
    if (failure === undefined) throw err
  } finally {
    if (!pack.destroyed) pack.destroy()
    await producing
  }
  if (failure !== undefined) throw failure
}

/** Splits a tar entry name into safe path components, or refuses it. */
export function safeEntryParts(name: string): string[] {
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name
  const parts = trimmed.split('/')
  const bad =
    trimmed.length === 0 ||
    name.startsWith('/') ||
    name.includes('\\') ||
    name.includes('\0') ||
    /^[a-zA-Z]:/.test(name) ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  if (bad)
    throw new FleekError('INVALID_INPUT', `refusing unsafe path "${name}" in the archive; nothing extracted`)
  return parts
}

/**
 * Extracts the tar streamed by `source` into the new folder `target` (which must not exist, or be an
 * empty folder). All or nothing: on any error the staging folder is removed and `target` is untouched.
 */
export async function extractDirectory(
  source: AsyncIterable<Uint8Array>,
  target: string,
): Promise<{ files: number; folders: number; bytes: number }> {
  try {
    const st = lstatSync(target)
    if (!st.isDirectory() || readdirSync(target).length > 0)
      throw new FleekError('EXISTS', `${target} already exists; choose a new path or remove it first`)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, 'write', target)
  }
  const staging = join(dirname(target), `.${basename(target)}.fleek-tmp-${randomBytes(6).toString('hex')}`)
  const extract = tar.extract()
  let failure: unknown
  let feeding: Promise<void> = Promise.resolve()
  const counts = { files: 0, folders: 0, bytes: 0 }
  try {
    await mkdir(staging, { mode: 0o755 })
    // tar-stream hands entries only to an iterator that exists when they are parsed: make it first.
    const entries = extract[Symbol.asyncIterator]()
    const feed = async (): Promise<void> => {
      for await (const chunk of source) {
        if (extract.destroyed) return // the reader gave up (a refused entry): stop reading the source
        if (!extract.write(chunk)) {
          const done = new AbortController()
          await Promise.race([
            once(extract, 'drain', { signal: done.signal }),
            once(extract, 'close', { signal: done.signal }),
          ]).finally(() => done.abort())
        }
      }
      if (!extract.destroyed) extract.end(undefined)
    }
    feeding = feed().catch((err: unknown) => {
      failure = err
      extract.destroy(err instanceof Error ? err : new Error(String(err)))
    })
    try {
      for await (const entry of { [Symbol.asyncIterator]: () => entries }) {
        const { header } = entry
        const parts = safeEntryParts(header.name)
        const path = join(staging, ...parts)
        if (header.type === 'directory') {
          await mkdir(path, { recursive: true, mode: 0o755 })
          counts.folders++
          entry.resume() // no body
          continue
        }
        if (header.type !== 'file' && header.type !== 'contiguous-file')
          throw new FleekError(
            'INVALID_INPUT',
            `refusing "${header.name}" in the archive: it is a ${header.type}, not a file or folder`,
          )
        await mkdir(dirname(path), { recursive: true, mode: 0o755 })
        const handle = await open(path, 'wx', (header.mode ?? 0o644) & 0o111 ? 0o755 : 0o644)
        try {
          for await (const chunk of entry as AsyncIterable<Uint8Array>) {
            let off = 0
            while (off < chunk.length)
              off += (await handle.write(chunk, off, chunk.length - off)).bytesWritten
            counts.bytes += chunk.length
          }
        } finally {
          await handle.close()
        }
        counts.files++
      }
    } catch (err) {
      if (failure === undefined) throw err
    }
    await feeding
    if (failure !== undefined) throw failure
    try {
      rmdirSync(target)
    } catch {
      // absent (the usual case)
    }
    await rename(staging, target)
    return counts
  } catch (err) {
    if (!extract.destroyed) extract.destroy()
    await feeding
    await rm(staging, { recursive: true, force: true })
    if (failure !== undefined && !(err instanceof FleekError && err.code === 'INVALID_INPUT')) throw failure
    if (err instanceof FleekError) throw err
    if (
      (err as Error).message?.includes('Invalid tar header') ||
      (err as Error).message?.includes('Unexpected end')
    )
      throw new FleekError(
        'INVALID_INPUT',
        `the content is not a valid tar archive: ${(err as Error).message}`,
        { cause: err },
      )
    throw fromSystemError(err, 'extract into', target)
  }
}
