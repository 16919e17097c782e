// Runs the real `fleek` binary (bin/run.js, the built package) as a child process.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
export const fleekBin = join(repoRoot, 'bin', 'run.js')

export interface RunResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  input?: string | Uint8Array
  timeoutMs?: number
  cwd?: string
}

/** A scratch folder removed when the test ends. */
export function scratchDir(t: { after: (fn: () => void) => void }, prefix = 'fleek-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Runs `fleek …args`; the environment is the test's own (no FLEEK_* from outside leaks in). */
export function runFleek(args: string[], options: RunOptions = {}): Promise<RunResult> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FLEEK_')) env[k] = v
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  env.NO_COLOR = '1'
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fleekBin, ...args], {
      env,
      cwd: options.cwd ?? repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    )
    child.stdin.end(options.input ?? '')
  })
}

/** Parses the --json output of a run that must have succeeded. */
export function json<T = Record<string, unknown>>(result: RunResult): T {
  if (result.code !== 0) throw new Error(`fleek exited ${result.code}: ${result.stderr}${result.stdout}`)
  return JSON.parse(result.stdout) as T
}
