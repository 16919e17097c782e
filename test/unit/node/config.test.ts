import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parse } from 'smol-toml'

import { defaultConfig, renderDefaultConfig, resolveConfig } from '../../../src/node/config.ts'
import { isFleekError } from '../../../src/lib/errors.ts'

test('precedence: defaults < file < env < flags, one field at each level', () => {
  const fileText = '[rpc]\nport = 5000\naddress = "127.0.0.2"\nmax_body_bytes = 4096\n'
  const env = { FLEEK_RPC_PORT: '6000', FLEEK_RPC_ADDRESS: '127.0.0.3' }
  const flags = { 'rpc.port': 7000 }
  const c = resolveConfig({ fileText, env, flags })
  assert.equal(c.rpc.port, 7000) // flag beats env and file
  assert.equal(c.rpc.address, '127.0.0.3') // env beats file
  assert.equal(c.rpc.maxBodyBytes, 4096) // file beats default
  assert.equal(c.log.level, defaultConfig().log.level) // default stays
})

test('env and flag strings are parsed to the field type', () => {
  const c = resolveConfig({
    env: {
      FLEEK_KEYSTORE_KEYCHAIN: 'yes',
      FLEEK_NETWORK_BOOTSTRAP: '/ip4/127.0.0.1/tcp/1/p2p/a, /ip4/127.0.0.1/tcp/2/p2p/b',
    },
    flags: { 'rpc.port': '4321' },
  })
  assert.equal(c.keystore.keychain, true)
  assert.deepEqual(c.network.bootstrap, ['/ip4/127.0.0.1/tcp/1/p2p/a', '/ip4/127.0.0.1/tcp/2/p2p/b'])
  assert.equal(c.rpc.port, 4321)
})

test('the rendered default config parses back to the defaults, with a comment per field', () => {
  const text = renderDefaultConfig()
  assert.deepEqual(resolveConfig({ fileText: text }), defaultConfig())
  const doc = parse(text) as Record<string, Record<string, unknown>>
  for (const [section, fields] of Object.entries(doc)) {
    for (const key of Object.keys(fields)) {
      const at = text.indexOf(`\n${key} = `, text.indexOf(`[${section}]`))
      assert.ok(
        text.slice(0, at).trimEnd().split('\n').at(-1)?.startsWith('#'),
        `${section}.${key} has no comment`,
      )
    }
  }
})

test('bad values are refused with one line naming them', () => {
  const cases: Array<[Parameters<typeof resolveConfig>[0], RegExp]> = [
    [{ fileText: '[rpc\nport=1' }, /not valid TOML/],
    [{ fileText: '[nope]\nx = 1' }, /unknown section \[nope\]/],
    [{ fileText: '[rpc]\nprot = 1' }, /unknown key rpc\.prot/],
    [{ fileText: '[rpc]\nport = "80"' }, /rpc\.port: expected an integer/],
    [{ fileText: '[rpc]\nport = 70000' }, /out of range/],
    [{ env: { FLEEK_RPC_PORT: 'eighty' } }, /FLEEK_RPC_PORT: expected an integer/],
    [{ env: { FLEEK_KEYSTORE_KEYCHAIN: 'maybe' } }, /expected true or false/],
    [{ fileText: '[log]\nlevel = "loud"' }, /expected one of/],
  ]
  for (const [sources, message] of cases) {
    assert.throws(
      () => resolveConfig(sources),
      (err) => isFleekError(err, 'INVALID_INPUT') && message.test(err.message) && !err.message.includes('\n'),
      String(message),
    )
  }
})
