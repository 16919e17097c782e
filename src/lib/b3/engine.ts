/**
 * Engine selection: the WebAssembly SIMD engine where it loads, the TypeScript engine otherwise.
 * `FLEEK_B3_ENGINE=ts` forces the TypeScript engine (`=wasm` requires the WASM engine).
 */
import type { B3Backend } from './backend.ts'
import { FleekError } from '../errors.ts'
import { tsBackend } from './ts-backend.ts'
import { loadWasmBackend } from './wasm/index.ts'

/** The TypeScript engine (always available). */
export function getTsEngine(): B3Backend {
  return tsBackend
}

/** The WASM SIMD engine, or undefined where it is unavailable (no SIMD, or not built). */
export function getWasmEngine(): B3Backend | undefined {
  return loadWasmBackend()
}

/** The fastest available engine, honouring FLEEK_B3_ENGINE (`ts` or `wasm`). */
export function getEngine(): B3Backend {
  const wanted = globalThis.process?.env?.FLEEK_B3_ENGINE
  if (wanted === 'ts') return tsBackend
  const wasm = getWasmEngine()
  if (wanted === 'wasm' && wasm === undefined)
    throw new FleekError(
      'UNAVAILABLE',
      'FLEEK_B3_ENGINE=wasm but the WebAssembly SIMD engine is unavailable here',
    )
  return wasm ?? tsBackend
}
