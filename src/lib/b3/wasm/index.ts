/**
 * Loader of the WebAssembly SIMD BLAKE3 engine (compiled from ./assembly/blake3.ts by
 * scripts/build-b3-wasm.js into ./build/blake3.wasm). Synchronous, so that `engine.ts` can pick it at
 * import time; undefined where WebAssembly SIMD is unavailable or the module was not built.
 *
 * Input is copied into the instance's memory one window (1 MiB, a whole 1024-chunk subtree) at a time;
 * each window's chaining value is kept in memory and the windows are merged at the end, so memory stays
 * bounded whatever the input size and every copy is one large `set`.
 */
import { readFileSync } from 'node:fs'
import type { B3Backend } from '../backend.ts'
import { FleekError } from '../../errors.ts'
import { checkSubtreeArgs } from '../ts-backend.ts'

/**
 * The slice of the WebAssembly JS API used here, typed locally: the project's lib (ES2023, @types/node
 * 20) declares no `WebAssembly` global.
 */
interface WasmMemory {
  readonly buffer: ArrayBuffer
  grow(pages: number): number
}
type WasmModule = object
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule
  Instance: new (module: WasmModule, imports: object) => { readonly exports: object }
  CompileError: new (...args: unknown[]) => Error
}
const WasmJs = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

/** The exports of blake3.wasm (see ./assembly/blake3.ts for what each does). */
interface B3WasmExports {
  readonly memory: WasmMemory
  heapBase(): number
  subtree(
    ptr: number,
    len: number,
    counter: number,
    keyPtr: number,
    flags: number,
    root: number,
    cvs: number,
    out: number,
  ): void
  mergeCvs(cvs: number, count: number, keyPtr: number, flags: number, root: number, out: number): void
}

/** The WASM engine: a B3Backend plus the parent merge of many chaining values in one call. */
export interface WasmB3Backend extends B3Backend {
  /**
   * Merges the `cvs.length / 32` chaining values (≥ 1, or ≥ 2 with `root`) of consecutive sibling
   * subtrees (each a whole power-of-two subtree of the same size, the last possibly smaller) into the
   * chaining value of the left-heavy tree above them; with `root` the top parent is ROOT-finalised (the
   * hash). Writes 32 bytes to `out` at `outOffset` and returns `out`. `cvs` is not modified.
   */
  mergeCvs(
    cvs: Uint8Array,
    key: Uint32Array,
    flags: number,
    root: boolean,
    out: Uint8Array,
    outOffset: number,
  ): Uint8Array
}

const CHUNK_BYTES = 1024
/** Bytes hashed per call: a whole subtree of 1024 chunks, small enough to stay in L2 while hashed. */
const WINDOW_BYTES = 1 << 20
const PAGE_BYTES = 65536

/** The module scripts/build-b3-wasm.js builds (copied beside the compiled loader in dist). */
const defaultModuleUrl = new URL('./build/blake3.wasm', import.meta.url)

const compiled = new Map<string, WasmModule | null>()
let cached: WasmB3Backend | null | undefined

/** Compiles the module at `url` once; null when the file is missing or this runtime has no WebAssembly SIMD. */
function compileModule(url: URL): WasmModule | null {
  const known = compiled.get(url.href)
  if (known !== undefined) return known
  let module: WasmModule | null
  try {
    module = new WasmJs.Module(readFileSync(url))
  } catch (err) {
    // ENOENT: not built. CompileError: no SIMD here (or a corrupt build). Either way the TS engine serves.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof WasmJs.CompileError)) throw err
    module = null
  }
  compiled.set(url.href, module)
  return module
}

/** The WASM engine (one instance per thread, created on first use), or undefined where unavailable. */
export function loadWasmBackend(): WasmB3Backend | undefined {
  if (cached === undefined) cached = createWasmBackend() ?? null
  return cached ?? undefined
}

/**
 * A new, independent instance of the WASM engine (its own memory), or undefined where unavailable.
 * `moduleUrl` is for tests; the default is the module the build produced.
 */
