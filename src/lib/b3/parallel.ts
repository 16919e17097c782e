/**
 * BLAKE3 on all cores. A large input is cut into power-of-two subtrees (pieces of 1–4 MiB, aligned,
 * the last one shorter): each is an independent subtree of the BLAKE3 tree, hashed in a worker thread
 * with the WASM engine; the pieces' chaining values are then merged with parent compressions and the
 * top one ROOT-finalised, on the calling thread. Inputs below PARALLEL_MIN_BYTES stay on the calling
 * thread.
 *
 * Bytes reach the workers through SharedArrayBuffer staging areas (one copy by the calling thread,
 * reused across pieces; two to four pieces in flight per worker, so memory stays bounded), or without
 * any copy when the input already lives in a SharedArrayBuffer. Measured, the staging copy was as fast as
 * transferring fresh copies (`slice()` + transfer) or faster; but the copy costs the calling thread CPU,
 * which shows when there are few cores: on 2 cores, 256 MiB hashed at ~1200 MB/s from a plain buffer and
 * ~1850 MB/s from a shared one. Callers that own large inputs (a file read into memory) should read them
 * into a SharedArrayBuffer.
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { FleekError } from '../errors.ts'
import { CHUNK_LEN, DERIVE_KEY_MATERIAL, KEYED_HASH } from './constants.ts'
import { getEngine } from './engine.ts'
import { checkBytes, HASH_MODE, type HashMode } from './mode.ts'
import { loadWasmBackend } from './wasm/index.ts'

/** Inputs shorter than this are hashed on the calling thread: a worker round trip would cost more. */
export const PARALLEL_MIN_BYTES = 4 << 20
const MIN_PIECE_BYTES = 1 << 20
const MAX_PIECE_BYTES = 4 << 20
/**
 * Pieces queued at a worker at once, so that the next one is ready when the current one ends even when
 * the calling thread is slow to be scheduled (a loaded machine): up to 4 while the staging areas of all
 * workers stay within STAGING_BUDGET_BYTES, never fewer than 2.
 */
const MAX_IN_FLIGHT_PER_WORKER = 4
const STAGING_BUDGET_BYTES = 64 << 20
/** How long close() lets a worker finish its piece before terminating it. */
const STOP_TIMEOUT_MS = 5000
/** Largest block for blockCvs: 2^12 chunks (4 MiB, one piece), so staging areas stay piece-sized. */
const MAX_LOG2_CHUNKS_PER_BLOCK = 12

