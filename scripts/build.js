#!/usr/bin/env node
// Builds everything `npm install` needs: the WebAssembly engines from our own sources, then TypeScript.
// Runs as the `prepare` script, so a fresh clone is ready after `npm install` / `npm ci`.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', name)
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: 'inherit' })

// 1. WebAssembly: every scripts/build-*.js step (each compiles one engine from src/**/assembly).
for (const step of readdirSync(join(root, 'scripts')).sort()) {
  if (/^build-.+\.js$/.test(step)) run(process.execPath, [join(root, 'scripts', step)])
}

// 2. TypeScript → dist/ (written over in place: a fresh clone has no dist/ to go stale)
run(bin('tsc'), ['-p', 'tsconfig.json'])

// 3. Non-TypeScript assets beside the code that loads them (*.wasm, templates inside src).
const copyAssets = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) copyAssets(path)
    else if (name.endsWith('.wasm')) cpSync(path, join(root, 'dist', relative(join(root, 'src'), path)))
  }
}
if (existsSync(join(root, 'src'))) copyAssets(join(root, 'src'))

// 4. The oclif manifest: command metadata in one file, so a command loads only its own module instead
//    of every command's (start-up time and memory of every `fleek` call).
const manifestPath = join(root, 'oclif.manifest.json')
rmSync(manifestPath, { force: true })
const { Config } = await import('@oclif/core')
const config = await Config.load({ root })
const plugin = config.getPluginsList().find((p) => p.root === root)
if (plugin === undefined) throw new Error('build: the root plugin was not found')
writeFileSync(manifestPath, `${JSON.stringify(plugin.manifest, null, 2)}\n`)