export function createWasmBackend(moduleUrl: URL = defaultModuleUrl): WasmB3Backend | undefined {
  const module = compileModule(moduleUrl)
  if (module === null) return undefined
  const wasm = new WasmJs.Instance(module, {}).exports as unknown as B3WasmExports

  // Layout: key (32 B) | out (32 B) | chunk CVs of one window | the input window | window CVs (grows).
  const keyPtr = alignUp(wasm.heapBase(), 64)
  const outPtr = keyPtr + 32
  const cvsPtr = keyPtr + 64
  const inPtr = cvsPtr + (WINDOW_BYTES / CHUNK_BYTES) * 32
  const windowCvsPtr = inPtr + WINDOW_BYTES
  let mem = new Uint8Array(0)
  let view = new DataView(new ArrayBuffer(0))

  /** Ensures memory up to `end` exists and refreshes the views (a grow detaches the old buffer). */
  const reserve = (end: number): void => {
    const have = wasm.memory.buffer.byteLength
    if (end > have) wasm.memory.grow(Math.ceil((end - have) / PAGE_BYTES))
    if (mem.buffer !== wasm.memory.buffer) {
      mem = new Uint8Array(wasm.memory.buffer)
      view = new DataView(wasm.memory.buffer)
    }
  }
  reserve(windowCvsPtr + 64 * 32)

  const writeKey = (key: Uint32Array): void => {
    for (let i = 0; i < 8; i++) view.setUint32(keyPtr + 4 * i, key[i], true)
  }

  const backend: WasmB3Backend = {
    name: 'wasm-simd',

    subtreeCv(input, chunkCounter, key, flags, root, out, outOffset) {
      checkSubtreeArgs(input, chunkCounter, key, root, out, outOffset)
      const rootFlag = root ? 1 : 0
      reserve(0)
      writeKey(key)
      if (input.length <= WINDOW_BYTES) {
        mem.set(input, inPtr)
        wasm.subtree(inPtr, input.length, chunkCounter, keyPtr, flags, rootFlag, cvsPtr, outPtr)
      } else {
        // Whole windows are aligned power-of-two subtrees and the last, shorter one is the right-spine
        // node of the tree, so the tree above the window CVs is the left-heavy tree mergeCvs builds.
        const windows = Math.ceil(input.length / WINDOW_BYTES)
        reserve(windowCvsPtr + windows * 32)
        for (let w = 0; w < windows; w++) {
          const start = w * WINDOW_BYTES
          const piece = input.subarray(start, Math.min(start + WINDOW_BYTES, input.length))
          mem.set(piece, inPtr)
          const counter = chunkCounter + start / CHUNK_BYTES
          wasm.subtree(inPtr, piece.length, counter, keyPtr, flags, 0, cvsPtr, windowCvsPtr + 32 * w)
        }
        wasm.mergeCvs(windowCvsPtr, windows, keyPtr, flags, rootFlag, outPtr)
      }
      out.set(mem.subarray(outPtr, outPtr + 32), outOffset)
      return out
    },

    mergeCvs(cvs, key, flags, root, out, outOffset) {
      const count = cvs.length / 32
      if (!Number.isInteger(count) || count < 1)
        throw new FleekError(
          'INVALID_INPUT',
          `mergeCvs: expected a positive multiple of 32 bytes, got ${cvs.length}`,
        )
      if (root && count === 1)
        throw new FleekError(
          'INVALID_INPUT',
          'mergeCvs: one chaining value cannot be ROOT-finalised; hash its input',
        )
      if (!(key instanceof Uint32Array) || key.length !== 8)
        throw new FleekError('INVALID_INPUT', 'mergeCvs: key must be 8 words (Uint32Array)')
      if (!Number.isInteger(outOffset) || outOffset < 0 || outOffset + 32 > out.length)
        throw new FleekError('INVALID_INPUT', 'mergeCvs: out has no room for 32 bytes at outOffset')
      reserve(windowCvsPtr + cvs.length)
      writeKey(key)
      mem.set(cvs, windowCvsPtr)
      wasm.mergeCvs(windowCvsPtr, count, keyPtr, flags, root ? 1 : 0, outPtr)
      out.set(mem.subarray(outPtr, outPtr + 32), outOffset)
      return out
    },
  }
  return backend
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to
}
