// Commands that only read never create a home: each one, run against a home that does not exist,
// leaves it not existing — refusing in one line (exit 3, "no fleek home … run `fleek init`") where it
// needs the home, and working without it where it can (an --rpc node, a file to hash).
import assert from 'node:assert/strict'
import { existsSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'

import { type RunResult, runFleek, scratchDir } from '../helpers/cli.ts'

const HASH = 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262' // BLAKE3 of ""
const TX = '00'.repeat(32)
const ACCOUNT = '0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf'

/** A port on 127.0.0.1 that nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

test('read-only commands leave a home that does not exist not existing', async (t) => {
  const dir = scratchDir(t, 'fleek-read-only-')
  const home = join(dir, 'no', 'such', 'home')
  const rpc = `http://127.0.0.1:${await closedPort()}`
  const empty = join(dir, 'empty.bin')
  writeFileSync(empty, '')
  const noHome = /^fleek: no fleek home at .*\/no\/such\/home: run `fleek init`$/

  /** [command, expected exit code, expected one-line message (undefined: it succeeds)] */
  const cases: Array<[string[], number, RegExp | undefined]> = [
    // They need the home: refused, saying so.
    [['keys', 'show'], 3, noHome],
    [['keys', 'show', '--consensus-key-proof'], 3, noHome],
    [['keys', 'export', 'node'], 3, noHome],
    [['keys', 'export', 'account', '--out', join(dir, 'wallet.json')], 3, noHome],
    [['content', 'ls'], 3, noHome],
    [['content', 'get', HASH, '-o', join(dir, 'out.bin')], 3, noHome],
    [['content', 'verify', HASH], 3, noHome],
    [['content', 'pin', HASH], 3, noHome],
    [['content', 'unpin', HASH], 3, noHome],
    [['content', 'rm', HASH], 3, noHome],
    [['devnet', 'status'], 3, /no devnet in/],
    [['devnet', 'logs', '0'], 3, /no devnet in/],
    // The home's own keys: none there.
    [['account', 'show', '--rpc', rpc], 3, /no account key/],
    [['node', 'info', '--rpc', rpc], 3, /no node key/],
    // Given what to ask, they go without the home (here: no node answers at --rpc).
    [['account', 'show', ACCOUNT, '--rpc', rpc], 8, /cannot reach a node/],
    [['node', 'status', '--rpc', rpc], 8, /cannot reach a node/],
    [['node', 'offenders', '--rpc', rpc], 8, /cannot reach a node/],
    [['epoch', 'show', '--rpc', rpc], 8, /cannot reach a node/],
    [['committee', 'show', '--rpc', rpc], 8, /cannot reach a node/],
    [['checkpoint', 'show', '--rpc', rpc], 8, /cannot reach a node/],
    [['tx', 'show', TX, '--rpc', rpc], 8, /cannot reach a node/],
    [['content', 'hash', empty], 0, undefined],
  ]
  const results: RunResult[] = []
  // Two at a time: the machine is shared.
  for (let i = 0; i < cases.length; i += 2)
    results.push(
      ...(await Promise.all(
        cases.slice(i, i + 2).map(([args]) => runFleek([...args, '--home', home], { timeoutMs: 30_000 })),
      )),
    )
  cases.forEach(([args, code, message], i) => {
    const r = results[i]
    const what = `fleek ${args.join(' ')}`
    assert.equal(r.code, code, `${what}: exit code (stderr: ${r.stderr})`)
    if (message !== undefined) {
      const lines = r.stderr.trimEnd().split('\n')
      assert.equal(lines.length, 1, `${what}: one line on stderr, got: ${r.stderr}`)
      assert.match(lines[0], message, what)
    }
    assert.equal(existsSync(join(dir, 'no')), false, `${what} created ${home} (or a parent)`)
  })
  assert.equal(existsSync(join(dir, 'out.bin')), false)
  assert.equal(existsSync(join(dir, 'wallet.json')), false)

  // Without --rpc, the commands that ask a node read no home either (whatever answers, or not, at
  // the default address).
  for (const args of [
    ['node', 'status'],
    ['epoch', 'show'],
    ['checkpoint', 'show'],
  ]) {
    const r = await runFleek([...args, '--home', home], { timeoutMs: 30_000 })
    assert.notEqual(r.code, null, `fleek ${args.join(' ')} finished`)
    assert.equal(existsSync(join(dir, 'no')), false, `fleek ${args.join(' ')} created the home`)
  }
})