/** Starts one worker on parallel-worker.{js,ts}, beside this file. */
function startWorkerThread(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./parallel-worker.js', import.meta.url))
  // Running from the TypeScript sources through tsx: Node 20 workers do not get tsx's loader hooks from
  // `--import tsx` (privatenumber/tsx#354), so the worker registers them before importing its entry.
  // Without tsx (a runtime that strips types itself), the entry is started as it is.
  const entry = new URL('./parallel-worker.ts', import.meta.url)
  let tsxApi: string
  try {
    tsxApi = import.meta.resolve('tsx/esm/api')
  } catch {
    return new Worker(entry)
  }
  const code = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}) })`
  return new Worker(code, { eval: true })
}

/**
 * One job for a worker (./parallel-worker.ts): consecutive blocks of `blockBytes` (the last may be
 * short) starting at chunk `chunkCounter`.
 */
export interface B3Task {
  readonly id: number
  /** The bytes: a view of a SharedArrayBuffer (a staging area, or the caller's own shared input). */
  readonly bytes: Uint8Array
  readonly chunkCounter: number
  readonly blockBytes: number
  readonly key: Uint32Array
  readonly flags: number
}

/** The answer: 32 bytes per block, or the error's message. */
export type B3TaskResult =
  { readonly id: number; readonly cvs: Uint8Array } | { readonly id: number; readonly error: string }

/** Sent instead of a task: finish and exit (the port closes, the thread's event loop ends). */
export const STOP_MESSAGE = 'stop'

export interface B3PoolOptions {
  /** Worker threads (default: os.availableParallelism()). */
  threads?: number
}

export interface ParallelOptions extends B3PoolOptions {
  /** The pool to run on (default: a shared pool per thread count, idle workers never hold the process). */
  pool?: B3Pool
  /** Keyed hash or derive-key material mode (default: the plain hash). */
  mode?: HashMode
}

interface QueuedPiece {
  readonly bytes: Uint8Array
  readonly chunkCounter: number
  readonly blockBytes: number
  readonly mode: HashMode
  readonly resolve: (cvs: Uint8Array) => void
  readonly reject: (err: Error) => void
}

interface InFlightPiece {
  readonly piece: QueuedPiece
  readonly staging: SharedArrayBuffer | undefined
}

interface PoolWorker {
  readonly worker: Worker
  readonly inFlight: Map<number, InFlightPiece>
}

/** A reusable set of BLAKE3 worker threads. Idle workers do not keep the process alive. */
export class B3Pool {
  readonly threads: number
  readonly #inFlightPerWorker: number
  readonly #workers: PoolWorker[] = []
  #queue: QueuedPiece[] = []
  #freeStaging: SharedArrayBuffer[] = []
  #nextId = 1
  #closing: Promise<void> | undefined

  constructor(options: B3PoolOptions = {}) {
    const threads = options.threads ?? availableParallelism()
    if (!Number.isSafeInteger(threads) || threads < 1)
      throw new FleekError('INVALID_INPUT', `threads must be a positive integer, got ${String(threads)}`)
    this.threads = threads
    const budget = Math.floor(STAGING_BUDGET_BYTES / (threads * MAX_PIECE_BYTES))
    this.#inFlightPerWorker = Math.max(2, Math.min(MAX_IN_FLIGHT_PER_WORKER, budget))
  }

  /**
   * The BLAKE3 hash of `input` (32 bytes), or its keyed / derive-key output under `mode`. `input` must
   * not change until the promise settles (workers read it while the caller waits).
   */
  async hash(input: Uint8Array, mode: HashMode = HASH_MODE): Promise<Uint8Array> {
    checkBytes(input, 'input')
    checkMode(mode)
    this.#checkOpen()
    const out = new Uint8Array(32)
    const merger = loadWasmBackend()
    if (input.length < PARALLEL_MIN_BYTES || merger === undefined)
      return getEngine().subtreeCv(input, 0, mode.key, mode.flags, true, out, 0)
    const pieceBytes = choosePieceBytes(input.length, this.threads)
    const cvs = await this.#blockCvs(input, pieceBytes, pieceBytes, mode)
    // Aligned power-of-two pieces are subtrees, the last shorter one is the tree's right-spine node:
    // the tree above them is the left-heavy tree mergeCvs builds.
    return merger.mergeCvs(cvs, mode.key, mode.flags, true, out, 0)
  }

  /**
   * The chaining values (32 bytes each, concatenated, all non-root) of the blocks of 2^k chunks of
   * `input`: block i is the subtree at chunk counter i·2^k; the last block may be short. The leaves of a
   * block tree (DESIGN §3.1). An empty input has no blocks.
   */
  async blockCvs(
    input: Uint8Array,
    log2ChunksPerBlock: number,
    mode: HashMode = HASH_MODE,
  ): Promise<Uint8Array> {
    checkBytes(input, 'input')
    checkLog2ChunksPerBlock(log2ChunksPerBlock)
    checkMode(mode)
    this.#checkOpen()
    const blockBytes = CHUNK_LEN * 2 ** log2ChunksPerBlock
    if (input.length < PARALLEL_MIN_BYTES || loadWasmBackend() === undefined)
      return hashBlocks(input, blockBytes, 0, mode)
    const taskBytes = Math.max(blockBytes, choosePieceBytes(input.length, this.threads))
    return this.#blockCvs(input, taskBytes, blockBytes, mode)
  }

  /** Stops the workers; pending work fails with UNAVAILABLE. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutDown()
    return this.#closing
  }

  async #shutDown(): Promise<void> {
    const closed = () => new FleekError('UNAVAILABLE', 'the BLAKE3 worker pool is closed')
    for (const piece of this.#queue) piece.reject(closed())
    this.#queue = []
    this.#freeStaging = []
    const workers = this.#workers.splice(0)
    for (const { inFlight } of workers) {
      for (const { piece } of inFlight.values()) piece.reject(closed())
      inFlight.clear()
    }
    await Promise.all(workers.map(({ worker }) => stopWorker(worker)))
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) throw new FleekError('UNAVAILABLE', 'the BLAKE3 worker pool is closed')
  }

  /** Hashes `input` as tasks of `taskBytes` (a multiple of `blockBytes`) and gathers the block CVs. */
  async #blockCvs(
    input: Uint8Array,
    taskBytes: number,
    blockBytes: number,
    mode: HashMode,
  ): Promise<Uint8Array> {
    const cvs = new Uint8Array(32 * Math.ceil(input.length / blockBytes))
    const tasks: Promise<void>[] = []
    for (let start = 0; start < input.length; start += taskBytes) {
      const bytes = input.subarray(start, start + taskBytes)
      const at = (32 * start) / blockBytes
      tasks.push(
        new Promise<Uint8Array>((resolve, reject) => {
          this.#queue.push({ bytes, chunkCounter: start / CHUNK_LEN, blockBytes, mode, resolve, reject })
        }).then((part) => cvs.set(part, at)),
      )
    }
    this.#pump()
    await Promise.all(tasks)
    return cvs
  }

  /** Hands queued pieces to workers with room, starting workers up to `threads`. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const target = this.#pickWorker()
      if (target === undefined) return
      this.#dispatch(target, this.#queue.shift() as QueuedPiece)
    }
  }

  #pickWorker(): PoolWorker | undefined {
    let best: PoolWorker | undefined
    for (const w of this.#workers) if (best === undefined || w.inFlight.size < best.inFlight.size) best = w
    if ((best === undefined || best.inFlight.size > 0) && this.#workers.length < this.threads)
      return this.#startWorker()
    return best !== undefined && best.inFlight.size < this.#inFlightPerWorker ? best : undefined
  }

  #startWorker(): PoolWorker {
    const worker = startWorkerThread()
    worker.unref()
    const entry: PoolWorker = { worker, inFlight: new Map() }
    worker.on('message', (result: B3TaskResult) => this.#settle(entry, result))
    worker.on('error', (err) => this.#fail(entry, err))
    worker.on('exit', (code) => {
      if (this.#closing === undefined) this.#fail(entry, new Error(`exited with code ${code}`))
    })
    this.#workers.push(entry)
    return entry
  }

  #dispatch(target: PoolWorker, piece: QueuedPiece): void {
    const id = this.#nextId++
    let bytes = piece.bytes
    let staging: SharedArrayBuffer | undefined
    if (!(bytes.buffer instanceof SharedArrayBuffer)) {
      staging = this.#takeStaging(bytes.length)
      const view = new Uint8Array(staging, 0, bytes.length)
      view.set(bytes)
      bytes = view
    }
    const task: B3Task = {
      id,
      bytes,
      chunkCounter: piece.chunkCounter,
      blockBytes: piece.blockBytes,
      key: piece.mode.key,
      flags: piece.mode.flags,
    }
    if (target.inFlight.size === 0) target.worker.ref()
    target.inFlight.set(id, { piece, staging })
    target.worker.postMessage(task)
  }

  #takeStaging(length: number): SharedArrayBuffer {
    const index = this.#freeStaging.findIndex((b) => b.byteLength >= length)
    if (index >= 0) return this.#freeStaging.splice(index, 1)[0]
    return new SharedArrayBuffer(Math.max(length, MAX_PIECE_BYTES))
  }

  #settle(entry: PoolWorker, result: B3TaskResult): void {
    const pending = entry.inFlight.get(result.id)
    if (pending === undefined) return
    entry.inFlight.delete(result.id)
    if (pending.staging !== undefined) this.#freeStaging.push(pending.staging)
    if ('error' in result) pending.piece.reject(new FleekError('INTERNAL', `BLAKE3 worker: ${result.error}`))
    else pending.piece.resolve(result.cvs)
    if (entry.inFlight.size === 0) entry.worker.unref()
    this.#pump()
    if (this.#queue.length === 0 && this.#workers.every((w) => w.inFlight.size === 0)) this.#freeStaging = []
  }

  /**
   * A worker died: it leaves the pool, and its pieces and the queued ones fail (whatever killed it, a
   * module that does not load or memory, would likely kill the next one too). The next job starts anew.
   */
  #fail(entry: PoolWorker, err: Error): void {
    const index = this.#workers.indexOf(entry)
    if (index < 0) return
    this.#workers.splice(index, 1)
    const failed = () => new FleekError('INTERNAL', `BLAKE3 worker failed: ${err.message}`, { cause: err })
    for (const { piece } of entry.inFlight.values()) piece.reject(failed())
    entry.inFlight.clear()
    for (const piece of this.#queue) piece.reject(failed())
    this.#queue = []
    void entry.worker.terminate()
  }
}

/**
 * Asks a worker to finish its current piece and exit, and waits for it (terminate() after
 * STOP_TIMEOUT_MS). Not terminate() first: a worker terminated mid-task under tsx's loader hooks may
 * never emit 'exit' (seen on Node 20.20), which would leave close() pending forever.
 */
function stopWorker(worker: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS)
    worker.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    worker.ref()
    worker.postMessage(STOP_MESSAGE)
  })
}

/** Pieces: a power of two between 1 and 4 MiB, about four per thread so the threads finish together. */
function choosePieceBytes(length: number, threads: number): number {
  const target = length / (threads * 4)
  let piece = MIN_PIECE_BYTES
  while (piece * 2 <= target && piece < MAX_PIECE_BYTES) piece *= 2
  return piece
}

function checkMode(mode: HashMode): void {
  const { key, flags } = mode
  if (!(key instanceof Uint32Array) || key.length !== 8)
    throw new FleekError('INVALID_INPUT', 'mode.key must be 8 words (Uint32Array)')
  if (flags !== 0 && flags !== KEYED_HASH && flags !== DERIVE_KEY_MATERIAL)
    throw new FleekError(
      'INVALID_INPUT',
      `mode.flags must be 0, KEYED_HASH or DERIVE_KEY_MATERIAL, got ${String(flags)}`,
    )
}

function checkLog2ChunksPerBlock(k: number): void {
  if (!Number.isInteger(k) || k < 0 || k > MAX_LOG2_CHUNKS_PER_BLOCK)
    throw new FleekError(
      'INVALID_INPUT',
      `log2 chunks per block must be an integer from 0 to ${MAX_LOG2_CHUNKS_PER_BLOCK}, got ${String(k)}`,
    )
}

/** The chaining values (non-root) of the blocks of `blockBytes` of `input`, on this thread. */
export function hashBlocks(
  input: Uint8Array,
  blockBytes: number,
  chunkCounter: number,
  mode: HashMode,
): Uint8Array {
  const engine = getEngine()
  const count = Math.ceil(input.length / blockBytes)
  const cvs = new Uint8Array(32 * count)
  for (let i = 0; i < count; i++) {
    const block = input.subarray(i * blockBytes, (i + 1) * blockBytes)
    engine.subtreeCv(
      block,
      chunkCounter + (i * blockBytes) / CHUNK_LEN,
      mode.key,
      mode.flags,
      false,
      cvs,
      32 * i,
    )
  }
  return cvs
}

const sharedPools = new Map<number, B3Pool>()

/** The shared pool for `threads` workers (created on first use; its idle workers never hold the process). */
function getSharedPool(threads: number | undefined): B3Pool {
  const count = threads ?? availableParallelism()
  let pool = sharedPools.get(count)
  if (pool === undefined) {
    pool = new B3Pool({ threads: count })
    sharedPools.set(count, pool)
  }
  return pool
}

/** The BLAKE3 hash of `input` computed on all cores (or `threads` of them); equals `hash(input)`. */
export function hashParallel(input: Uint8Array, options: ParallelOptions = {}): Promise<Uint8Array> {
  return (options.pool ?? getSharedPool(options.threads)).hash(input, options.mode)
}

/** The leaf CVs of a block tree with blocks of 2^`log2ChunksPerBlock` chunks, on all cores (see B3Pool.blockCvs). */
export function blockCvsParallel(
  input: Uint8Array,
  log2ChunksPerBlock: number,
  options: ParallelOptions = {},
): Promise<Uint8Array> {
  return (options.pool ?? getSharedPool(options.threads)).blockCvs(input, log2ChunksPerBlock, options.mode)
}
