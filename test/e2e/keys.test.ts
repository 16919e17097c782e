// `fleek init` and `fleek keys …` through the real binary: the happy path, every refusal (exit code
// and one-line message), nothing overwritten, and the file modes.
import assert from 'node:assert/strict'
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { base58btc } from 'multiformats/bases/base58'

import { json, runFleek, scratchDir } from '../helpers/cli.ts'

const PASS = 'correct horse battery staple'
const mode = (path: string): number => statSync(path).mode & 0o777

interface Ids {
  node: { publicKey: string; peerId: string; encrypted: boolean }
  consensus: { publicKey: string; encrypted: boolean }
  account: { address: string; publicKey: string; encrypted: boolean }
}

/** Asserts a refusal: the exit code, one line on stderr matching `message`, nothing on stdout. */
function refused(
  r: { code: number | null; stdout: string; stderr: string },
  code: number,
  message: RegExp,
): void {
  assert.equal(r.code, code, `exit code (stderr: ${r.stderr})`)
  assert.equal(r.stdout, '')
  const lines = r.stderr.trimEnd().split('\n')
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`)
  assert.match(lines[0], message)
  assert.doesNotMatch(r.stderr, /at .*\.(js|ts):\d+/, 'no stack trace')
}

test('help lists the topics, version prints', async () => {
  const help = await runFleek(['--help'])
  assert.equal(help.code, 0)
  assert.match(help.stdout, /\binit\b/)
  assert.match(help.stdout, /\bkeys\b/)
  const version = await runFleek(['--version'])
  assert.equal(version.code, 0)
  assert.match(version.stdout, /^fleek\/\d+\.\d+\.\d+/)
  const keysHelp = await runFleek(['keys', '--help'])
  for (const verb of ['generate', 'show', 'export', 'import'])
    assert.match(keysHelp.stdout, new RegExp(`keys ${verb}`))
})

test('init → show → export/import round trip → refusals → modes', async (t) => {
  const dir = scratchDir(t)
  const home = join(dir, 'home')
  const env = { FLEEK_HOME: home, FLEEK_KEY_PASSPHRASE: PASS }

  // init creates the home, config and encrypted keys.
  const init = json<{ home: string; created: string[]; keys: Ids }>(
    await runFleek(['init', '--json'], { env }),
  )
  assert.deepEqual(init.created, ['node', 'consensus', 'account'])
  assert.equal(init.keys.node.encrypted, true)
  assert.equal(mode(home), 0o700)
  assert.equal(mode(join(home, 'keys')), 0o700)
  for (const kind of ['node', 'consensus', 'account'])
    assert.equal(mode(join(home, 'keys', `${kind}.json`)), 0o600)
  assert.equal(mode(join(home, 'config.toml')), 0o600)
  const config = readFileSync(join(home, 'config.toml'), 'utf8')
  for (const section of ['keystore', 'storage', 'consensus', 'network', 'blockstore', 'rpc'])
    assert.match(config, new RegExp(`^\\[${section}\\]$`, 'm'))
  const keyFile = readFileSync(join(home, 'keys', 'node.json'), 'utf8')
  assert.ok(!keyFile.includes(PASS))

  // show reads public identities without the passphrase.
  const ids = json<Ids>(await runFleek(['keys', 'show', '--json'], { env: { FLEEK_HOME: home } }))
  assert.deepEqual(ids, init.keys)
  assert.match(ids.node.peerId, /^12D3KooW/)
  assert.match(ids.account.address, /^0x[0-9a-fA-F]{40}$/)
  assert.match(ids.consensus.publicKey, /^[0-9a-f]{96}$/)
  const human = await runFleek(['keys', 'show'], { env: { FLEEK_HOME: home } })
  assert.equal(human.code, 0)
  assert.ok(human.stdout.includes(ids.node.peerId) && human.stdout.includes(ids.account.address))

  // export node: PKCS#8 PEM that node:crypto reads, with the same public key.
  const nodePem = join(dir, 'node.pem')
  const exp = json<{ path: string; format: string }>(
    await runFleek(['keys', 'export', 'node', '--out', nodePem, '--json'], { env }),
  )
  assert.equal(exp.format, 'pkcs8-pem')
  assert.equal(mode(nodePem), 0o600)
  const pub = createPublicKey(createPrivateKey(readFileSync(nodePem, 'utf8'))).export({
    format: 'der',
    type: 'spki',
  })
  assert.equal(base58btc.baseEncode(pub.subarray(-32)), ids.node.publicKey)

  // export to stdout, consensus and account.
  const consensusPem = (await runFleek(['keys', 'export', 'consensus'], { env })).stdout
  assert.match(consensusPem, /BEGIN FLEEK BLS12-381 PRIVATE KEY/)
  const wallet = join(dir, 'wallet.json')
  assert.equal((await runFleek(['keys', 'export', 'account', '-o', wallet], { env })).code, 0)
  const keystoreV3 = JSON.parse(readFileSync(wallet, 'utf8')) as { version: number; address: string }
  assert.equal(keystoreV3.version, 3)
  assert.equal(`0x${keystoreV3.address.toLowerCase()}`, ids.account.address.toLowerCase())

  // import all three into a second home (plaintext there), identities match.
  const home2 = join(dir, 'home2')
  const env2 = { FLEEK_HOME: home2 }
  assert.equal((await runFleek(['init', '--no-keys'], { env: env2 })).code, 0)
  writeFileSync(join(dir, 'consensus.pem'), consensusPem)
  for (const [kind, file] of [
    ['node', nodePem],
    ['consensus', join(dir, 'consensus.pem')],
    ['account', wallet],
  ]) {
    const r = await runFleek(['keys', 'import', kind, file, '--no-encrypt', '--json'], {
      env: { ...env2, FLEEK_IMPORT_PASSPHRASE: PASS },
    })
    assert.equal(r.code, 0, r.stderr)
  }
  const ids2 = json<Ids>(await runFleek(['keys', 'show', '--json'], { env: env2 }))
  assert.equal(ids2.node.peerId, ids.node.peerId)
  assert.equal(ids2.consensus.publicKey, ids.consensus.publicKey)
  assert.equal(ids2.account.address, ids.account.address)
  assert.equal(ids2.node.encrypted, false)
  // stdin import works too.
  const viaStdin = await runFleek(['keys', 'import', 'node', '-', '--force', '--no-encrypt', '--json'], {
    env: env2,
    input: readFileSync(nodePem),
  })
  assert.equal(json<Ids>(viaStdin).node.peerId, ids.node.peerId)

  // --- refusals, each leaving the files as they were ---
  const before = readFileSync(join(home, 'keys', 'node.json'), 'utf8')
  refused(await runFleek(['init'], { env }), 4, /already exists/)
  refused(await runFleek(['keys', 'generate'], { env }), 4, /already present.*--force/)
  refused(
    await runFleek(['keys', 'export', 'node'], { env: { FLEEK_HOME: home, FLEEK_KEY_PASSPHRASE: 'wrong' } }),
    6,
    /wrong passphrase/,
  )
  refused(await runFleek(['keys', 'export', 'node'], { env: { FLEEK_HOME: home } }), 6, /encrypted/)
  refused(await runFleek(['keys', 'import', 'node', nodePem], { env }), 4, /already present.*--force/)
  refused(await runFleek(['keys', 'export', 'node', '--out', nodePem], { env }), 4, /already exists/)
  assert.equal(readFileSync(join(home, 'keys', 'node.json'), 'utf8'), before)

  // an import of something that is not a key, or the wrong type of key
  const garbage = join(dir, 'garbage.pem')
  writeFileSync(garbage, '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n')
  refused(
    await runFleek(['keys', 'import', 'node', garbage, '--force', '--no-encrypt'], { env: env2 }),
    5,
    /./,
  )
  refused(
    await runFleek(['keys', 'import', 'node', join(dir, 'consensus.pem'), '--force', '--no-encrypt'], {
      env: env2,
    }),
    5,
    /./,
  )
  refused(
    await runFleek(['keys', 'import', 'node', join(dir, 'missing.pem'), '--force'], { env: env2 }),
    3,
    /no such file/,
  )
  assert.equal(
    json<Ids>(await runFleek(['keys', 'show', '--json'], { env: env2 })).node.peerId,
    ids.node.peerId,
  )

  // a truncated, a corrupted and a wrong-type key file at rest
  const keyPath = join(home2, 'keys', 'node.json')
  const good = readFileSync(keyPath, 'utf8')
  writeFileSync(keyPath, good.slice(0, Math.floor(good.length / 2)))
  refused(await runFleek(['keys', 'export', 'node'], { env: env2 }), 5, /./)
  const flipped = good.replace(
    /"secretKey":\s*"([0-9a-f])/,
    (_m, c: string) => `"secretKey": "${c === '0' ? '1' : '0'}`,
  )
  assert.notEqual(flipped, good)
  writeFileSync(keyPath, flipped)
  refused(await runFleek(['keys', 'export', 'node'], { env: env2 }), 5, /./)
  writeFileSync(keyPath, readFileSync(join(home2, 'keys', 'consensus.json')))
  refused(await runFleek(['keys', 'export', 'node'], { env: env2 }), 5, /consensus/)

  // no passphrase source off a TTY: refuse rather than store plaintext silently
  refused(
    await runFleek(['init'], { env: { FLEEK_HOME: join(dir, 'home3') } }),
    2,
    /FLEEK_KEY_PASSPHRASE.*--no-encrypt/,
  )
  // a bad argument is a usage error
  refused(await runFleek(['keys', 'export', 'wallet'], { env }), 2, /wallet/)
  // --json errors are JSON on stdout
  const jsonErr = await runFleek(['keys', 'generate', '--json'], { env })
  assert.equal(jsonErr.code, 4)
  assert.equal((JSON.parse(jsonErr.stdout) as { error: { code: string } }).error.code, 'EXISTS')
})

test('a passphrase file works, and --force on generate replaces the keys', async (t) => {
  const dir = scratchDir(t)
  const home = join(dir, 'home')
  const passFile = join(dir, 'pass.txt')
  writeFileSync(passFile, `${PASS}\n`)
  const env = { FLEEK_HOME: home }
  const first = json<{ keys: Ids }>(
    await runFleek(['init', '--passphrase-file', passFile, '--json'], { env }),
  )
  const again = json<Ids>(
    await runFleek(['keys', 'generate', '--force', '--passphrase-file', passFile, '--json'], { env }),
  )
  assert.notEqual(again.node.peerId, first.keys.node.peerId)
  const exported = await runFleek(['keys', 'export', 'node', '--passphrase-file', passFile], { env })
  assert.equal(exported.code, 0)
  assert.match(exported.stdout, /BEGIN PRIVATE KEY/)
})
