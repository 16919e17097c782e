/**
 * The node's logger: pino, JSON lines. Components get `logger.child({ component })` and log constant
 * messages with their variables in the context object (STYLE habit 8).
 */
import { type DestinationStream, type Logger, pino } from 'pino'

export type { Logger }

export interface LoggerOptions {
  level: string
  /** Where the lines go: a file descriptor (1 = stdout) or a file path. */
  destination: number | string
}

export function createLogger(options: LoggerOptions): Logger {
  const destination: DestinationStream = pino.destination({
    dest: options.destination,
    sync: typeof options.destination === 'number',
    mkdir: typeof options.destination === 'string',
  })
  return pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  )
}

/** A logger that drops everything (library use and tests). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
