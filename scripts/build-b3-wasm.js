#!/usr/bin/env node
// Compiles the BLAKE3 WebAssembly SIMD engine from our own source: assembly/generate.mjs writes the
// AssemblyScript (src/lib/b3/wasm/build/blake3.ts), asc compiles it to src/lib/b3/wasm/build/blake3.wasm
// (both git-ignored; scripts/build.js copies the .wasm into dist). Without the assemblyscript devDependency it warns and skips: the loader then
// returns no engine and BLAKE3 runs on the TypeScript engine.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const asc = join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js')
const generator = join(root, 'src', 'lib', 'b3', 'wasm', 'assembly', 'generate.mjs')
const source = join(root, 'src', 'lib', 'b3', 'wasm', 'build', 'blake3.ts')
const output = join(root, 'src', 'lib', 'b3', 'wasm', 'build', 'blake3.wasm')

if (!existsSync(asc)) {
  console.warn(
    'build-b3-wasm: assemblyscript is not installed; skipping (BLAKE3 will use the TypeScript engine)',
  )
  process.exit(0)
}
mkdirSync(dirname(output), { recursive: true })
execFileSync(process.execPath, [generator, source], { cwd: root, stdio: 'inherit' })
// Written beside the target, then renamed: a reader never sees a half-written module.
const temporary = `${output}.${process.pid}.tmp`
const args = [
  asc,
  source,
  '--outFile',
  temporary,
  '-O3',
  '--enable',
  'simd',
  '--runtime',
  'stub',
  '--noAssert',
  // No imports at all: abort is never reached with --noAssert, so it needs no host function.
  '--use',
  'abort=',
  '--initialMemory',
  '1',
]
execFileSync(process.execPath, args, { cwd: root, stdio: 'inherit' })
renameSync(temporary, output)
console.log(`build-b3-wasm: ${output.slice(root.length + 1)}`)
