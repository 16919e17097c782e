/**
 * The late node's side of checkpoint sync: ask peers for the checkpoints since its own epoch, keep the
 * longest chain that verifies from the committee it knows, then fetch the snapshot of the chain's last
 * epoch in chunks (from the peers that had that checkpoint, one after the other on failure). The
 * caller imports the snapshot (verified against the checkpoint's state root) and follows the parcels.
 */
import { createDeadline } from '../../lib/abort.ts'
import { createHasher } from '../../lib/b3/index.ts'
import { equalBytes, toHex } from '../../lib/bytes.ts'
import { FleekError, isFleekError } from '../../lib/errors.ts'
import { computeCheckpointDigest } from './checkpoint.ts'
import type { Logger } from '../logger.ts'
import {
  type ChainedCheckpoint,
  MAX_CHECKPOINTS_PER_ANSWER,
  MAX_SNAPSHOT_BYTES,
  decodeCheckpointsAnswer,
  decodeSnapshotChunk,
  encodeCheckpointSyncRequest,
  verifyCheckpointChain,
} from './sync.ts'

export interface CatchUpDeps {
  /** A sync request to a peer (its node key, hex). */
  request(peer: string, bytes: Uint8Array, signal: AbortSignal): Promise<Uint8Array>
  logger: Logger
  /** Bound on each request (default 5 s). */
  requestTimeoutMs?: number
}

export interface LatestCheckpoint {
  /** The verified chain, from the start epoch to the latest checkpoint. */
  chain: ChainedCheckpoint[]
  /** Peers that sent the latest checkpoint (snapshot sources), best first. */
  peers: string[]
}

/** Once one peer has answered with checkpoints, the others get this long to answer too. */
const GRACE_MS = 750

/**
 * The latest checkpoint the peers can prove from `start` (the local epoch and its committee's
 * consensus keys, in committee order), or undefined when none has one. Peers are asked at once; once
 * one has sent checkpoints the others have GRACE_MS more; a link several peers send identically is
 * verified once; those still busy then are abandoned. A peer that fails is skipped; one that sends
 * malformed bytes or a chain that does not verify is also reported through `onBadPeer` (what it proved
 * before stands).
 */
export async function fetchLatestCheckpoint(
  deps: CatchUpDeps,
  peers: readonly string[],
  start: { epoch: number; committee: readonly Uint8Array[] },
  signal: AbortSignal,
  onBadPeer?: (peer: string, reason: string) => void,
): Promise<LatestCheckpoint | undefined> {
  const cache = new Set<string>()
  const results: Array<{ peer: string; chain: ChainedCheckpoint[] }> = []
  const done = new AbortController()
  const asking = AbortSignal.any([signal, done.signal])
  const report = (peer: string, reason: string): void => {
    if (!done.signal.aborted) onBadPeer?.(peer, reason)
  }
  await new Promise<void>((resolve) => {
    let pending = peers.length
    let grace: ReturnType<typeof setTimeout> | undefined
    if (pending === 0) resolve()
    for (const peer of peers) {
      fetchChain(deps, peer, start, asking, cache, report)
        .then((chain) => results.push({ peer, chain }))
        .catch((err: unknown) =>
          deps.logger.debug({ peer, err: (err as Error).message }, 'no checkpoints from this peer'),
        )
        .finally(() => {
          pending--
          if (pending === 0) {
            clearTimeout(grace)
            resolve()
          } else if (grace === undefined && results.some((r) => r.chain.length > 0)) {
            grace = setTimeout(resolve, GRACE_MS)
          }
        })
    }
  })
  done.abort()
  const longest = Math.max(0, ...results.map((r) => r.chain.length))
  if (longest === 0) return undefined
  const best = results.find((r) => r.chain.length === longest)!
  // A snapshot source must have sent this very chain's last checkpoint.
  const last = toHex(computeCheckpointDigest(best.chain[longest - 1].checkpoint))
  return {
    chain: best.chain,
    peers: results
      .filter(
        (r) =>
          r.chain.length === longest &&
          toHex(computeCheckpointDigest(r.chain[longest - 1].checkpoint)) === last,
      )
      .map((r) => r.peer),
  }
}

