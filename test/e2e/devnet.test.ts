// `fleek devnet` through the real binary: up, status (agreement), logs, stop/start of one node, bad
// arguments, down --clean.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'

import { json, runFleek, scratchDir } from '../helpers/cli.ts'

interface Status {
  agree: boolean
  nodes: Array<{ index: number; up: boolean; height?: number; isCommitteeMember?: boolean; peers?: number }>
}

test('devnet up, status, logs, stop, start, down', async (t) => {
  const home = join(scratchDir(t), 'home')
  const env = { FLEEK_HOME: home }
  t.after(() => runFleek(['devnet', 'down', '--clean'], { env }))
  const up = json<{ nodes: Array<{ rpcUrl: string; committee: boolean }> }>(
    await runFleek(
      [
        'devnet',
        'up',
        '--nodes',
        '3',
        '--committee',
        '3',
        '--base-port',
        '0',
        '--epoch-time',
        '1h',
        '--json',
      ],
      {
        env,
        timeoutMs: 120_000,
      },
    ),
  )
  assert.equal(up.nodes.length, 3)
  assert.ok(up.nodes.every((n) => n.committee))

  const status = json<Status>(await runFleek(['devnet', 'status', '--json'], { env }))
  assert.equal(status.agree, true)
  assert.ok(status.nodes.every((n) => n.up && n.height === 0 && n.isCommitteeMember === true))

  const logs = json<{ lines: string[] }>(
    await runFleek(['devnet', 'logs', '0', '-n', '200', '--json'], { env }),
  )
  assert.ok(logs.lines.some((l) => l.includes('"node started"')))

  // Bad arguments are usage errors with one line, not crashes.
  for (const args of [
    ['devnet', 'logs', 'abc'],
    ['devnet', 'stop', '1.5'],
    ['devnet', 'start', '7'],
  ]) {
    const r = await runFleek(args, { env })
    assert.ok(r.code === 2 || r.code === 5, `${args.join(' ')} → ${r.code}: ${r.stderr}`)
    assert.equal(r.stderr.trim().split('\n').length, 1)
  }
  // A second `up` on a running devnet starts nothing new and still lists the nodes.
  assert.equal(
    json<{ nodes: unknown[] }>(await runFleek(['devnet', 'up', '--json'], { env })).nodes.length,
    3,
  )

  assert.equal(
    json<{ stopped: boolean }>(await runFleek(['devnet', 'stop', '2', '--json'], { env })).stopped,
    true,
  )
  const down = json<Status>(await runFleek(['devnet', 'status', '--json'], { env }))
  assert.equal(down.nodes[2].up, false)
  assert.equal((await runFleek(['devnet', 'start', '2', '--json'], { env, timeoutMs: 120_000 })).code, 0)
  const again = json<Status>(await runFleek(['devnet', 'status', '--json'], { env }))
  assert.ok(again.nodes.every((n) => n.up))

  const result = json<{ stopped: number[]; cleaned: boolean }>(
    await runFleek(['devnet', 'down', '--clean', '--json'], { env }),
  )
  assert.deepEqual(result.stopped, [0, 1, 2])
  assert.equal(existsSync(join(home, 'devnet')), false)
  const none = await runFleek(['devnet', 'status'], { env })
  assert.equal(none.code, 3)
})
