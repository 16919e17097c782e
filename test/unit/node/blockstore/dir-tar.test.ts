import assert from 'node:assert/strict'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import tar from 'tar-stream'

import { isFleekError } from '../../../../src/lib/errors.ts'
import { extractDirectory, packDirectory, safeEntryParts } from '../../../../src/node/blockstore/dir-tar.ts'
import { scratchDir } from '../../../helpers/cli.ts'

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return Buffer.concat(parts)
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

function makeTree(root: string, mtimeS: number): void {
  mkdirSync(join(root, 'b/inner'), { recursive: true })
  mkdirSync(join(root, 'a'), { recursive: true })
  writeFileSync(join(root, 'z.txt'), 'last\n')
  writeFileSync(join(root, 'a/one.bin'), Buffer.alloc(300_000, 7))
  writeFileSync(join(root, 'b/inner/run.sh'), '#!/bin/sh\necho hi\n')
  chmodSync(join(root, 'b/inner/run.sh'), 0o750)
  writeFileSync(join(root, 'b/empty'), '')
  writeFileSync(join(root, `${'long-name-'.repeat(12)}.txt`), 'a name over 100 bytes\n')
  for (const p of ['z.txt', 'a/one.bin', 'b/inner/run.sh', 'b/empty', 'a', 'b'])
    utimesSync(join(root, p), mtimeS, mtimeS)
}

/** A tar with one entry of the given header, for refusals. */
async function tarWith(header: Partial<tar.Header> & { name: string }, body = ''): Promise<Buffer> {
  const pack = tar.pack()
  pack.entry(header, body)
  pack.finalize()
  return collect(pack as AsyncIterable<Uint8Array>)
}

test('the same folder contents always give the same tar bytes', async (t) => {
  const dir = scratchDir(t)
  makeTree(join(dir, 'x'), 1_000_000)
  makeTree(join(dir, 'y'), 2_000_000) // other mtimes, other creation order below
  const first = await collect(packDirectory(join(dir, 'x')))
  const second = await collect(packDirectory(join(dir, 'y')))
  assert.ok(first.length > 300_000)
  assert.ok(first.equals(second))

  const names: string[] = []
  const extract = tar.extract()
  const reading = (async () => {
    for await (const entry of extract) {
      names.push(
        `${entry.header.name} ${entry.header.mode?.toString(8)} ${entry.header.mtime?.getTime()} ${entry.header.uid}`,
      )
      entry.resume()
    }
  })()
  extract.end(first)
  await reading
  assert.deepEqual(names, [
    'a/ 755 0 0',
    'a/one.bin 644 0 0',
    'b/ 755 0 0',
    'b/empty 644 0 0',
    'b/inner/ 755 0 0',
    'b/inner/run.sh 755 0 0',
    `${'long-name-'.repeat(12)}.txt 644 0 0`,
    'z.txt 644 0 0',
  ])
})

test('symbolic links are skipped and reported, never followed', async (t) => {
  const dir = scratchDir(t)
  const root = join(dir, 'src')
  makeTree(root, 1_000_000)
  symlinkSync('/etc/passwd', join(root, 'link'))
  const skipped: string[] = []
  const withLink = await collect(packDirectory(root, { onSkip: (p, why) => skipped.push(`${p}: ${why}`) }))
  assert.deepEqual(skipped, ['link: symbolic link'])
  const plain = join(dir, 'plain')
  makeTree(plain, 5)
  assert.ok(withLink.equals(await collect(packDirectory(plain))))
})

test('extraction restores the folder byte for byte', async (t) => {
  const dir = scratchDir(t)
  makeTree(join(dir, 'src'), 1_000_000)
  const bytes = await collect(packDirectory(join(dir, 'src')))
  const counts = await extractDirectory(once(bytes), join(dir, 'out'))
  assert.deepEqual(counts, { files: 5, folders: 3, bytes: 300_000 + 5 + 18 + 22 })
  assert.deepEqual(readFileSync(join(dir, 'out/a/one.bin')), Buffer.alloc(300_000, 7))
  assert.equal(statSync(join(dir, 'out/b/inner/run.sh')).mode & 0o777, 0o755)
  assert.ok(
    (await collect(packDirectory(join(dir, 'out')))).equals(bytes),
    're-packing the copy gives the same tar',
  )
  // An existing non-empty target is refused.
  await assert.rejects(extractDirectory(once(bytes), join(dir, 'out')), (err) => isFleekError(err, 'EXISTS'))
})

test('unsafe names and non-file entries are refused and nothing is left behind', async (t) => {
  const dir = scratchDir(t)
  const cases: Array<[Partial<tar.Header> & { name: string }, RegExp]> = [
    [{ name: '../evil.txt', size: 1 }, /unsafe path/],
    [{ name: 'ok/../../evil.txt', size: 1 }, /unsafe path/],
    [{ name: '/etc/evil', size: 1 }, /unsafe path/],
    [{ name: 'link', type: 'symlink', linkname: '/etc/passwd' }, /symlink/],
  ]
  for (const [i, [header, message]] of cases.entries()) {
    const bytes = await tarWith(header, header.type === 'symlink' ? '' : 'x')
    const target = join(dir, `out${i}`)
    await assert.rejects(extractDirectory(once(bytes), target), (err) => {
      assert.ok(isFleekError(err, 'INVALID_INPUT'), String(err))
      assert.match(err.message, message)
      return true
    })
    assert.equal(existsSync(target), false)
  }
  assert.deepEqual(readdirSync(dir), [], 'no staging folder left')
  assert.throws(() => safeEntryParts('a//b'), /unsafe/)
  assert.deepEqual(safeEntryParts('a/b/'), ['a', 'b'])
})

test('a source that fails midway (a corrupt block) leaves no folder', async (t) => {
  const dir = scratchDir(t)
  makeTree(join(dir, 'src'), 1_000_000)
  const bytes = await collect(packDirectory(join(dir, 'src')))
  async function* failing(): AsyncGenerator<Uint8Array> {
    yield bytes.subarray(0, 200_000)
    throw new Error('block 1 does not match its hash')
  }
  await assert.rejects(extractDirectory(failing(), join(dir, 'out')), /block 1 does not match/)
  assert.equal(existsSync(join(dir, 'out')), false)
  assert.deepEqual(readdirSync(dir), ['src'])
})
