/**
 * The worker side of B3Pool (./parallel.ts): hashes the blocks it is sent with the fastest engine of
 * its own thread and answers with their chaining values. Never started directly.
 */
import { parentPort } from 'node:worker_threads'
import { hashBlocks, STOP_MESSAGE, type B3Task, type B3TaskResult } from './parallel.ts'

const port = parentPort
if (port !== null) {
  port.on('message', (task: B3Task | typeof STOP_MESSAGE) => {
    if (task === STOP_MESSAGE) return port.close()
    let result: B3TaskResult
    try {
      result = { id: task.id, cvs: hashBlocks(task.bytes, task.blockBytes, task.chunkCounter, task) }
    } catch (err) {
      result = { id: task.id, error: err instanceof Error ? err.message : String(err) }
    }
    port.postMessage(result, 'cvs' in result ? [result.cvs.buffer as ArrayBuffer] : [])
  })
}
