// STYLE habit 1: src/lib imports neither src/node nor src/commands; src/node never imports oclif;
// src/client and src/sdk share only src/lib. Inside src/node: no component imports node.ts (the
// composition root), and no file or component folder is part of an import cycle.
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

/** The src/node files each src/node file imports (resolved paths). */
function nodeImportGraph(): Map<string, string[]> {
  const root = join(src, 'node')
  const graph = new Map<string, string[]>()
  for (const file of files(root))
    graph.set(
      file,
      importsOf(readFileSync(file, 'utf8'))
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => resolve(dirname(file), spec))
        .filter((target) => target.startsWith(root + '/')),
    )
  return graph
}

/** Every cycle found by a depth-first walk, as `a -> b -> a`. */
function findCycles(graph: Map<string, Iterable<string>>): string[] {
  const cycles: string[] = []
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (node: string): void => {
    state.set(node, 'open')
    stack.push(node)
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '))
      else if (!state.has(next)) visit(next)
    }
    stack.pop()
    state.set(node, 'done')
  }
  for (const node of graph.keys()) if (!state.has(node)) visit(node)
  return cycles
}

test('no component imports the composition root (src/node/node.ts)', () => {
  const root = join(src, 'node')
  const nodeTs = join(root, 'node.ts')
  const graph = nodeImportGraph()
  assert.ok(graph.size > 20, 'too few src/node files found')
  const importers = [...graph]
    .filter(([file, targets]) => file !== join(root, 'index.ts') && targets.includes(nodeTs))
    .map(([file]) => relative(src, file))
  assert.deepEqual(importers, [])
})

test('no import cycle in src/node, between files or between component folders', () => {
  const root = join(src, 'node')
  const graph = nodeImportGraph()
  const rel = (path: string): string => relative(src, path)
  const fileGraph = new Map([...graph].map(([f, targets]) => [rel(f), targets.map(rel)]))
  assert.deepEqual(findCycles(fileGraph), [])
  // A component is a folder of src/node; a top-level file (node.ts, config.ts, …) stands for itself.
  const componentOf = (path: string): string => relative(root, path).split('/')[0]
  const components = new Map<string, Set<string>>()
  for (const [file, targets] of graph) {
    const from = componentOf(file)
    const edges = components.get(from) ?? new Set<string>()
    components.set(from, edges)
    for (const target of targets) if (componentOf(target) !== from) edges.add(componentOf(target))
  }
  assert.ok(components.has('txpool') && components.has('consensus'), 'components not found')
  assert.deepEqual(findCycles(components), [])
})

test('the cycle finder sees a cycle when there is one', () => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ])
  assert.deepEqual(findCycles(graph), ['a -> b -> c -> a'])
  assert.deepEqual(
    findCycles(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    [],
  )
})

test('a file in src/node over 600 lines says why on its first line', () => {
  const unexplained = files(join(src, 'node')).flatMap((file) => {
    const text = readFileSync(file, 'utf8')
    const lines = text.split('\n').length
    return lines > 600 && !/^\/\/ Long file: \S/.test(text) ? [`${relative(src, file)} (${lines} lines)`] : []
  })
  assert.deepEqual(unexplained, [])
})
