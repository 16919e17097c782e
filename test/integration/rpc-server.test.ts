// The JSON-RPC server on a real loopback socket: every kind of bad request gets a JSON-RPC error and
// the server keeps answering.
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, test } from 'node:test'

import { RpcClient } from '../../src/client/rpc.ts'
import { FleekError, isFleekError } from '../../src/lib/errors.ts'
import { RpcServer, intParam, method, stringParam } from '../../src/node/rpc/server.ts'

let server: RpcServer
let url: string
const seen: string[] = []

before(async () => {
  server = new RpcServer(
    { address: '127.0.0.1', port: 0, maxBodyBytes: 4096, maxBatch: 5, ratePerSecond: 1, rateBurst: 200 },
    {
      methods: {
        flk_echo: method(
          (p) => ({ text: stringParam(p, 0, 'text'), times: intParam(p, 1, 'times', 1) }),
          ({ text, times }) => text.repeat(times),
        ),
        flk_fail: method(
          () => undefined,
          () => {
            throw new FleekError('NOT_FOUND', 'no such thing')
          },
        ),
        flk_crash: method(
          () => undefined,
          () => {
            throw new TypeError('boom')
          },
        ),
      },
      health: () => ({ status: 'ok' }),
      metrics: async () => ({ contentType: 'text/plain', body: 'fleek_test_metric 1\n' }),
      onRequest: (m, outcome) => seen.push(`${m}:${outcome}`),
    },
  )
  url = (await server.listen()).url
})
after(() => server.close())

async function post(body: string | Buffer): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const text = await res.text()
  return { status: res.status, json: text.length > 0 ? JSON.parse(text) : undefined }
}

const errorCode = (r: { json: unknown }): number => (r.json as { error: { code: number } }).error.code

test('a call and a batch succeed; positional and named params', async () => {
  const client = new RpcClient(url)
  assert.equal(await client.call('flk_echo', ['ab', 3]), 'ababab')
  assert.equal(await client.call('flk_echo', { text: 'x' }), 'x')
  const batch = await post(
    JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'flk_echo', params: ['a'] },
      { jsonrpc: '2.0', id: 2, method: 'nope' },
      { jsonrpc: '2.0', method: 'flk_echo', params: ['notification'] },
    ]),
  )
  const replies = batch.json as Array<{ id: number; result?: string; error?: { code: number } }>
  assert.equal(replies.length, 2)
  assert.equal(replies[0].result, 'a')
  assert.equal(replies[1].error?.code, -32601)
})

test('malformed requests get JSON-RPC errors', async () => {
  assert.equal(errorCode(await post('{not json')), -32700)
  assert.equal(errorCode(await post('42')), -32600)
  assert.equal(errorCode(await post('[]')), -32600)
  assert.equal(errorCode(await post(JSON.stringify({ jsonrpc: '1.0', id: 1, method: 'flk_echo' }))), -32600)
  assert.equal(errorCode(await post(JSON.stringify({ jsonrpc: '2.0', id: {}, method: 'flk_echo' }))), -32600)
  assert.equal(errorCode(await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'flk_nope' }))), -32601)
  assert.equal(errorCode(await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'toString' }))), -32601)
  assert.equal(
    errorCode(await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'flk_echo', params: [5] }))),
    -32602,
  )
  assert.equal(
    errorCode(await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'flk_echo', params: ['a', -1] }))),
    -32602,
  )
  assert.equal(
    errorCode(await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'flk_echo', params: 'x' }))),
    -32602,
  )
  const batch = Array.from({ length: 6 }, (_, i) => ({
    jsonrpc: '2.0',
    id: i,
    method: 'flk_echo',
    params: ['a'],
  }))
  assert.equal(errorCode(await post(JSON.stringify(batch))), -32600)
})

test('errors of methods carry the FleekError code; a crash in a method is an internal error', async () => {
  await assert.rejects(new RpcClient(url).call('flk_fail'), (e) => isFleekError(e, 'NOT_FOUND'))
  assert.equal(errorCode(await post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'flk_crash' }))), -32603)
  assert.ok(seen.includes('flk_crash:error'))
})

test('an oversized body is refused with 413 and the server goes on', async () => {
  const big = await post(
    JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'flk_echo', params: ['x'.repeat(10_000)] }),
  )
  assert.equal(big.status, 413)
  assert.equal(errorCode(big), -32600)
  // A body that lies about its length (chunked, no content-length) is cut off too.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume()
      resolve(res.statusCode ?? 0)
    })
    req.on('error', reject)
    for (let i = 0; i < 10; i++) req.write('x'.repeat(1000))
    req.end()
  })
  assert.equal(chunked, 413)
  assert.equal(await new RpcClient(url).call('flk_echo', ['ok']), 'ok')
})

test('a flood is rate limited with 429 and answered, never dropped', async () => {
  const statuses = await Promise.all(
    Array.from({ length: 400 }, () =>
      post(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'flk_echo', params: ['f'] })),
    ),
  )
  const limited = statuses.filter((s) => s.status === 429).length
  assert.ok(limited > 0, 'some requests were limited')
  assert.ok(statuses.some((s) => s.status === 200))
  assert.equal(errorCode(statuses.find((s) => s.status === 429)!), -32005)
})

test('health, metrics, wrong verbs and paths', async () => {
  const health = await fetch(`${url}/health`)
  assert.deepEqual(await health.json(), { status: 'ok' })
  assert.match(await (await fetch(`${url}/metrics`)).text(), /fleek_test_metric 1/)
  assert.equal((await fetch(url)).status, 405)
  assert.equal((await fetch(`${url}/nope`)).status, 404)
})

test('the client reports an unreachable node as UNAVAILABLE and a bad URL as USAGE', async () => {
  await assert.rejects(new RpcClient('http://127.0.0.1:1').call('flk_echo'), (e) =>
    isFleekError(e, 'UNAVAILABLE'),
  )
  assert.throws(
    () => new RpcClient('ftp://x'),
    (e) => isFleekError(e, 'USAGE'),
  )
})
