/**
 * A timeout joined with other signals. Not `AbortSignal.any([s, AbortSignal.timeout(ms)])`: on Node 20
 * a timeout signal that only a composite refers to can be garbage-collected before it fires
 * (nodejs/node#57736), and whatever waits on the composite then waits for ever. Here the timer holds
 * its controller strongly. The listeners on the other signals go when the deadline aborts, by either
 * cause, or on `clear()` (call it when the operation ends early, to free the timer at once).
 */
export interface Deadline {
  readonly signal: AbortSignal
  clear(): void
}

export function createDeadline(timeoutMs: number, ...signals: Array<AbortSignal | undefined>): Deadline {
  const controller = new AbortController()
  const joined: Array<[AbortSignal, () => void]> = []
  const clear = (): void => {
    clearTimeout(timer)
    for (const [s, onAbort] of joined.splice(0)) s.removeEventListener('abort', onAbort)
  }
  const abort = (reason: unknown): void => {
    clear()
    controller.abort(reason)
  }
  // Like AbortSignal.timeout: a TimeoutError, and a timer that does not keep the process alive.
  const timer = setTimeout(
    () => abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
    timeoutMs,
  )
  timer.unref()
  for (const s of signals) {
    if (s === undefined) continue
    if (s.aborted) {
      abort(s.reason)
      break
    }
    const onAbort = (): void => abort(s.reason)
    s.addEventListener('abort', onAbort, { once: true })
    joined.push([s, onAbort])
  }
  return { signal: controller.signal, clear }
}
