/**
 * Engine selection: the WebAssembly SIMD engine where it loads, the TypeScript engine otherwise.
 * `FLEEK_B3_ENGINE=ts` forces the TypeScript engine (`=wasm` requires the WASM engine).
 */
import type { B3Backend } from './backend.ts'
import { FleekError } from '../errors.ts'
import { tsBackend } from './ts-backend.ts'

type WasmLoader = () => B3Backend | undefined

/**
 * The WASM engine's loader, imported without naming it statically so that this module builds and runs
 * while src/lib/b3/wasm/ is absent (the engine is built from source and may be missing). Only "module
 * not found" for that very file means absent; any other failure is a bug and propagates.
 */
async function importWasmLoader(): Promise<WasmLoader | undefined> {
  const url = new URL(
    import.meta.url.endsWith('.ts') ? './wasm/index.ts' : './wasm/index.js',
    import.meta.url,
  )
  try {
    const mod = (await import(url.href)) as { loadWasmBackend?: WasmLoader }
    return mod.loadWasmBackend
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes('wasm/index'))
      return undefined
    throw err
  }
}

const loadWasmBackend: WasmLoader | undefined = await importWasmLoader()

/** The TypeScript engine (always available). */
export function getTsEngine(): B3Backend {
  return tsBackend
}

/** The WASM SIMD engine, or undefined where it is unavailable (no SIMD, or not built). */
export function getWasmEngine(): B3Backend | undefined {
  return loadWasmBackend?.()
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
