/**
 * Length-prefixed frames, the wire format of every fleek stream protocol:
 *
 *   length (u32, big-endian) ‖ kind (1 byte) ‖ payload (length − 1 bytes)
 *
 * `length` counts the kind byte and the payload, so it is ≥ 1. A reader checks it against the
 * protocol's limit before it allocates anything, and rejects unknown kinds, a zero length and a
 * stream that ends inside a frame.
 */
import { FleekError } from '../../lib/errors.ts'

export const FrameKind = {
  /** One-way message: handled, never answered. */
  MESSAGE: 0x01,
  /** A request: the receiver answers with one RESPONSE_OK or RESPONSE_ERROR frame on the same stream. */
  REQUEST: 0x02,
  RESPONSE_OK: 0x03,
  /** The payload is a short UTF-8 reason. */
  RESPONSE_ERROR: 0x04,
} as const

export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind]

export interface Frame {
  kind: FrameKind
  payload: Uint8Array
}

export const FRAME_HEADER_BYTES = 5

/** Why a frame was refused; each is a misbehaviour of the sender. */
export type FrameErrorReason = 'oversized' | 'empty-frame' | 'unknown-kind' | 'truncated'

export class FrameError extends FleekError {
  readonly reason: FrameErrorReason

  constructor(reason: FrameErrorReason, message: string) {
    super('INVALID_INPUT', message, { details: { reason } })
    this.reason = reason
  }
}

const knownKinds = new Set<number>(Object.values(FrameKind))

/** One frame's bytes: header and payload in one buffer (one `send` call). */
export function encodeFrame(kind: FrameKind, payload: Uint8Array): Uint8Array {
  if (payload.length + 1 > 0xffffffff)
    throw new FleekError('INVALID_INPUT', 'a frame payload must be < 4 GiB')
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length)
  new DataView(out.buffer).setUint32(0, payload.length + 1, false)
  out[4] = kind
  out.set(payload, FRAME_HEADER_BYTES)
  return out
}

/** A chunk as libp2p streams yield it: a Uint8Array or a Uint8ArrayList (which has `subarray()`). */
export type StreamChunk = Uint8Array | { subarray(): Uint8Array }

/**
 * Reads frames from a stream's chunks, one at a time, holding at most one frame plus one chunk.
 * `read()` resolves with the next frame, or `undefined` when the stream ends cleanly between frames.
 */
export class FrameReader {
  readonly #source: AsyncIterator<StreamChunk>
  readonly #maxPayloadBytes: number
  #chunks: Uint8Array[] = []
  #buffered = 0
  #ended = false

  constructor(source: AsyncIterable<StreamChunk>, maxPayloadBytes: number) {
    this.#source = source[Symbol.asyncIterator]()
    this.#maxPayloadBytes = maxPayloadBytes
  }

  async read(): Promise<Frame | undefined> {
    if (!(await this.#fill(FRAME_HEADER_BYTES))) {
      if (this.#buffered === 0) return undefined
      throw new FrameError('truncated', 'the stream ended inside a frame header')
    }
    const header = this.#peek(FRAME_HEADER_BYTES)
    const length = new DataView(header.buffer, header.byteOffset, 4).getUint32(0, false)
    const kind = header[4]
    if (length === 0) throw new FrameError('empty-frame', 'a frame length of 0')
    if (length - 1 > this.#maxPayloadBytes) {
      throw new FrameError(
        'oversized',
        `a frame of ${length - 1} bytes exceeds the limit of ${this.#maxPayloadBytes}`,
      )
    }
    if (!knownKinds.has(kind))
      throw new FrameError('unknown-kind', `unknown frame kind 0x${kind.toString(16)}`)
    if (!(await this.#fill(FRAME_HEADER_BYTES + length - 1))) {
      throw new FrameError('truncated', 'the stream ended inside a frame')
    }
    this.#consume(FRAME_HEADER_BYTES)
    const payload = this.#consume(length - 1)
    return { kind: kind as FrameKind, payload }
  }

  /** True once at least `n` bytes are buffered; false if the stream ended first. */
  async #fill(n: number): Promise<boolean> {
    while (this.#buffered < n) {
      if (this.#ended) return false
      const next = await this.#source.next()
      if (next.done === true) {
        this.#ended = true
        return false
      }
      const chunk = next.value instanceof Uint8Array ? next.value : next.value.subarray()
      if (chunk.length === 0) continue
      this.#chunks.push(chunk)
      this.#buffered += chunk.length
    }
    return true
  }

  /** The first `n` buffered bytes (n ≤ buffered), without consuming them. */
  #peek(n: number): Uint8Array {
    const first = this.#chunks[0]
    if (first.length >= n) return first.subarray(0, n)
    const merged = this.#concat(this.#chunks)
    this.#chunks = [merged]
    return merged.subarray(0, n)
  }

  /** Removes and returns a copy of the first `n` buffered bytes (handlers may keep it). */
  #consume(n: number): Uint8Array {
    const out = new Uint8Array(n)
    let filled = 0
    while (filled < n) {
      const first = this.#chunks[0]
      const take = Math.min(first.length, n - filled)
      out.set(first.subarray(0, take), filled)
      filled += take
      if (take === first.length) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(take)
    }
    this.#buffered -= n
    return out
  }

  #concat(chunks: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(this.#buffered)
    let offset = 0
    for (const c of chunks) {
      out.set(c, offset)
      offset += c.length
    }
    return out
  }
}
