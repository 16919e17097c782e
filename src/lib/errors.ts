/**
 * The one error class of fleek. `code` is stable (scripts match on it, `--json` prints it) and maps to
 * a stable process exit code; `message` is one line a user can act on; `cause` keeps the original.
 */
export const exitCodes = {
  INTERNAL: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  EXISTS: 4,
  INVALID_INPUT: 5,
  BAD_PASSPHRASE: 6,
  IO: 7,
  UNAVAILABLE: 8,
  INTEGRITY: 9,
  REJECTED: 10,
  TIMEOUT: 11,
  NO_SPACE: 12,
  INTERRUPTED: 130,
} as const

export type ErrorCode = keyof typeof exitCodes

export class FleekError extends Error {
  readonly code: ErrorCode
  /** Extra machine-readable facts (a path, a block index, …) printed under `--json`. */
  declare readonly details?: Record<string, unknown>

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'FleekError'
    this.code = code
    if (options.details !== undefined) this.details = options.details
  }

  get exitCode(): number {
    return exitCodes[this.code]
  }
}

export function isFleekError(err: unknown, code?: ErrorCode): err is FleekError {
  return err instanceof FleekError && (code === undefined || err.code === code)
}

/** Maps a Node.js system error (ENOENT, EACCES, ENOSPC, …) on `path` to a FleekError with one clear line. */
export function fromSystemError(err: unknown, action: string, path: string): FleekError {
  if (err instanceof FleekError) return err
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case 'ENOENT':
      return new FleekError('NOT_FOUND', `cannot ${action} ${path}: no such file or directory`, {
        cause: err,
      })
    case 'EACCES':
    case 'EPERM':
      return new FleekError('IO', `cannot ${action} ${path}: permission denied`, { cause: err })
    case 'EISDIR':
      return new FleekError('INVALID_INPUT', `cannot ${action} ${path}: it is a directory`, { cause: err })
    case 'ENOTDIR':
      return new FleekError('INVALID_INPUT', `cannot ${action} ${path}: a parent is not a directory`, {
        cause: err,
      })
    case 'ENOSPC':
    case 'EDQUOT':
      return new FleekError('NO_SPACE', `cannot ${action} ${path}: no space left on device`, { cause: err })
    default:
      return new FleekError(
        'IO',
        `cannot ${action} ${path}: ${(err as Error | undefined)?.message ?? String(err)}`,
        {
          cause: err,
        },
      )
  }
}
