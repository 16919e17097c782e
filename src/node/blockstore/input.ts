/**
 * What `content put` and `content hash` read: a file, a folder (as its deterministic tar) or standard
 * input ('-'), as one stream of bytes whose read errors name the input.
 */
import { open, stat } from 'node:fs/promises'

import { fromSystemError } from '../../lib/errors.ts'
import { packDirectory } from './dir-tar.ts'
import type { BlobKind } from './meta.ts'

const READ_BYTES = 1 << 20

export interface ContentInput {
  source: AsyncIterable<Uint8Array>
  kind: BlobKind
  /** Known for a file; undefined for standard input and folders. */
  sizeBytes?: number
  /** The input as a user named it ('stdin' for '-'). */
  label: string
}

async function* readFileStream(path: string): AsyncGenerator<Uint8Array> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    throw fromSystemError(err, 'read', path)
  }
  const readPiece = async (): Promise<Buffer> => {
    const buf = Buffer.allocUnsafe(READ_BYTES)
    try {
      const { bytesRead } = await handle.read(buf, 0, READ_BYTES, null)
      return buf.subarray(0, bytesRead)
    } catch (err) {
      throw fromSystemError(err, 'read', path)
    }
  }
  // The next piece is read while the caller handles this one.
  let next: Promise<Buffer> | undefined = readPiece()
  try {
    for (;;) {
      const piece = await next
      if (piece.length === 0) return
      next = readPiece()
      yield piece
    }
  } finally {
    await next?.catch(() => undefined)
    await handle.close()
  }
}

async function* readStream(
  stream: AsyncIterable<Uint8Array | string>,
  label: string,
): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk
  } catch (err) {
    throw fromSystemError(err, 'read', label)
  }
}

/**
 * Opens `path` ('-' = `stdin`). Fails early (NOT_FOUND, IO for permission) when the path cannot be
 * read. Folders skip symbolic links and special files, telling `onSkip`.
 */
export async function openContentInput(
  path: string,
  options: {
    stdin?: AsyncIterable<Uint8Array | string>
    onSkip?: (path: string, reason: string) => void
  } = {},
): Promise<ContentInput> {
  if (path === '-')
    return { source: readStream(options.stdin ?? process.stdin, 'stdin'), kind: 'file', label: 'stdin' }
  let st
  try {
    st = await stat(path)
  } catch (err) {
    throw fromSystemError(err, 'read', path)
  }
  if (st.isDirectory()) {
    const onSkip = options.onSkip
    return { source: packDirectory(path, onSkip ? { onSkip } : {}), kind: 'directory', label: path }
  }
  // Open now, so an unreadable file fails before anything is written.
  try {
    await (await open(path, 'r')).close()
  } catch (err) {
    throw fromSystemError(err, 'read', path)
  }
  return { source: readFileStream(path), kind: 'file', sizeBytes: st.size, label: path }
}
