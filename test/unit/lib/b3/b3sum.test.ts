// b3sum as an oracle on random sizes (fixed seed), when it is installed.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'

import { hash, hashXof, toHex } from '../../../../src/lib/b3/index.ts'
import { buildTree } from '../../../../src/lib/b3/tree.ts'

const probe = spawnSync('b3sum', ['--version'], { encoding: 'utf8' })
const skip = probe.status === 0 ? false : 'b3sum is not installed (apt-get install -y b3sum)'

/** xorshift32, fixed seed. */
function makeRandom(seed: number): () => number {
  let x = seed
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return x >>> 0
  }
}

test('hash, XOF and the block-tree root equal b3sum on random sizes', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fleek-b3sum-'))
  try {
    const rand = makeRandom(0x5eed)
    const sizes = [0, 1, 1024, 1025, 262144, 262145]
    for (let i = 0; i < 14; i++) sizes.push(rand() % (3 << 20))
    const files = sizes.map((size, i) => {
      const bytes = new Uint8Array(size)
      for (let j = 0; j < size; j++) bytes[j] = rand()
      const path = join(dir, `f${i}`)
      writeFileSync(path, bytes)
      return { path, bytes }
    })
    const run = (args: string[]): string[] => {
      const out = spawnSync('b3sum', args, { encoding: 'utf8' })
      assert.equal(out.status, 0, out.stderr)
      return out.stdout.trim().split('\n')
    }
    const digests = run(['--no-names', ...files.map((f) => f.path)])
    const xofs = run(['--no-names', '-l', '100', ...files.map((f) => f.path)])
    files.forEach(({ bytes }, i) => {
      assert.equal(toHex(hash(bytes)), digests[i], `size ${bytes.length}`)
      assert.equal(toHex(hashXof(bytes, 100)), xofs[i], `XOF, size ${bytes.length}`)
      assert.equal(toHex(buildTree(bytes).root), digests[i], `tree root, size ${bytes.length}`)
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
