/**
 * Bao decoding with Bao's security rules: every parent and chunk is verified before any byte of it is
 * emitted; the length header is trusted only for the tree's shape and is confirmed by verifying the
 * final chunk (never exposed before); trailing bytes are rejected. Combined encodings and slices
 * decode incrementally (`BaoDecoder.write`), outboard encodings through `baoDecodeOutboard`.
 */
import type { B3Backend } from './backend.ts'
import { FleekError } from '../errors.ts'
import { BAO_HEADER_LEN, baoLeftLen, baoSliceChunks } from './bao.ts'
import { CHUNK_LEN, IV } from './constants.ts'
import { getEngine } from './engine.ts'
import { checkBytes } from './mode.ts'
import { parentOutput } from './output.ts'

const PARENT_LEN = 64

interface PendingNode {
  cv: Uint8Array
  /** First content byte the node covers. */
  start: number
  /** Content bytes the node covers. */
  len: number
  root: boolean
}

function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  let diff = 0
  for (let i = 0; i < 32; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

/** What the walk needs next: a 64-byte parent, a chunk of `len` bytes, or nothing (done). */
type Need = { kind: 'parent'; len: 64 } | { kind: 'chunk'; len: number } | { kind: 'done'; len: 0 }

/**
 * The verified pre-order walk of a Bao tree, restricted to the chunk range [c0, c1) (all chunks for a
 * whole encoding). It is fed parents and chunks one at a time, as `need()` asks.
 */
class BaoWalk {
  readonly #engine: B3Backend
  readonly #root: Uint8Array
  readonly #rangeStart: number
  readonly #rangeLen: number | undefined
  #stack: PendingNode[] | undefined
  #c0 = 0
  #c1 = 0
  #contentLen = -1
  #finalVerified = false

  constructor(root: Uint8Array, engine: B3Backend, range?: { start: number; len: number }) {
    this.#root = root.slice()
    this.#engine = engine
    this.#rangeStart = range?.start ?? 0
    this.#rangeLen = range?.len
  }

  get started(): boolean {
    return this.#stack !== undefined
  }

  /** The verified content length (undefined until the final chunk is verified). */
  get contentLength(): number | undefined {
    return this.#finalVerified ? this.#contentLen : undefined
  }

  start(header: Uint8Array): void {
    const len = new DataView(header.buffer, header.byteOffset, BAO_HEADER_LEN).getBigUint64(0, true)
    if (len > BigInt(Number.MAX_SAFE_INTEGER))
      throw new FleekError('INTEGRITY', 'Bao header: length out of range')
    this.#contentLen = Number(len)
    ;[this.#c0, this.#c1] =
      this.#rangeLen === undefined
        ? [0, Number.MAX_SAFE_INTEGER]
        : baoSliceChunks(this.#contentLen, this.#rangeStart, this.#rangeLen)
    this.#stack = [{ cv: this.#root, start: 0, len: this.#contentLen, root: true }]
  }

  #overlaps(node: PendingNode): boolean {
    const first = Math.floor(node.start / CHUNK_LEN)
    const count = node.len === 0 ? 1 : Math.ceil(node.len / CHUNK_LEN)
    return first < this.#c1 && first + count > this.#c0
  }

  need(): Need {
    const stack = this.#stack as PendingNode[]
    while (stack.length > 0 && !this.#overlaps(stack[stack.length - 1])) stack.pop()
    if (stack.length === 0) return { kind: 'done', len: 0 }
    const top = stack[stack.length - 1]
    return top.len > CHUNK_LEN ? { kind: 'parent', len: PARENT_LEN } : { kind: 'chunk', len: top.len }
  }

  supplyParent(bytes: Uint8Array): void {
    const stack = this.#stack as PendingNode[]
    const node = stack.pop() as PendingNode
    const left = bytes.subarray(0, 32)
    const right = bytes.subarray(32, 64)
    const out = parentOutput(left, right, IV, 0)
    const cv = node.root ? out.toRootBytes(32) : out.toCv()
    if (!equalHashes(cv, node.cv))
      throw new FleekError('INTEGRITY', `Bao: the parent over bytes ${node.start}… does not match its hash`, {
        details: { offset: node.start },
      })
    const leftLen = baoLeftLen(node.len)
    stack.push({ cv: right.slice(), start: node.start + leftLen, len: node.len - leftLen, root: false })
    stack.push({ cv: left.slice(), start: node.start, len: leftLen, root: false })
  }

  /** Verifies a chunk; returns the part of it inside the requested range. */
  supplyChunk(bytes: Uint8Array): Uint8Array {
    const stack = this.#stack as PendingNode[]
    const node = stack.pop() as PendingNode
    const cv = this.#engine.subtreeCv(bytes, node.start / CHUNK_LEN, IV, 0, node.root, new Uint8Array(32), 0)
    if (!equalHashes(cv, node.cv))
      throw new FleekError('INTEGRITY', `Bao: the chunk at byte ${node.start} does not match its hash`, {
        details: { offset: node.start },
      })
    if (node.start + node.len === this.#contentLen) this.#finalVerified = true
    if (this.#rangeLen === undefined) return bytes
    const from = Math.max(this.#rangeStart, node.start) - node.start
    const to = Math.min(this.#rangeStart + this.#rangeLen, node.start + node.len) - node.start
    return to > from ? bytes.subarray(from, to) : bytes.subarray(0, 0)
  }
}

export interface BaoDecoderOptions {
  /** Decode a slice made for this range instead of a whole encoding. */
  slice?: { start: number; len: number }
  engine?: B3Backend
}

/**
 * Incremental decoder of a combined encoding (or a slice): `write` returns the newly verified content
 * bytes; `end` checks that nothing is missing. A failure is final.
 */
export class BaoDecoder {
  readonly #walk: BaoWalk
  readonly #buf = new Uint8Array(CHUNK_LEN)
  #bufLen = 0
  #failed: unknown

  constructor(root: Uint8Array, options: BaoDecoderOptions = {}) {
    checkBytes(root, 'root hash')
    if (root.length !== 32)
      throw new FleekError('INVALID_INPUT', `a root hash is 32 bytes, got ${root.length}`)
    const s = options.slice
    if (
      s !== undefined &&
      (!Number.isSafeInteger(s.start) || s.start < 0 || !Number.isSafeInteger(s.len) || s.len < 0)
    )
      throw new FleekError('INVALID_INPUT', 'a Bao slice range needs a non-negative start and length')
    this.#walk = new BaoWalk(root, options.engine ?? getEngine(), s)
  }

  /** The content length, known only once the final chunk is verified (undefined before). */
  get contentLength(): number | undefined {
    return this.#walk.contentLength
  }

  #need(): number {
    if (!this.#walk.started) return BAO_HEADER_LEN
    return this.#walk.need().len
  }

  #done(): boolean {
    return this.#walk.started && this.#walk.need().kind === 'done'
  }

  /** Applies `bytes` (exactly the current need); returns emitted content, if any. */
  #apply(bytes: Uint8Array): Uint8Array | undefined {
    if (!this.#walk.started) {
      this.#walk.start(bytes)
      return undefined
    }
    const need = this.#walk.need()
    if (need.kind === 'parent') {
      this.#walk.supplyParent(bytes)
      return undefined
    }
    const out = this.#walk.supplyChunk(bytes)
    return out.length > 0 ? out.slice() : undefined
  }

  /** Feeds encoding bytes; returns the content bytes verified by them (possibly empty). */
  write(bytes: Uint8Array): Uint8Array {
    checkBytes(bytes, 'encoding')
    if (this.#failed !== undefined) throw this.#failed
    try {
      const out: Uint8Array[] = []
      let pos = 0
      for (;;) {
        // Zero-length needs (the empty chunk) are applied as soon as they are reached.
        if (this.#done()) break
        const need = this.#need()
        if (this.#bufLen === 0 && bytes.length - pos >= need) {
          const o = this.#apply(bytes.subarray(pos, pos + need))
          if (o) out.push(o)
          pos += need
          continue
        }
        if (pos === bytes.length) break
        const take = Math.min(need - this.#bufLen, bytes.length - pos)
        this.#buf.set(bytes.subarray(pos, pos + take), this.#bufLen)
        this.#bufLen += take
        pos += take
        if (this.#bufLen === need) {
          this.#bufLen = 0
          const o = this.#apply(this.#buf.subarray(0, need))
          if (o) out.push(o)
        }
      }
      if (pos < bytes.length)
        throw new FleekError('INTEGRITY', 'Bao: trailing bytes after the end of the encoding')
      if (out.length === 1) return out[0]
      const all = new Uint8Array(out.reduce((n, o) => n + o.length, 0))
      let at = 0
      for (const o of out) {
        all.set(o, at)
        at += o.length
      }
      return all
    } catch (err) {
      this.#failed = err
      throw err
    }
  }

  /** Ends the input: throws INTEGRITY if the encoding is incomplete. */
  end(): void {
    if (this.#failed !== undefined) throw this.#failed
    if (!this.#done()) {
      this.#failed = new FleekError('INTEGRITY', 'Bao: the encoding is truncated')
      throw this.#failed
    }
  }
}

/** Decodes a whole combined encoding against `root`; returns the content. */
export function baoDecode(encoding: Uint8Array, root: Uint8Array, engine?: B3Backend): Uint8Array {
  const d = new BaoDecoder(root, { engine })
  const out = d.write(encoding)
  d.end()
  return out
}

/** Decodes a slice made for (`start`, `len`) against `root`; returns the content bytes in that range. */
export function baoDecodeSlice(slice: Uint8Array, root: Uint8Array, start: number, len: number): Uint8Array {
  const d = new BaoDecoder(root, { slice: { start, len } })
  const out = d.write(slice)
  d.end()
  return out
}

/**
 * Verifies `content` against an outboard encoding and `root`; returns the content once every chunk is
 * verified. The content must be exactly as long as the (verified) header says.
 */
export function baoDecodeOutboard(
  outboard: Uint8Array,
  content: Uint8Array,
  root: Uint8Array,
  engine?: B3Backend,
): Uint8Array {
  checkBytes(outboard, 'outboard')
  checkBytes(content, 'content')
  checkBytes(root, 'root hash')
  if (root.length !== 32) throw new FleekError('INVALID_INPUT', `a root hash is 32 bytes, got ${root.length}`)
  const walk = new BaoWalk(root, engine ?? getEngine())
  if (outboard.length < BAO_HEADER_LEN) throw new FleekError('INTEGRITY', 'Bao: the outboard is truncated')
  walk.start(outboard.subarray(0, BAO_HEADER_LEN))
  let o = BAO_HEADER_LEN
  let c = 0
  for (let need = walk.need(); need.kind !== 'done'; need = walk.need()) {
    if (need.kind === 'parent') {
      if (o + PARENT_LEN > outboard.length)
        throw new FleekError('INTEGRITY', 'Bao: the outboard is truncated')
      walk.supplyParent(outboard.subarray(o, o + PARENT_LEN))
      o += PARENT_LEN
    } else {
      if (c + need.len > content.length)
        throw new FleekError('INTEGRITY', 'Bao: the content is shorter than its encoding says')
      walk.supplyChunk(content.subarray(c, c + need.len))
      c += need.len
    }
  }
  if (o !== outboard.length)
    throw new FleekError('INTEGRITY', 'Bao: trailing bytes after the end of the outboard')
  if (c !== content.length)
    throw new FleekError('INTEGRITY', 'Bao: the content is longer than its encoding says')
  return content
}
