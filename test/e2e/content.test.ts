// `fleek content …` through the real binary: every command, the two pipelines, folders, and every
// refusal (exit code, one line on stderr, nothing half-written).
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'

import { hash, toHex } from '../../src/lib/b3/index.ts'
import { fleekBin, json, repoRoot, runFleek, type RunResult, scratchDir } from '../helpers/cli.ts'

const BLOCK = 256 * 1024

function bytesOf(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length)
  let x = seed >>> 0 || 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** Asserts a refusal: the exit code, one line on stderr matching `message`, nothing on stdout. */
function refused(r: RunResult, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`)
  assert.equal(r.stdout, '')
  const lines = r.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`)
  assert.match(lines[0], /^fleek: /)
  assert.match(lines[0], message)
}

/** A shell pipeline with the built binary as $FLEEK; returns its exit code and output. */
function sh(
  script: string,
  env: Record<string, string>,
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', script], {
    cwd: repoRoot,
    env: { ...process.env, FLEEK: `${process.execPath} ${fleekBin}`, NO_COLOR: '1', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

interface Put {
  hash: string
  cid: string
  sizeBytes: number
  blocks: number
  kind: string
  existed: boolean
  pinned: boolean
  skipped: Array<{ path: string; reason: string }>
}

function setup(t: Parameters<typeof scratchDir>[0]): {
  dir: string
  home: string
  fleek: (args: string[], input?: Uint8Array | string) => Promise<RunResult>
} {
  const dir = scratchDir(t, 'fleek-content-')
  const home = join(dir, 'home')
  return {
    dir,
    home,
    fleek: (args, input) => runFleek([...args, '--home', home], input === undefined ? {} : { input }),
  }
}

test('put, hash, get, verify, ls of a file; hex and CID both work', async (t) => {
  const { dir, home, fleek } = setup(t)
  const data = bytesOf(3 * BLOCK + 17, 1)
  const file = join(dir, 'data.bin')
  writeFileSync(file, data)
  const expected = toHex(hash(data))

  const hashed = json<{ hash: string; cid: string; sizeBytes: number }>(
    await fleek(['content', 'hash', file, '--json']),
  )
  assert.equal(hashed.hash, expected)
  assert.match(hashed.cid, /^bafkr4/)
  assert.equal(existsSync(home), false, 'hash stores nothing (not even a home)')

  const human = await fleek(['content', 'put', file])
  assert.equal(human.code, 0, human.stderr)
  assert.match(human.stdout, new RegExp(`^hash  ${expected}$`, 'm'))
  assert.match(human.stdout, new RegExp(`^cid   ${hashed.cid}$`, 'm'))
  const put = json<Put>(await fleek(['content', 'put', file, '--json']))
  assert.deepEqual(
    { ...put, skipped: undefined },
    {
      hash: expected,
      cid: hashed.cid,
      sizeBytes: data.length,
      blocks: 4,
      kind: 'file',
      existed: true,
      pinned: false,
      evicted: [],
      skipped: undefined,
    },
  )

  for (const id of [expected, hashed.cid, expected.toUpperCase()]) {
    const out = join(dir, `out-${id.slice(0, 6)}`)
    const got = json<{ output: string; sizeBytes: number }>(
      await fleek(['content', 'get', id, '-o', out, '--json']),
    )
    assert.equal(got.output, out)
    assert.ok(readFileSync(out).equals(data), `get ${id}`)
  }
  const verified = json<{ ok: boolean; blocks: number }>(
    await fleek(['content', 'verify', hashed.cid, '--json']),
  )
  assert.deepEqual([verified.ok, verified.blocks], [true, 4])

  const ls = json<{ blobs: Array<{ hash: string; sizeBytes: number; pinned: boolean }>; totalBytes: number }>(
    await fleek(['content', 'ls', '--json']),
  )
  assert.deepEqual(
    ls.blobs.map((b) => [b.hash, b.sizeBytes, b.pinned]),
    [[expected, data.length, false]],
  )
  assert.equal(ls.totalBytes, data.length)
  const table = await fleek(['content', 'ls'])
  assert.match(table.stdout, /HASH\s+SIZE\s+KIND\s+PIN\s+LAST ACCESS/)
})

test('the two pipelines: cat f | put - --json, and get -o - | cmp - f', async (t) => {
  const { dir, home } = setup(t)
  const file = join(dir, 'f.bin')
  const data = bytesOf(2 * BLOCK + 1, 2)
  writeFileSync(file, data)
  const env = { F: file, H: home }
  const put = sh(
    `cat "$F" | $FLEEK content put - --json --home "$H" | ${process.execPath} -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).hash))'`,
    env,
  )
  assert.equal(put.code, 0, put.stderr)
  assert.equal(put.stdout, toHex(hash(data)))
  assert.equal(put.stderr, '', 'nothing but data in a pipe')
  const get = sh(`$FLEEK content get ${put.stdout} -o - --home "$H" | cmp - "$F"`, env)
  assert.equal(get.code, 0, get.stderr + get.stdout)
  // Piped stdout without -o is data too.
  const piped = sh(`$FLEEK content get ${put.stdout} --home "$H" | cmp - "$F"`, env)
  assert.equal(piped.code, 0, piped.stderr + piped.stdout)
  // stdin content hashes like the file
  const hashed = sh(`cat "$F" | $FLEEK content hash - --json --home "$H"`, env)
  assert.equal(JSON.parse(hashed.stdout).hash, put.stdout)
})

test('folders: put as one deterministic tar, get restores them, symlinks skipped with a notice', async (t) => {
  const { dir, fleek } = setup(t)
  const src = join(dir, 'site')
  mkdirSync(join(src, 'css'), { recursive: true })
  writeFileSync(join(src, 'index.html'), '<h1>hi</h1>\n')
  writeFileSync(join(src, 'css/site.css'), 'h1 { color: red }\n')
  writeFileSync(join(src, 'big.bin'), bytesOf(BLOCK + 3, 3))
  symlinkSync('/etc/passwd', join(src, 'passwd'))

  const r = await fleek(['content', 'put', src])
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /skipped passwd \(symbolic link\)/)
  const put = json<Put>(await fleek(['content', 'put', src, '--json']))
  assert.equal(put.kind, 'directory')
  assert.deepEqual(put.skipped, [{ path: 'passwd', reason: 'symbolic link' }])
  const hashed = json<{ hash: string }>(await fleek(['content', 'hash', src, '--json']))
  assert.equal(hashed.hash, put.hash, 'hash of a folder = its put hash')

  const out = join(dir, 'restored')
  const got = json<{ files: number; folders: number }>(
    await fleek(['content', 'get', put.cid, '-o', out, '--json']),
  )
  assert.deepEqual([got.files, got.folders], [3, 1])
  assert.deepEqual(readdirSync(out).sort(), ['big.bin', 'css', 'index.html'])
  assert.equal(readFileSync(join(out, 'css/site.css'), 'utf8'), 'h1 { color: red }\n')
  assert.ok(readFileSync(join(out, 'big.bin')).equals(bytesOf(BLOCK + 3, 3)))
  refused(await fleek(['content', 'get', put.hash, '-o', out]), 4, /already exists/)

  // --tar writes the archive itself; tar(1) can list it.
  const tarFile = join(dir, 'site.tar')
  assert.equal((await fleek(['content', 'get', put.hash, '-o', tarFile, '--tar'])).code, 0)
  const listed = spawnSync('tar', ['-tf', tarFile], { encoding: 'utf8' })
  if (listed.error === undefined)
    assert.deepEqual(listed.stdout.trim().split('\n'), ['big.bin', 'css/', 'css/site.css', 'index.html'])
})

test('get -o never replaces an existing file or folder without --force; --force replaces it whole', async (t) => {
  const { dir, fleek } = setup(t)
  const data = bytesOf(2 * BLOCK + 5, 11)
  const file = join(dir, 'data.bin')
  writeFileSync(file, data)
  const put = json<Put>(await fleek(['content', 'put', file, '--json']))

  // A file: refused in one line (exit 4), the file untouched, nothing left beside it.
  const out = join(dir, 'out')
  mkdirSync(out)
  const target = join(out, 'target.bin')
  writeFileSync(target, 'precious')
  refused(
    await fleek(['content', 'get', put.hash, '-o', target]),
    4,
    new RegExp(`^fleek: ${target} already exists \\(use --force to replace it\\)$`),
  )
  const asJson = await fleek(['content', 'get', put.hash, '-o', target, '--json'])
  assert.equal(asJson.code, 4)
  assert.equal((JSON.parse(asJson.stdout) as { error: { code: string } }).error.code, 'EXISTS')
  assert.equal(readFileSync(target, 'utf8'), 'precious')
  assert.deepEqual(readdirSync(out), ['target.bin'])
  // --force replaces it (a new inode renamed over: never a half-written file at that path).
  const inodeBefore = statSync(target).ino
  const forced = json<{ output: string; sizeBytes: number }>(
    await fleek(['content', 'get', put.hash, '-o', target, '--force', '--json']),
  )
  assert.equal(forced.output, target)
  assert.ok(readFileSync(target).equals(data))
  assert.notEqual(statSync(target).ino, inodeBefore)
  assert.deepEqual(readdirSync(out), ['target.bin'])
  // A new path needs no --force; a folder is not a file to replace, even with --force.
  assert.equal((await fleek(['content', 'get', put.hash, '-o', join(out, 'new.bin')])).code, 0)
  refused(await fleek(['content', 'get', put.hash, '-o', dir, '--force']), 5, /is a folder/)

  // A stored folder: an existing folder with content (or a file) at -o DIR is refused without
  // --force and left as it was; with --force the restored folder takes its place.
  const site = join(dir, 'site')
  mkdirSync(join(site, 'sub'), { recursive: true })
  writeFileSync(join(site, 'index.html'), 'new\n')
  writeFileSync(join(site, 'sub', 'a.txt'), 'a\n')
  const folder = json<Put>(await fleek(['content', 'put', site, '--json']))
  const restored = join(dir, 'restored')
  mkdirSync(restored)
  writeFileSync(join(restored, 'old.txt'), 'old\n')
  refused(await fleek(['content', 'get', folder.hash, '-o', restored]), 4, /already exists \(use --force/)
  assert.deepEqual(readdirSync(restored), ['old.txt'])
  const replaced = json<{ files: number }>(
    await fleek(['content', 'get', folder.hash, '-o', restored, '--force', '--json']),
  )
  assert.equal(replaced.files, 2)
  assert.deepEqual(readdirSync(restored).sort(), ['index.html', 'sub'])
  assert.equal(readFileSync(join(restored, 'sub', 'a.txt'), 'utf8'), 'a\n')
  const asFile = join(dir, 'was-a-file')
  writeFileSync(asFile, 'x')
  refused(await fleek(['content', 'get', folder.hash, '-o', asFile]), 4, /already exists/)
  assert.equal(readFileSync(asFile, 'utf8'), 'x')
  assert.equal((await fleek(['content', 'get', folder.hash, '-o', asFile, '--force'])).code, 0)
  assert.deepEqual(readdirSync(asFile).sort(), ['index.html', 'sub'])
  // An empty folder is no content to lose: it is filled without --force. No leftovers beside.
  const empty = join(dir, 'empty')
  mkdirSync(empty)
  assert.equal((await fleek(['content', 'get', folder.hash, '-o', empty])).code, 0)
  assert.deepEqual(readdirSync(empty).sort(), ['index.html', 'sub'])
  assert.deepEqual(
    readdirSync(dir).filter((n) => n.startsWith('.')),
    [],
    'no temporary files or folders left',
  )
})

test('pin, unpin, rm', async (t) => {
  const { dir, fleek } = setup(t)
  const file = join(dir, 'x')
  writeFileSync(file, 'pin me\n')
  const put = json<Put>(await fleek(['content', 'put', file, '--json', '--pin']))
  assert.equal(put.pinned, true)
  refused(await fleek(['content', 'rm', put.hash]), 10, /is pinned: unpin it first/)
  assert.deepEqual(json(await fleek(['content', 'unpin', put.cid, '--json'])), {
    hash: put.hash,
    pinned: false,
  })
  assert.deepEqual(json(await fleek(['content', 'pin', put.hash, '--json'])), {
    hash: put.hash,
    pinned: true,
  })
  assert.equal(
    json<{ blobs: Array<{ pinned: boolean }> }>(await fleek(['content', 'ls', '--json'])).blobs[0].pinned,
    true,
  )
  assert.deepEqual(json(await fleek(['content', 'rm', put.hash, '--force', '--json'])), {
    hash: put.hash,
    sizeBytes: 7,
    removed: true,
  })
  refused(await fleek(['content', 'rm', put.hash]), 3, new RegExp(`no blob ${put.hash}`))
  refused(await fleek(['content', 'get', put.hash, '-o', join(dir, 'gone')]), 3, /no blob/)
  assert.equal(existsSync(join(dir, 'gone')), false)
})

test('bad hashes: malformed, sha2-256 CID, unknown', async (t) => {
  const { dir, fleek } = setup(t)
  const sha256Cid = CID.createV1(0x55, Digest.create(0x12, new Uint8Array(32).fill(1))).toString()
  const never = ['-o', join(dir, 'never')]
  refused(await fleek(['content', 'get', 'not-a-hash', ...never]), 5, /neither 64 hex digits nor a CID/)
  refused(await fleek(['content', 'get', 'abc123', ...never]), 5, /64 hex digits/)
  refused(
    await fleek(['content', 'get', sha256Cid, ...never]),
    5,
    /sha2-256 CID: fetching it needs an origin fetch/,
  )
  const absent = toHex(hash(Buffer.from('absent')))
  // No home yet: said so, and none is made.
  refused(
    await fleek(['content', 'get', absent, ...never]),
    3,
    /^fleek: no fleek home at .*: run `fleek init`$/,
  )
  writeFileSync(join(dir, 'x.bin'), 'x')
  assert.equal((await fleek(['content', 'put', join(dir, 'x.bin')])).code, 0)
  refused(await fleek(['content', 'get', absent, ...never]), 3, /no blob [0-9a-f]{64}/)
  // Every other command that takes a hash parses it the same way.
  refused(await fleek(['content', 'verify', sha256Cid]), 5, /sha2-256 CID/)
  refused(await fleek(['content', 'pin', 'xyz']), 5, /not a content ID/)
  refused(await fleek(['content', 'unpin', absent]), 3, /no blob/)
  refused(await fleek(['content', 'verify', absent]), 3, /no blob/)
  assert.equal(existsSync(join(dir, 'never')), false)
  refused(await fleek(['content', 'put', join(dir, 'x'), '--expect', 'zzz']), 5, /not a content ID/)
})

test('corruption and truncation on disk: exit 9 naming the block, no corrupt bytes written', async (t) => {
  const { dir, home, fleek } = setup(t)
  const data = bytesOf(4 * BLOCK, 4)
  const file = join(dir, 'd.bin')
  writeFileSync(file, data)
  const put = json<Put>(await fleek(['content', 'put', file, '--json']))
  const blob = join(home, 'data/blockstore/blobs', put.hash.slice(0, 2), put.hash)
  const damaged = Buffer.from(data)
  damaged[2 * BLOCK + 9] ^= 1
  writeFileSync(blob, damaged)

  refused(await fleek(['content', 'verify', put.hash]), 9, /corrupt on disk: block 2 does not match its hash/)
  const verifyJson = await fleek(['content', 'verify', put.hash, '--json'])
  assert.equal(verifyJson.code, 9)
  assert.deepEqual(JSON.parse(verifyJson.stdout).error.block, 2)
  const out = join(dir, 'out.bin')
  refused(await fleek(['content', 'get', put.hash, '-o', out]), 9, /block 2/)
  assert.equal(existsSync(out), false, 'no partial file')
  assert.deepEqual(readdirSync(dir).sort(), ['d.bin', 'home'], 'no temporary file left')
  // To stdout: the verified blocks before the bad one may go out, never the bad one.
  const piped = sh(`$FLEEK content get ${put.hash} -o - --home "$H" | wc -c`, { H: home })
  assert.equal(piped.code, 9)
  assert.equal(Number(piped.stdout.trim()), 2 * BLOCK)

  truncateSync(blob, 3 * BLOCK - 10)
  refused(await fleek(['content', 'get', put.hash, '-o', out]), 9, /truncated on disk: block 2/)
  assert.equal(existsSync(out), false)
})

test('input refusals: missing file, --expect mismatch, --json with -o -, a terminal', async (t) => {
  const { dir, home, fleek } = setup(t)
  refused(await fleek(['content', 'put', join(dir, 'missing')]), 3, /cannot read .*missing: no such file/)
  refused(await fleek(['content', 'hash', join(dir, 'missing')]), 3, /no such file/)
  const file = join(dir, 'f')
  writeFileSync(file, 'some bytes\n')
  const other = toHex(hash(Buffer.from('other')))
  refused(await fleek(['content', 'put', file, '--expect', other]), 9, /does not match the expected hash/)
  assert.equal(json<{ count: number }>(await fleek(['content', 'ls', '--json'])).count, 0, 'nothing stored')
  const put = json<Put>(
    await fleek(['content', 'put', file, '--json', '--expect', toHex(hash(readFileSync(file)))]),
  )
  const both = await fleek(['content', 'get', put.hash, '-o', '-', '--json'])
  assert.equal(both.code, 2)
  assert.match(JSON.parse(both.stdout).error.message, /--json needs -o FILE/)

  if (process.getuid?.() !== 0) {
    const locked = join(dir, 'locked')
    writeFileSync(locked, 'x', { mode: 0o000 })
    refused(await fleek(['content', 'put', locked]), 7, /permission denied/)
  } else t.diagnostic('unreadable-file case skipped: running as root, which reads any file')

  // A terminal on stdout: refused without -o (script(1) gives the child a pty).
  const script = spawnSync('script', ['--version'], { encoding: 'utf8' })
  if (script.error !== undefined) {
    t.diagnostic('terminal case skipped: script(1) is not installed')
    return
  }
  const tty = sh(`script -qec "$FLEEK content get ${put.hash} --home $H" /dev/null`, { H: home })
  assert.notEqual(tty.code, 0)
  assert.match(tty.stdout, /refusing to write binary content to a terminal/)
  assert.doesNotMatch(tty.stdout, /some bytes/)
  // A transfer over a few MiB shows a progress bar on a terminal (and none in a pipe, checked above).
  const big = join(dir, 'big')
  writeFileSync(big, bytesOf(8 << 20, 8))
  const bar = sh(`script -qec "$FLEEK content put $F --home $H" /dev/null`, { H: home, F: big })
  assert.equal(bar.code, 0, bar.stdout)
  assert.match(bar.stdout, /storing \[#*-*\] \d+%/)
  assert.match(bar.stdout, new RegExp(`hash  ${toHex(hash(readFileSync(big)))}`))
})

test('kill -9 during a put leaves no visible blob, and the next command cleans up', async (t) => {
  const { home, fleek } = setup(t)
  const child = spawn(process.execPath, [fleekBin, 'content', 'put', '-', '--home', home], {
    stdio: ['pipe', 'ignore', 'ignore'],
  })
  const exited = new Promise((resolve) => child.on('close', resolve))
  t.after(() => child.kill('SIGKILL'))
  child.stdin.on('error', () => undefined) // the pipe breaks when the process is killed
  child.stdin.write(bytesOf(3 * BLOCK, 9))
  // Wait (bounded) until the half-written blob exists in tmp/, then kill the process mid-put.
  const tmp = join(home, 'data/blockstore/tmp')
  const deadline = Date.now() + 30_000
  const written = (): number =>
    existsSync(tmp) ? readdirSync(tmp).reduce((sum, f) => sum + statSync(join(tmp, f)).size, 0) : 0
  // stdin stays open, so the put cannot finish: it is caught with bytes written and more to come.
  while (written() < 2 * BLOCK) {
    assert.ok(Date.now() < deadline, 'the put never started writing')
    await new Promise((resolve) => setImmediate(resolve))
  }
  child.kill('SIGKILL')
  await exited
  assert.ok(readdirSync(tmp).length > 0, 'the killed put left its temporary file')
  const ls = json<{ count: number }>(await fleek(['content', 'ls', '--json']))
  assert.equal(ls.count, 0, 'nothing visible')
  assert.deepEqual(readdirSync(tmp), [], 'the dead process’s temporary file is removed at open')
})

test('the size budget from the config evicts least-recently-used unpinned blobs', async (t) => {
  const { dir, home } = setup(t)
  const env = { FLEEK_BLOCKSTORE_MAX_SIZE_BYTES: '3000' }
  const fleek = (args: string[]): Promise<RunResult> => runFleek([...args, '--home', home], { env })
  const files = [1, 2, 3].map((i) => {
    const path = join(dir, `f${i}`)
    writeFileSync(path, bytesOf(1000, i))
    return path
  })
  const puts: Put[] = []
  for (const f of files) puts.push(json<Put>(await fleek(['content', 'put', f, '--json'])))
  assert.equal(json<{ totalBytes: number }>(await fleek(['content', 'ls', '--json'])).totalBytes, 3000)
  assert.equal((await fleek(['content', 'pin', puts[0].hash])).code, 0) // the oldest, pinned
  const fourth = join(dir, 'f4')
  writeFileSync(fourth, bytesOf(1000, 4))
  const put = json<Put & { evicted: string[] }>(await fleek(['content', 'put', fourth, '--json']))
  assert.deepEqual(put.evicted, [puts[1].hash], 'the least recently used unpinned blob goes')
  const ls = json<{ blobs: Array<{ hash: string }>; totalBytes: number; maxSizeBytes: number }>(
    await fleek(['content', 'ls', '--json']),
  )
  assert.deepEqual(ls.blobs.map((x) => x.hash).sort(), [puts[0].hash, puts[2].hash, put.hash].sort())
  assert.deepEqual([ls.totalBytes, ls.maxSizeBytes], [3000, 3000])
})
