/**
 * JSON-RPC 2.0 over HTTP (`POST /` or `/rpc/v0`), plus `GET /health` and `GET /metrics` (Prometheus).
 * Everything from outside is bounded: body size, batch length, requests in flight, requests per second
 * per remote address, header and request timeouts. Bad input gets a JSON-RPC error, never a crash.
 */
import { setMaxListeners } from 'node:events'
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

import { FleekError } from '../../lib/errors.ts'

export interface RpcServerOptions {
  address: string
  port: number
  maxBodyBytes: number
  /** Longest batch accepted. */
  maxBatch: number
  /** Requests being handled at once; past it the server answers 503 at once. */
  maxInFlight: number
  /** Token bucket per remote address: sustained requests per second, and the burst. */
  ratePerSecond: number
  rateBurst: number
  requestTimeoutMs: number
}

export const defaultRpcServerOptions: RpcServerOptions = {
  address: '127.0.0.1',
  port: 4240,
  maxBodyBytes: 1 << 20,
  maxBatch: 100,
  maxInFlight: 512,
  ratePerSecond: 5000,
  rateBurst: 10000,
  requestTimeoutMs: 30_000,
}

/** A method: parse and check `params` (throw FleekError INVALID_INPUT on anything wrong), then answer. */
export interface RpcMethod<P = unknown> {
  params: (raw: unknown) => P
  handler: (params: P, context: { signal: AbortSignal }) => unknown
}
export type RpcMethods = Record<string, RpcMethod<never>>

/** Declares a method with its parameter parser, keeping the handler's parameter type. */
export const method = <P>(params: (raw: unknown) => P, handler: RpcMethod<P>['handler']): RpcMethod<never> =>
  ({ params, handler }) as unknown as RpcMethod<never>

export const rpcErrorCodes = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  INTERNAL_ERROR: -32603,
  /** Application errors: `data.code` carries the FleekError code. */
  SERVER_ERROR: -32000,
  BUSY: -32005,
} as const

export interface RpcServerDeps {
  methods: RpcMethods
  health: () => Record<string, unknown>
  metrics: () => Promise<{ contentType: string; body: string }>
  /** Called for each answered request (outcome label), for metrics. */
  onRequest?: (method: string, outcome: 'ok' | 'error') => void
  logger?: { warn: (obj: object, msg: string) => void }
}

interface JsonRpcError {
  code: number
  message: string
  data?: Record<string, unknown>
}
type Reply = { jsonrpc: '2.0'; id: unknown; result?: unknown; error?: JsonRpcError }

export class RpcServer {
  private readonly options: RpcServerOptions
  private readonly deps: RpcServerDeps
  private server: Server | undefined
  private inFlight = 0
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>()
  /** Aborts the handlers in flight when the server closes (each may listen: no listener bound). */
  private readonly abort = new AbortController()

