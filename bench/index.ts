// `npm run bench [name…]`: runs the named benchmarks (all when none is named). Each prints a human
// table and one JSON line, and measures its baseline in the same run.
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = dirname(fileURLToPath(import.meta.url))
const available = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'index.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort()
const wanted = process.argv.slice(2)
for (const name of wanted) {
  if (!available.includes(name)) {
    console.error(`unknown benchmark "${name}"; available: ${available.join(', ')}`)
    process.exit(2)
  }
}
for (const name of wanted.length > 0 ? wanted : available) {
  const mod = (await import(join(dir, `${name}.ts`))) as { run: () => Promise<void> }
  await mod.run()
}
