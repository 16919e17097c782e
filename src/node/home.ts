/**
 * The node home: one folder (mode 0700) with config.toml, keys/ and data/. Everything a node or a
 * command reads from it goes through here.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { isAbsolute, join, resolve } from 'node:path'

import { FleekError, fromSystemError } from '../lib/errors.ts'
import { writeFileAtomic } from '../lib/fs/atomic-write.ts'
import { type Config, type ConfigOverrides, renderDefaultConfig, resolveConfig } from './config.ts'

export const CONFIG_FILE = 'config.toml'

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

  /** defaults < config.toml < FLEEK_* env < flags. */
  loadConfig(flags: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
    return resolveConfig({ fileText: this.readConfigText(), filePath: this.configPath, env, flags })
  }
}
