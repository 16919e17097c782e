/** What the devnet commands share: the devnet folder and how to run this same `fleek` binary. */
import { join, resolve } from 'node:path'

/** The devnet lives in <home>/devnet. */
export function devnetDir(home: string): string {
  return join(home, 'devnet')
}

/** This very CLI (the same Node, the same entry script), to start node processes with. */
export function selfCommand(): { execPath: string; args: string[] } {
  return { execPath: process.execPath, args: [...process.execArgv, resolve(process.argv[1])] }
}

/** "2m", "90s", "1h", "500ms" or plain milliseconds → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (!m) return undefined
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h']
  return Math.round(Number(m[1]) * unit)
}
