/**
 * Transfer helpers for commands that move bytes: a progress line on stderr (only on a TTY, only past a
 * few MiB, redrawn at most ten times a second), and writing a byte stream to stdout with backpressure.
 */
import { fromSystemError } from '../lib/errors.ts'

/** Transfers smaller than this show no progress. */
export const PROGRESS_MIN_BYTES = 4 << 20
const REDRAW_MS = 100

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`
}

export interface ProgressOptions {
  label: string
  /** Known total, when there is one (a file's size). */
  totalBytes?: number
  stream?: NodeJS.WriteStream
  /** Off (e.g. under --json). */
  enabled?: boolean
  nowMs?: () => number
}

/** A one-line progress bar on a TTY; silent anywhere else. */
export class Progress {
  readonly #label: string
  readonly #total: number | undefined
  readonly #stream: NodeJS.WriteStream
  readonly #active: boolean
  readonly #nowMs: () => number
  readonly #startMs: number
  #bytes = 0
  #lastDrawMs = 0
  #drawn = false

  constructor(options: ProgressOptions) {
    this.#label = options.label
    this.#total = options.totalBytes
    this.#stream = options.stream ?? process.stderr
    this.#nowMs = options.nowMs ?? Date.now
    this.#startMs = this.#nowMs()
    this.#active =
      options.enabled !== false &&
      this.#stream.isTTY === true &&
      (this.#total === undefined || this.#total >= PROGRESS_MIN_BYTES)
  }

  /** Counts `bytes` more; redraws when due. */
  add(bytes: number): void {
    this.#bytes += bytes
    if (!this.#active || this.#bytes < PROGRESS_MIN_BYTES) return
    const now = this.#nowMs()
    if (now - this.#lastDrawMs < REDRAW_MS) return
    this.#lastDrawMs = now
    this.#draw(now)
  }

  #draw(now: number): void {
    const seconds = Math.max((now - this.#startMs) / 1000, 0.001)
    const rate = `${formatBytes(this.#bytes / seconds)}/s`
    let line: string
    if (this.#total !== undefined && this.#total > 0) {
      const fraction = Math.min(this.#bytes / this.#total, 1)
      const width = 30
      const filled = Math.round(fraction * width)
      line = `${this.#label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(fraction * 100).toFixed(0)}% ${formatBytes(this.#bytes)} / ${formatBytes(this.#total)} ${rate}`
    } else {
      line = `${this.#label} ${formatBytes(this.#bytes)} ${rate}`
    }
    this.#stream.write(`\r\x1b[2K${line}`)
    this.#drawn = true
  }

  /** Clears the line (call once, on success or failure). */
  done(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[2K')
    this.#drawn = false
  }
}

/**
 * Writes `source` to stdout, each chunk flushed before the next is asked for (so a source may reuse
 * its buffers). A reader that goes away (EPIPE: `| head`) ends the copy quietly; returns the bytes
 * written. The error listener stays, so that an EPIPE reported late cannot crash the process.
 */
export async function writeToStdout(
  source: AsyncIterable<Uint8Array>,
  stdout: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  let written = 0
  let closed = false
  let failure: unknown
  const onError = (err: NodeJS.ErrnoException | null | undefined): void => {
    if (err === null || err === undefined) return
    if (err.code === 'EPIPE') closed = true
    else failure ??= err
  }
  stdout.on('error', onError)
  for await (const chunk of source) {
    if (failure !== undefined || closed) break
    await new Promise<void>((resolve) => {
      stdout.write(chunk, (err) => {
        onError(err)
        resolve()
      })
    })
    if (!closed && failure === undefined) written += chunk.length
  }
  if (failure !== undefined) throw fromSystemError(failure, 'write', 'standard output')
  return written
}