async function fetchChain(
  deps: CatchUpDeps,
  peer: string,
  start: { epoch: number; committee: readonly Uint8Array[] },
  signal: AbortSignal,
  cache: Set<string>,
  onBadPeer?: (peer: string, reason: string) => void,
): Promise<ChainedCheckpoint[]> {
  const chain: ChainedCheckpoint[] = []
  let from = start
  for (;;) {
    let bytes: Uint8Array
    try {
      bytes = await request(
        deps,
        peer,
        encodeCheckpointSyncRequest({ kind: 'checkpoints', fromEpoch: from.epoch }),
        signal,
      )
    } catch (err) {
      // A later page that fails leaves what the earlier ones proved.
      if (chain.length > 0) return chain
      throw err
    }
    let answer: ChainedCheckpoint[]
    try {
      answer = decodeCheckpointsAnswer(bytes)
    } catch (err) {
      onBadPeer?.(peer, (err as Error).message)
      return chain
    }
    const { verified, error } = verifyCheckpointChain(answer, from, cache)
    if (error !== undefined) onBadPeer?.(peer, error.message)
    chain.push(...verified)
    if (error !== undefined || answer.length < MAX_CHECKPOINTS_PER_ANSWER || verified.length === 0)
      return chain
    const last = verified[verified.length - 1]
    from = { epoch: last.checkpoint.epoch + 1, committee: last.nextCommittee }
  }
}

/**
 * The snapshot of a checkpoint, fetched in chunks from the first of `peers` that serves it whole: the
 * announced size must be the signed one and the bytes must hash to the signed hash (a peer that sends
 * otherwise is reported through `onBadPeer`).
 */
export async function fetchSnapshot(
  deps: CatchUpDeps,
  peers: readonly string[],
  checkpoint: { epoch: number; snapshotBytes: number; snapshotHash: Uint8Array },
  signal: AbortSignal,
  onBadPeer?: (peer: string, reason: string) => void,
): Promise<{ bytes: Uint8Array; peer: string }> {
  const { epoch, snapshotBytes: total } = checkpoint
  if (total > MAX_SNAPSHOT_BYTES)
    throw new FleekError('REJECTED', `the snapshot of ${total} bytes is over the limit`)
  let last: unknown
  for (const peer of peers) {
    try {
      const chunks: Uint8Array[] = []
      const hasher = createHasher()
      let offset = 0
      do {
        const chunk = decodeSnapshotChunk(
          await request(deps, peer, encodeCheckpointSyncRequest({ kind: 'snapshot', epoch, offset }), signal),
        )
        if (chunk.total !== total)
          throw new FleekError(
            'INTEGRITY',
            `the peer announces a snapshot of ${chunk.total} bytes; the checkpoint signed ${total}`,
          )
        if (chunk.bytes.length === 0 && offset < total)
          throw new FleekError('INVALID_INPUT', 'the peer sent an empty snapshot chunk')
        if (offset + chunk.bytes.length > total)
          throw new FleekError('INVALID_INPUT', 'the peer sent more snapshot bytes than it announced')
        chunks.push(chunk.bytes)
        hasher.update(chunk.bytes)
        offset += chunk.bytes.length
      } while (offset < total)
      if (!equalBytes(hasher.digest(), checkpoint.snapshotHash))
        throw new FleekError('INTEGRITY', `the snapshot of epoch ${epoch} does not hash to the signed one`)
      return { bytes: Buffer.concat(chunks), peer }
    } catch (err) {
      last = err
      if (signal.aborted) break
      if (isFleekError(err, 'INTEGRITY') || isFleekError(err, 'INVALID_INPUT'))
        onBadPeer?.(peer, (err as Error).message)
      deps.logger.debug({ peer, epoch, err: (err as Error).message }, 'snapshot fetch failed')
    }
  }
  throw last ?? new FleekError('UNAVAILABLE', `no peer serves the snapshot of epoch ${epoch}`)
}

/** One request, bounded by `requestTimeoutMs`. */
async function request(
  deps: CatchUpDeps,
  peer: string,
  bytes: Uint8Array,
  signal: AbortSignal,
): Promise<Uint8Array> {
  const deadline = createDeadline(deps.requestTimeoutMs ?? 5000, signal)
  try {
    return await deps.request(peer, bytes, deadline.signal)
  } finally {
    deadline.clear()
  }
}
