// close() leaves nothing running: a child process starts two nodes, uses them, closes them, and must
// then hold no socket, server or timer, and exit by itself.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const child = fileURLToPath(new URL('../unit/node/network/close-child.ts', import.meta.url))

test('after close() the process holds no handle and exits by itself', async () => {
  const proc = spawn(process.execPath, ['--import', 'tsx', child], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  proc.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  // Bounded: a process kept alive by a leftover handle is killed and the test fails.
  const killer = setTimeout(() => proc.kill('SIGKILL'), 120_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    proc.on('exit', (c, s) => resolve([c, s])),
  )
  clearTimeout(killer)
  assert.equal(signal, null, `the child did not exit by itself; stderr: ${stderr}`)
  assert.equal(code, 0, `the child failed; stderr: ${stderr}`)
  const report = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    closed: boolean
    resources: string[]
  }
  assert.equal(report.closed, true)
  const leftovers = report.resources.filter((r) => /TCP|Timeout|Immediate|Pipe(Server|Connect)|UDP/.test(r))
  assert.deepEqual(leftovers, [], `handles alive after close: ${report.resources.join(', ')}`)
})
