import { Command, Flags, type Interfaces } from '@oclif/core'
import { homedir } from 'node:os'
import { resolve } from 'node:path'

import { FleekError } from '../lib/errors.ts'

export type CommandFlags<T extends typeof Command> = Interfaces.InferredFlags<
  (typeof FleekCommand)['baseFlags'] & T['flags']
>
export type CommandArgs<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/** The folder that holds a node's config, keys and data: --home, then FLEEK_HOME, then ~/.fleek. */
export function defaultHome(): string {
  return resolve(homedir(), '.fleek')
}

/**
 * The base of every fleek command: `--home`, `--json` (the value `run()` returns is the JSON
 * contract), `--debug`; FleekError codes become exit codes, and an expected error is one line on
 * stderr (or `{"error": {code, message}}` on stdout under --json), with the stack only under --debug.
 */
export abstract class FleekCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    home: Flags.string({
      summary: 'Node home folder (config, keys, data).',
      env: 'FLEEK_HOME',
      helpGroup: 'GLOBAL',
      default: async () => defaultHome(),
      defaultHelp: async () => '~/.fleek',
    }),
    debug: Flags.boolean({
      summary: 'Show stack traces and debug logs.',
      helpGroup: 'GLOBAL',
      default: false,
    }),
  }

  protected flags!: CommandFlags<T>
  protected args!: CommandArgs<T>

  /** The resolved, absolute node home. */
  protected get home(): string {
    return resolve(this.flags.home)
  }

  override async init(): Promise<void> {
    await super.init()
    let parsed: Awaited<ReturnType<typeof this.parse>>
    try {
      parsed = await this.parse({
        flags: this.ctor.flags,
        baseFlags: (super.ctor as typeof FleekCommand).baseFlags,
        enableJsonFlag: this.ctor.enableJsonFlag,
        args: this.ctor.args,
        strict: this.ctor.strict,
      })
    } catch (err) {
      // Everything that goes wrong while reading the command line is a usage error (exit 2), including
      // the plain Errors of oclif's argument parsers ("Expected an integer …").
      if (err instanceof FleekError) throw err
      throw new FleekError('USAGE', oneLine((err as Error).message), { cause: err })
    }
    const { args, flags } = parsed
    this.flags = flags as CommandFlags<T>
    this.args = args as CommandArgs<T>
  }

  protected get debugEnabled(): boolean {
    return this.flags?.debug === true || /(^|,)fleek/.test(process.env.DEBUG ?? '')
  }

  override async catch(err: Error): Promise<void> {
    const fleek = toFleekError(err)
    process.exitCode = fleek.exitCode
    if (this.jsonEnabled()) {
      this.logJson({ error: { code: fleek.code, message: fleek.message, ...(fleek.details ?? {}) } })
    } else {
      process.stderr.write(`fleek: ${fleek.message}\n`)
    }
    if (this.debugEnabled && fleek.code === 'INTERNAL')
      process.stderr.write(`${(err as Error).stack ?? ''}\n`)
    else if (this.debugEnabled)
      process.stderr.write(`${(fleek.cause as Error | undefined)?.stack ?? fleek.stack}\n`)
  }

  /** The home and the two output channels, for helpers that act on a command's behalf. */
  protected get io(): { home: string; notice: (line: string) => void; log: (line: string) => void } {
    return { home: this.home, notice: (l) => this.notice(l), log: (l) => this.log(l) }
  }

  /** Writes a line to stderr unless --json is on (progress and notices; stdout stays data only). */
  protected notice(message: string): void {
    if (!this.jsonEnabled()) process.stderr.write(`${message}\n`)
  }
}

/** Anything thrown becomes a FleekError: oclif's parse errors are USAGE, anything unexpected INTERNAL. */
export function toFleekError(err: unknown): FleekError {
  if (err instanceof FleekError) return err
  const e = err as (Error & { oclif?: { exit?: number | false }; code?: string }) | undefined
  if (e?.oclif !== undefined) {
    // Parse errors (missing argument, unknown flag, bad option value) carry oclif metadata.
    return new FleekError('USAGE', oneLine(String(e.message)), { cause: err })
  }
  if (e?.name === 'AbortError' || e?.name === 'ExitPromptError' || e?.code === 'ABORT_ERR')
    return new FleekError('INTERRUPTED', 'interrupted', { cause: err })
  return new FleekError(
    'INTERNAL',
    `internal error: ${e?.message ?? String(err)} (run with --debug for details)`,
    {
      cause: err,
    },
  )
}

/** An oclif message folded onto one line, without its "See more help" trailer. */
function oneLine(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('See more help'))
    .join(' ')
}
