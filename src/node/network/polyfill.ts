/**
 * What the libp2p stack needs on Node 20 and Node 20 lacks (DESIGN §7): `Promise.withResolvers`, and a
 * global `WebSocket` for @libp2p/websockets dials (the `ws` implementation). Imported first by
 * `index.ts`, so the network works whatever the entry point loaded before it. Both are installed only
 * when missing; newer Node versions keep their own.
 */
// @ts-expect-error -- ws ships no types and @types/ws is not installed; only its constructor is used here
import { WebSocket as WsWebSocket } from 'ws'

type WithResolvers = <T>() => {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const promiseStatics = Promise as unknown as { withResolvers?: WithResolvers }
if (typeof promiseStatics.withResolvers !== 'function') {
  promiseStatics.withResolvers = function withResolvers<T>(this: PromiseConstructor) {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new this<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}

const globals = globalThis as { WebSocket?: unknown }
if (typeof globals.WebSocket !== 'function') globals.WebSocket = WsWebSocket
