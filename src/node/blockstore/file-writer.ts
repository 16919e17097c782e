/**
 * The blockstore's one seam for writing files: everything a put writes goes through a `FileWriter`,
 * so tests can inject a failure (ENOSPC after N bytes) without a full disk.
 */
import { open } from 'node:fs/promises'

export interface FileWriter {
  write(bytes: Uint8Array): Promise<void>
  /** fsync: the bytes are on disk once this resolves. */
  sync(): Promise<void>
  close(): Promise<void>
}

/** Creates (exclusively) the file at `path` for writing. */
export type CreateFileWriter = (path: string) => Promise<FileWriter>

export const createFileWriter: CreateFileWriter = async (path) => {
  const handle = await open(path, 'wx', 0o644)
  let closed = false
  return {
    async write(bytes) {
      let off = 0
      while (off < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, off, bytes.length - off)
        off += bytesWritten
      }
    },
    sync: () => handle.sync(),
    async close() {
      if (closed) return
      closed = true
      await handle.close()
    },
  }
}
