/**
 * A token bucket: `ratePerSecond` tokens flow in, at most `burst` are held. `reserve(cost)` takes the
 * tokens now (going into debt) and says how long the caller must wait before acting, or refuses when
 * that wait would exceed `maxWaitMs` (or the cost exceeds the burst), taking nothing.
 */
export interface TokenBucketOptions {
  ratePerSecond: number
  burst: number
  maxWaitMs: number
}

export class TokenBucket {
  readonly #options: TokenBucketOptions
  readonly #now: () => number
  #tokens: number
  #updatedAtMs: number

  constructor(options: TokenBucketOptions, now: () => number = Date.now) {
    this.#options = options
    this.#now = now
    this.#tokens = options.burst
    this.#updatedAtMs = now()
  }

  /** Milliseconds to wait before acting (0 = now), or `undefined` when refused. */
  reserve(cost: number): number | undefined {
    const { ratePerSecond, burst, maxWaitMs } = this.#options
    if (cost > burst) return undefined
    const nowMs = this.#now()
    const elapsedMs = Math.max(0, nowMs - this.#updatedAtMs)
    this.#tokens = Math.min(burst, this.#tokens + (elapsedMs * ratePerSecond) / 1000)
    this.#updatedAtMs = nowMs
    const after = this.#tokens - cost
    const waitMs = after >= 0 ? 0 : Math.ceil((-after * 1000) / ratePerSecond)
    if (waitMs > maxWaitMs) return undefined
    this.#tokens = after
    return waitMs
  }

  /** Tokens held now (may be negative while reservations are pending). */
  get tokens(): number {
    return this.#tokens
  }
}