  constructor(options: Partial<RpcServerOptions>, deps: RpcServerDeps) {
    this.options = { ...defaultRpcServerOptions, ...options }
    this.deps = deps
    setMaxListeners(0, this.abort.signal)
  }

  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  async listen(): Promise<{ address: string; port: number; url: string }> {
    const server = createServer((req, res) => void this.handle(req, res))
    server.headersTimeout = 10_000
    server.requestTimeout = this.options.requestTimeoutMs
    server.keepAliveTimeout = 5_000
    this.server = server
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'EADDRINUSE'
            ? new FleekError(
                'UNAVAILABLE',
                `RPC port ${this.options.address}:${this.options.port} is already in use`,
                {
                  cause: err,
                },
              )
            : new FleekError(
                'IO',
                `cannot listen on ${this.options.address}:${this.options.port}: ${err.message}`,
                {
                  cause: err,
                },
              ),
        ),
      )
      server.listen(this.options.port, this.options.address, () => resolve())
    })
    const { address, port } = server.address() as AddressInfo
    const host = address.includes(':') ? `[${address}]` : address
    return { address, port, url: `http://${host}:${port}` }
  }

  async close(): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    this.abort.abort()
    await new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
  }

  private allow(remote: string): boolean {
    const now = Date.now()
    const b = this.buckets.get(remote) ?? { tokens: this.options.rateBurst, atMs: now }
    b.tokens = Math.min(
      this.options.rateBurst,
      b.tokens + ((now - b.atMs) / 1000) * this.options.ratePerSecond,
    )
    b.atMs = now
    if (b.tokens < 1) {
      this.buckets.set(remote, b)
      return false
    }
    b.tokens -= 1
    this.buckets.set(remote, b)
    if (this.buckets.size > 10_000) this.buckets.clear()
    return true
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0]
      if (req.method === 'GET' && path === '/health') return send(res, 200, this.deps.health())
      if (req.method === 'GET' && path === '/metrics') {
        const { contentType, body } = await this.deps.metrics()
        res.writeHead(200, { 'content-type': contentType })
        res.end(body)
        return
      }
      if (path !== '/' && path !== '/rpc/v0') return send(res, 404, { error: 'not found' })
      if (req.method !== 'POST') {
        res.setHeader('allow', 'POST')
        return send(res, 405, errorReply(null, rpcErrorCodes.INVALID_REQUEST, 'use POST for JSON-RPC'))
      }
      if (!this.allow(req.socket.remoteAddress ?? '?'))
        return send(res, 429, errorReply(null, rpcErrorCodes.BUSY, 'too many requests'))
      if (this.inFlight >= this.options.maxInFlight)
        return send(res, 503, errorReply(null, rpcErrorCodes.BUSY, 'server busy'))
      this.inFlight++
      try {
        const body = await readBody(req, this.options.maxBodyBytes)
        if (body === undefined)
          return send(
            res,
            413,
            errorReply(
              null,
              rpcErrorCodes.INVALID_REQUEST,
              `request body larger than ${this.options.maxBodyBytes} bytes`,
            ),
            true,
          )
        let parsed: unknown
        try {
          parsed = JSON.parse(body.toString('utf8'))
        } catch {
          return send(
            res,
            200,
            errorReply(null, rpcErrorCodes.PARSE_ERROR, 'parse error: the body is not JSON'),
          )
        }
        if (Array.isArray(parsed)) {
          if (parsed.length === 0)
            return send(res, 200, errorReply(null, rpcErrorCodes.INVALID_REQUEST, 'empty batch'))
          if (parsed.length > this.options.maxBatch)
            return send(
              res,
              200,
              errorReply(null, rpcErrorCodes.INVALID_REQUEST, `batch longer than ${this.options.maxBatch}`),
            )
          const replies = (await Promise.all(parsed.map((r) => this.call(r)))).filter((r) => r !== undefined)
          if (replies.length === 0) {
            res.writeHead(204)
            res.end()
            return
          }
          return send(res, 200, replies)
        }
        const reply = await this.call(parsed)
        if (reply === undefined) {
          res.writeHead(204)
          res.end()
          return
        }
        return send(res, 200, reply)
      } finally {
        this.inFlight--
      }
    } catch (err) {
      this.deps.logger?.warn({ err: String(err) }, 'rpc request failed')
      if (!res.headersSent) send(res, 500, errorReply(null, rpcErrorCodes.INTERNAL_ERROR, 'internal error'))
      else res.destroy()
    }
  }

  /** One JSON-RPC request object → its reply (undefined for a notification). */
  private async call(request: unknown): Promise<Reply | undefined> {
    if (typeof request !== 'object' || request === null || Array.isArray(request))
      return errorReply(null, rpcErrorCodes.INVALID_REQUEST, 'invalid request: expected an object')
    const r = request as Record<string, unknown>
    const id = validId(r.id) ? r.id : null
    if (r.jsonrpc !== '2.0')
      return errorReply(id, rpcErrorCodes.INVALID_REQUEST, 'invalid request: jsonrpc must be "2.0"')
    if (typeof r.method !== 'string')
      return errorReply(id, rpcErrorCodes.INVALID_REQUEST, 'invalid request: no method')
    if (r.id !== undefined && !validId(r.id))
      return errorReply(
        null,
        rpcErrorCodes.INVALID_REQUEST,
        'invalid request: id must be a string, number or null',
      )
    const notification = !('id' in r)
    const entry = Object.hasOwn(this.deps.methods, r.method) ? this.deps.methods[r.method] : undefined
    if (entry === undefined) {
      this.deps.onRequest?.('unknown', 'error')
      return notification
        ? undefined
        : errorReply(id, rpcErrorCodes.METHOD_NOT_FOUND, `method not found: ${r.method}`)
    }
    let params: never
    try {
      params = entry.params(r.params ?? []) as never
    } catch (err) {
      this.deps.onRequest?.(r.method, 'error')
      const message = err instanceof FleekError ? err.message : 'invalid params'
      return notification ? undefined : errorReply(id, rpcErrorCodes.INVALID_PARAMS, message)
    }
    try {
      const result = await entry.handler(params, { signal: this.abort.signal })
      this.deps.onRequest?.(r.method, 'ok')
      return notification ? undefined : { jsonrpc: '2.0', id, result: result ?? null }
    } catch (err) {
      this.deps.onRequest?.(r.method, 'error')
      if (notification) return undefined
      if (err instanceof FleekError)
        return errorReply(
          id,
          err.code === 'INVALID_INPUT' ? rpcErrorCodes.INVALID_PARAMS : rpcErrorCodes.SERVER_ERROR,
          err.message,
          { code: err.code, ...(err.details ?? {}) },
        )
      this.deps.logger?.warn({ method: r.method, err: String(err) }, 'rpc method failed')
      return errorReply(id, rpcErrorCodes.INTERNAL_ERROR, 'internal error')
    }
  }
}

