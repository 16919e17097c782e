// STYLE habit 1: src/lib imports neither src/node nor src/commands; src/node never imports oclif;
// src/client and src/sdk share only src/lib.
import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const src = fileURLToPath(new URL('../../../src/', import.meta.url))

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return files(path)
    return /\.(ts|tsx)$/.test(name) ? [path] : []
  })
}

/** Every module specifier a file imports or re-exports (static and dynamic). */
function importsOf(text: string): string[] {
  const specs: string[] = []
  for (const m of text.matchAll(
    /(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm,
  ))
    specs.push(m[1] ?? m[2] ?? m[3])
  return specs
}

const layerOf = (path: string): string => relative(src, path).split('/')[0]

const rules: Record<string, { layers: string[]; packages?: RegExp; nodeEntry?: boolean }> = {
  // Commands and their helpers reach the node only through its public index.
  commands: { layers: ['lib', 'node', 'cli', 'client', 'commands'], nodeEntry: true },
  cli: { layers: ['lib', 'node', 'cli', 'client'], nodeEntry: true },
  lib: { layers: ['lib'], packages: /^(@oclif\/|ink$|react$|@inquirer\/)/ },
  node: { layers: ['lib', 'node'], packages: /^(@oclif\/|ink$|react$|@inquirer\/)/ },
  client: { layers: ['lib', 'client'], packages: /^@oclif\// },
  sdk: { layers: ['lib', 'sdk'], packages: /^@oclif\// },
}

test('layers import in one direction', () => {
  const violations: string[] = []
  let checked = 0
  for (const file of files(src)) {
    const layer = layerOf(file)
    const rule = rules[layer]
    if (rule === undefined) continue
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      checked++
      if (spec.startsWith('.')) {
        const target = layerOf(resolve(dirname(file), spec))
        if (!rule.layers.includes(target))
          violations.push(`${relative(src, file)} imports ${spec} (${target})`)
        else if (
          rule.nodeEntry === true &&
          target === 'node' &&
          relative(src, resolve(dirname(file), spec)) !== 'node/index.ts'
        )
          violations.push(`${relative(src, file)} imports ${spec} (not the node's index.ts)`)
      } else if (rule.packages?.test(spec)) {
        violations.push(`${relative(src, file)} imports ${spec}`)
      }
    }
  }
  assert.ok(checked > 0, 'no imports were checked')
  assert.deepEqual(violations, [])
})

test('the scanner sees a violation when there is one', () => {
  // Guard against a scanner that silently matches nothing.
  const fake = join(src, 'lib', 'x.ts')
  assert.equal(layerOf(resolve(dirname(fake), '../node/index.ts')), 'node')
  assert.deepEqual(
    importsOf(
      `import { a } from '../node/index.ts'\nexport { b } from '@oclif/core'\nawait import('./c.ts')`,
    ),
    ['../node/index.ts', '@oclif/core', './c.ts'],
  )
})
