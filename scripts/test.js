#!/usr/bin/env node
// Runs the test tiers with node:test through tsx. Node 20 expands no globs, so the files are listed
// here explicitly (found under test/<tier>/, sorted) and passed one by one.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tiers = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['unit', 'integration', 'e2e']

const find = (dir) =>
  readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) return find(path)
      return name.endsWith('.test.ts') ? [path] : []
    })

const files = tiers.flatMap((tier) => {
  const dir = join(root, 'test', tier)
  return existsSync(dir) ? find(dir).map((f) => relative(root, f)) : []
})
if (files.length === 0) {
  console.error(`no test files under test/{${tiers.join(',')}}`)
  process.exit(1)
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=600000', ...files],
  { cwd: root, stdio: 'inherit' },
)
process.exit(result.status ?? 1)
