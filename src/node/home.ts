/**
 * The node home: one folder (mode 0700) with config.toml, keys/ and data/. Everything a node or a
 * command reads from it goes through here.
 */
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'

import { FleekError, fromSystemError } from '../lib/errors.ts'
import { writeFileAtomic } from '../lib/fs/atomic-write.ts'
import { isProcessRunning } from '../lib/process.ts'
import { type Config, type ConfigOverrides, renderDefaultConfig, resolveConfig } from './config.ts'

export const CONFIG_FILE = 'config.toml'
export const LOCK_FILE = 'node.lock'

/** What a running node writes into its home's lock file. */
export interface RunningNode {
  pid: number
  rpcUrl?: string
}

export class NodeHome {
  readonly dir: string

  constructor(dir: string) {
    this.dir = resolve(dir)
  }

  get configPath(): string {
    return join(this.dir, CONFIG_FILE)
  }

  /** A path from the config, made absolute against the home. */
  path(relative: string): string {
    return isAbsolute(relative) ? relative : join(this.dir, relative)
  }

  exists(): boolean {
    return existsSync(this.dir)
  }

  /**
   * For commands that only read the home: NOT_FOUND (exit 3) when it does not exist, so that nothing
   * creates it as a side effect.
   */
  requireExisting(): this {
    if (!this.exists()) throw new FleekError('NOT_FOUND', `no fleek home at ${this.dir}: run \`fleek init\``)
    return this
  }

  /** True when the folder exists and holds anything at all. */
  isInitialised(): boolean {
    try {
      return readdirSync(this.dir).length > 0
    } catch {
      return false
    }
  }

  /** Creates the folder with mode 0700 (and tightens an existing one). */
  ensure(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 })
      if (!statSync(this.dir).isDirectory())
        throw new FleekError('INVALID_INPUT', `${this.dir} exists and is not a directory`)
      chmodSync(this.dir, 0o700)
    } catch (err) {
      throw fromSystemError(err, 'create the node home', this.dir)
    }
  }

  /** Writes config.toml: every field with its comment, the defaults unless `values` are given. */
  writeDefaultConfig(values?: Config): void {
    writeFileAtomic(this.configPath, renderDefaultConfig(values), { mode: 0o600 })
  }

  readConfigText(): string | undefined {
    try {
      return readFileSync(this.configPath, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw fromSystemError(err, 'read', this.configPath)
    }
  }

  /**
   * Takes the home for one running node: <home>/node.lock holds its pid (and RPC URL once known). A
   * lock left by a process that is gone is taken over; a live one is refused (EXISTS), so two nodes
   * never share a database or sign with the same key at once.
   */
  lock(): { update(info: Omit<RunningNode, 'pid'>): void; release(): void } {
    const path = join(this.dir, LOCK_FILE)
    const write = (info: RunningNode, exclusive: boolean): void => {
      const fd = openSync(path, exclusive ? 'wx' : 'w', 0o600)
      try {
        writeSync(fd, JSON.stringify(info))
      } finally {
        closeSync(fd)
      }
    }
    for (let attempt = 0; ; attempt++) {
      try {
        write({ pid: process.pid }, true)
        break
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0)
          throw fromSystemError(err, 'lock', path)
        const holder = this.runningNode({ includeSelf: true })
        if (holder !== undefined)
          throw new FleekError('EXISTS', `a node is already running on ${this.dir} (pid ${holder.pid})`)
        rmSync(path, { force: true }) // stale: its process is gone
      }
    }
    return {
      update: (info) => write({ pid: process.pid, ...info }, false),
      release: () => {
        if (this.runningNode({ includeSelf: true })?.pid === process.pid) rmSync(path, { force: true })
      },
    }
  }

  /** The node running on this home, from its lock file, if its process is alive. */
  runningNode(options: { includeSelf?: boolean } = {}): RunningNode | undefined {
    let info: RunningNode
    try {
      info = JSON.parse(readFileSync(join(this.dir, LOCK_FILE), 'utf8')) as RunningNode
    } catch {
      return undefined
    }
    if (!options.includeSelf && info.pid === process.pid) return undefined
    return isProcessRunning(info.pid) ? info : undefined
  }

  /** defaults < config.toml < FLEEK_* env < flags. */
  loadConfig(flags: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
    return resolveConfig({ fileText: this.readConfigText(), filePath: this.configPath, env, flags })
  }
}
