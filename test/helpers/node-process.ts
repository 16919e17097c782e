// A real `fleek node run` process for e2e tests: started through bin/run.js, ready when its JSON log
// says "node started", stopped with SIGTERM (or killed with SIGKILL).
import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

import { fleekBin, repoRoot } from './cli.ts'

export interface NodeProcess {
  child: ChildProcess
  rpcUrl: string
  logs: Array<Record<string, unknown>>
  stderr: () => string
  /** SIGTERM and wait for the exit; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>
  /** SIGKILL and wait for the exit. */
  kill9(): Promise<void>
}

export async function startNode(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<NodeProcess> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FLEEK_')) env[k] = v
  Object.assign(env, options.env ?? {})
  const child = spawn(process.execPath, [fleekBin, 'node', 'run', '--no-dashboard', ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const logs: Array<Record<string, unknown>> = []
  let stderr = ''
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const rpcUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the node did not start in time; stderr: ${stderr}`)),
      options.timeoutMs ?? 30_000,
    )
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`the node exited with ${code} before starting; stderr: ${stderr}`))
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      logs.push(entry)
      if (entry.msg === 'node started') {
        clearTimeout(timer)
        resolve(entry.rpc as string)
      }
    })
  })
  return {
    child,
    rpcUrl,
    logs,
    stderr: () => stderr,
    async stop(timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
      const code = await exited
      clearTimeout(timer)
      return code
    },
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGKILL')
      await exited
    },
  }
}

/** One JSON-RPC call; throws with the error message on a JSON-RPC error. */
export async function rpc<T>(url: string, method: string, params: unknown = []): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(60_000),
  })
  const body = (await res.json()) as { result?: T; error?: { message: string; data?: { code?: string } } }
  if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.data?.code })
  return body.result as T
}
