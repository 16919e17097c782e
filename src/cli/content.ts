/** What the content commands share: the hash argument and pinning. */
import { Args } from '@oclif/core'

import { parseContentId } from '../lib/b3/cid.ts'
import { openHomeBlockstore } from '../node/index.ts'

export const hashArg = {
  hash: Args.string({ description: 'Content hash: 64 hex digits or a BLAKE3 CIDv1.', required: true }),
}

/** Pins or unpins a blob of the home's blockstore; prints one line and returns the new state. */
export async function setPinned(
  io: { home: string; log: (line: string) => void },
  hashText: string,
  pinned: boolean,
): Promise<{ hash: string; pinned: boolean }> {
  const hash = parseContentId(hashText)
  const store = openHomeBlockstore(io.home)
  try {
    const info = pinned ? store.pin(hash) : store.unpin(hash)
    io.log(`${info.hash} ${info.pinned ? 'pinned' : 'unpinned'}`)
    return { hash: info.hash, pinned: info.pinned }
  } finally {
    await store.close()
  }
}