const validId = (id: unknown): boolean =>
  id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id))

function errorReply(id: unknown, code: number, message: string, data?: Record<string, unknown>): Reply {
  return { jsonrpc: '2.0', id: id ?? null, error: { code, message, ...(data ? { data } : {}) } }
}

function send(res: ServerResponse, status: number, body: unknown, close = false): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(close ? { connection: 'close' } : {}),
  })
  res.end(text)
}

/** The body, or undefined when it is larger than `limit` (reading stops there). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > limit) {
    req.resume()
    return Promise.resolve(undefined)
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    req.on('data', (chunk: Buffer) => {
      if (done) return
      size += chunk.length
      if (size > limit) {
        done = true
        req.resume()
        resolve(undefined)
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      if (!done) resolve(Buffer.concat(chunks))
    })
    req.on('error', (err) => {
      if (!done) reject(err)
    })
  })
}

/** Parameter helpers: positional array or a named object, checked with one-line errors. */
export function param(raw: unknown, index: number, name: string): unknown {
  if (Array.isArray(raw)) return raw[index]
  if (typeof raw === 'object' && raw !== null) return (raw as Record<string, unknown>)[name]
  throw new FleekError('INVALID_INPUT', 'params must be an array or an object')
}

export function stringParam(raw: unknown, index: number, name: string): string {
  const v = param(raw, index, name)
  if (typeof v !== 'string' || v.length === 0 || v.length > 4096)
    throw new FleekError('INVALID_INPUT', `${name} must be a non-empty string`)
  return v
}

export function optionalStringParam(raw: unknown, index: number, name: string): string | undefined {
  return param(raw, index, name) === undefined ? undefined : stringParam(raw, index, name)
}

export function intParam(raw: unknown, index: number, name: string, fallback?: number): number {
  const v = param(raw, index, name)
  if (v === undefined && fallback !== undefined) return fallback
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new FleekError('INVALID_INPUT', `${name} must be a non-negative integer`)
  return v
}
