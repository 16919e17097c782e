// createDeadline: aborts at its timeout even after a garbage collection (where AbortSignal.any over
// AbortSignal.timeout is collected and never fires), or with any joined signal; leaves no listener
// behind on long-lived signals.
import assert from 'node:assert/strict'
import { getEventListeners } from 'node:events'
import { after, test } from 'node:test'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

import { createDeadline } from '../../../src/lib/abort.ts'

// The deadline's timer does not keep the process alive (like AbortSignal.timeout's): this one does.
const keepAlive = setInterval(() => {}, 1000)
after(() => clearInterval(keepAlive))

test('aborts with a TimeoutError after its time, and drops its listener on the joined signal', async () => {
  const parent = new AbortController()
  const { signal } = createDeadline(20, parent.signal)
  assert.equal(getEventListeners(parent.signal, 'abort').length, 1)
  const reason = await new Promise<unknown>((resolve) =>
    signal.addEventListener('abort', () => resolve(signal.reason), { once: true }),
  )
  assert.equal((reason as DOMException).name, 'TimeoutError')
  assert.equal(getEventListeners(parent.signal, 'abort').length, 0)
})

test('aborts with a joined signal’s reason; an already aborted one aborts at once', () => {
  const a = new AbortController()
  const b = new AbortController()
  const deadline = createDeadline(60_000, a.signal, undefined, b.signal)
  b.abort('stop')
  assert.equal(deadline.signal.aborted, true)
  assert.equal(deadline.signal.reason, 'stop')
  assert.equal(getEventListeners(a.signal, 'abort').length, 0)
  const done = new AbortController()
  done.abort('already')
  assert.equal(createDeadline(60_000, done.signal).signal.reason, 'already')
})

test('clear() stops the timer and the listeners', async () => {
  const parent = new AbortController()
  const deadline = createDeadline(10, parent.signal)
  deadline.clear()
  assert.equal(getEventListeners(parent.signal, 'abort').length, 0)
  await new Promise((r) => setTimeout(r, 30))
  assert.equal(deadline.signal.aborted, false)
})

test('fires after a garbage collection with only its listener left', async () => {
  // AbortSignal.any([AbortSignal.timeout(ms)]) fails this on Node 20: none of the 200 fire.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  let fired = 0
  for (let i = 0; i < 200; i++)
    createDeadline(30, new AbortController().signal).signal.addEventListener('abort', () => fired++, {
      once: true,
    })
  gc()
  await new Promise((r) => setTimeout(r, 10))
  gc()
  await waitFor(() => fired === 200, 5000)
  assert.equal(fired, 200)
})

async function waitFor(done: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
}
