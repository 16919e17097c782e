/**
 * Stopping the libp2p host without leaving timers behind.
 *
 * Two libp2p 3.3 / gossipsub 17.1 timers outlive `stop()` by up to a second and would hold the process
 * open. When a later version changes these internals, the functions below find nothing and do nothing.
 */
import type { Libp2p } from '@libp2p/interface'

import type { Services } from './host.ts'

/** Stops libp2p and the two timers that would outlive it. */
export async function stopHost(libp2p: Libp2p<Services>): Promise<void> {
  await stopGossipsub(libp2p.services.pubsub)
  await libp2p.stop()
  clearAddressManagerTimer(libp2p)
}

/**
 * gossipsub's `stop()` replaces its `status` (which holds the next heartbeat's timer) without clearing
 * that timer. Its handle is read and cleared around the synchronous start of `stop()`, where no
 * heartbeat can reschedule in between; libp2p's own stop of the service then finds it stopped.
 */
async function stopGossipsub(pubsub: unknown): Promise<void> {
  const heartbeat = readPath(pubsub, ['status', 'heartbeatTimeout'])
  const stop = readPath(pubsub, ['stop'])
  const stopped = typeof stop === 'function' ? (stop as () => unknown).call(pubsub) : undefined
  if (heartbeat !== undefined && heartbeat !== null) clearTimeout(heartbeat as ReturnType<typeof setTimeout>)
  await stopped
}

/** The address manager's debounced peer-store update (1 s) is armed by the stop's own `transport:close`. */
function clearAddressManagerTimer(libp2p: unknown): void {
  const update = readPath(libp2p, ['components', 'addressManager', '_updatePeerStoreAddresses'])
  const stop = readPath(update, ['stop'])
  if (typeof stop === 'function') (stop as () => void).call(update)
}

function readPath(value: unknown, path: string[]): unknown {
  let current = value
  for (const key of path) {
    if ((typeof current !== 'object' && typeof current !== 'function') || current === null) return undefined
    current = (current as Record<string, unknown>)[key]
  }
  return current
}
