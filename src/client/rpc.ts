/**
 * The JSON-RPC client the CLI (and any program) uses to talk to a node. Connection failures become
 * FleekError UNAVAILABLE with the URL; a node's error comes back as the FleekError code it carried.
 */
import { type ErrorCode, FleekError, exitCodes } from '../lib/errors.ts'

export interface RpcClientOptions {
  timeoutMs?: number
}

export class RpcClient {
  readonly url: string
  private readonly timeoutMs: number
  private nextId = 1

  constructor(url: string, options: RpcClientOptions = {}) {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new FleekError('USAGE', `not an RPC URL: ${url} (expected e.g. http://127.0.0.1:4240)`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new FleekError('USAGE', `not an RPC URL: ${url} (use http:// or https://)`)
    this.url = url
    this.timeoutMs = options.timeoutMs ?? 30_000
  }

  async call<T = unknown>(
    method: string,
    params: unknown[] | Record<string, unknown> = [],
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<T> {
    const { signal } = options
    const timeoutMs = options.timeoutMs ?? this.timeoutMs
    const timeout = AbortSignal.timeout(timeoutMs)
    const body = JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params }, (_k, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v,
    )
    let res: Response
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      })
    } catch (err) {
      if (timeout.aborted)
        throw new FleekError('TIMEOUT', `the node at ${this.url} did not answer in ${timeoutMs} ms`)
      if (signal?.aborted) throw new FleekError('INTERRUPTED', 'interrupted', { cause: err })
      throw new FleekError(
        'UNAVAILABLE',
        `cannot reach a node at ${this.url} (is \`fleek node run\` running?)`,
        {
          cause: err,
        },
      )
    }
    let reply: { result?: T; error?: { code: number; message: string; data?: { code?: string } } }
    try {
      reply = (await res.json()) as typeof reply
    } catch (err) {
      throw new FleekError(
        'UNAVAILABLE',
        `the node at ${this.url} sent a reply that is not JSON (HTTP ${res.status})`,
        {
          cause: err,
        },
      )
    }
    if (reply.error !== undefined) {
      const code = reply.error.data?.code
      const known = typeof code === 'string' && code in exitCodes ? (code as ErrorCode) : undefined
      throw new FleekError(
        known ?? (reply.error.code === -32602 ? 'INVALID_INPUT' : 'UNAVAILABLE'),
        `${reply.error.message}`,
        { details: reply.error.data ?? {} },
      )
    }
    return reply.result as T
  }
}
