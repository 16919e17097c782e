/** Abortable waits and the reconnect backoff. */

/** Resolves after `delayMs`, or at once when `signal` aborts (never rejects); the timer is always cleared. */
export function sleepMs(delayMs: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || delayMs <= 0) return Promise.resolve()
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, delayMs)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * The wait before dial attempt `attempt` (0-based): `minMs · 2^attempt`, capped at `maxMs`, minus up to
 * a quarter of itself by `jitter` ∈ [0, 1) so that peers restarted together do not dial in lockstep.
 */
export function computeBackoffMs(attempt: number, minMs: number, maxMs: number, jitter: number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30))
  return Math.max(minMs, Math.round(base * (1 - jitter / 4)))
}
