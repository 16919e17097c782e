import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { isFleekError } from '../../../../src/lib/errors.ts'
import {
  Application,
  createDevnetGenesis,
  parseGenesis,
  serializeGenesis,
  type Genesis,
} from '../../../../src/node/application/index.ts'
import { MemoryStorage } from '../../../../src/node/storage/index.ts'
import { FLK, makeAccount, makeNode } from './fixtures.ts'

function devnet(count = 2, withProofs = false): Genesis {
  const owner = makeAccount('owner')
  return createDevnetGenesis({
    nodes: Array.from({ length: count }, (_, i) => {
      const n = makeNode(String(i))
      return {
        owner: owner.address,
        publicKey: n.publicKey,
        consensusKey: n.consensusKey,
        ...(withProofs && { consensusKeyProof: n.consensusKeyProof }),
        host: `10.0.0.${i}`,
      }
    }),
    chainId: 77,
    epochTimeMs: 120_000,
    epochStartMs: 1_700_000_000_000,
    faucet: true,
  })
}

function expectGenesisError(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseGenesis(text),
    (err: unknown) => {
      assert.ok(isFleekError(err, 'INVALID_INPUT'), String(err))
      assert.match((err as Error).message, pattern)
      assert.ok(!(err as Error).message.includes('\n'), 'one line')
      return true
    },
  )
}

describe('genesis', () => {
  test('createDevnetGenesis stakes every node with the minimum, puts them in the committee, funds the owner', () => {
    const g = devnet(2)
    assert.equal(g.chainId, 77)
    assert.equal(g.params.epochTimeMs, 120_000)
    assert.equal(g.faucet, true)
    assert.equal(g.devnet, true)
    assert.deepEqual(
      g.nodes.map((n) => [n.stake, n.committee]),
      [
        [1000n * FLK, true],
        [1000n * FLK, true],
      ],
    )
    assert.equal(g.accounts.length, 1)
    assert.equal(g.accounts[0].flk, 10_000n * FLK)
    assert.equal(g.governanceAddress, g.accounts[0].address)
  })

  test('serialize then parse gives the same genesis', () => {
    const g = devnet(3)
    const text = serializeGenesis(g)
    assert.match(text, /chain_id = 77/)
    assert.match(text, /\[\[node\]\]/)
    assert.match(text, /^devnet = true$/m)
    assert.deepEqual(parseGenesis(text), g)
    // A genesis that is not a devnet's round-trips without the marker.
    const network = devnet(2, true)
    delete network.devnet
    const networkText = serializeGenesis(network)
    assert.doesNotMatch(networkText, /devnet/)
    assert.deepEqual(parseGenesis(networkText), network)
    assert.deepEqual(parseGenesis(networkText.replace(/^faucet = /m, 'devnet = false\nfaucet = ')), network)
  })

  test('a minimal hand-written file gets the default parameters and ports', () => {
    const n = makeNode('x')
    const g = devnet(1)
    const text = [
      'chain_id = 5',
      `governance_address = "${g.governanceAddress.toUpperCase().replace('0X', '0x')}"`,
      `protocol_fund_address = "${g.governanceAddress}"`,
      '[[node]]',
      `owner = "${g.governanceAddress}"`,
      `public_key = "${serializeGenesis(g).match(/public_key = "(\w+)"/)?.[1]}"`,
      `consensus_key = "${Buffer.from(n.consensusKey).toString('hex')}"`,
      `consensus_key_proof = "${Buffer.from(n.consensusKeyProof).toString('hex')}"`,
      'host = "example.org"',
      'stake = "1000.5"',
      'committee = true',
    ].join('\n')
    const parsed = parseGenesis(text)
    assert.equal(parsed.chainId, 5)
    assert.equal(parsed.nodes[0].stake, 1000n * FLK + FLK / 2n)
    assert.equal(parsed.nodes[0].ports.primary, 4310)
    assert.equal(parsed.params.committeeSize, 4)
    assert.equal(parsed.faucet, false)
    assert.equal(parsed.devnet, undefined)
  })

  test('bad files fail with one line naming the field', () => {
    const good = serializeGenesis(devnet(1))
    expectGenesisError('chain_id = [', /not valid TOML/)
    expectGenesisError(good.replace(/^chain_id = .*$/m, ''), /chain_id is missing/)
    expectGenesisError(good.replace(/^chain_id = .*$/m, 'chain_id = -1'), /chain_id must be an integer/)
    expectGenesisError('colour = 1\n' + good, /unknown field colour/)
    expectGenesisError(
      good.replace(/^devnet = true$/m, 'devnet = "yes"'),
      /^genesis: devnet must be true or false$/,
    )
    expectGenesisError(
      good.replace(/public_key = ".*"/, 'public_key = "0OIl"'),
      /node\[0\]\.public_key must be a base58/,
    )
    expectGenesisError(
      good.replace(/consensus_key = ".*"/, 'consensus_key = "abcd"'),
      /node\[0\]\.consensus_key must be 48 bytes/,
    )
    expectGenesisError(good.replace(/^flk = ".*"$/m, 'flk = "1,5"'), /account\[0\]\.flk/)
    expectGenesisError(good.replace(/^usd = ".*"$/m, 'usd = "0.0000001"'), /more than 6 decimals/)
    expectGenesisError(
      good.replace(/^governance_address = "0x(.)/m, 'governance_address = "0xZ'),
      /governance_address/,
    )
    expectGenesisError(
      good.replace('committee = true', 'committee = false'),
      /at least one node must have committee = true/,
    )
    expectGenesisError(
      good.replace(/^stake = ".*"$/m, 'stake = "10"'),
      /node\[0\]\.stake is below params.min_stake/,
    )
    expectGenesisError(good.replace(/^node_share = .*$/m, 'node_share = 90'), /at most 100/)
    expectGenesisError(good.replace(/^committee_size = .*$/m, 'committee_size = 0'), /committeeSize must be/)
    expectGenesisError(good.replace(/^primary = .*$/m, 'primary = 70000'), /node\[0\]\.ports\.primary/)
    expectGenesisError(
      good.replace('[[node]]', '[[node]]\nnickname = "x"'),
      /unknown field node\[0\]\.nickname/,
    )
    expectGenesisError(
      good.replace(/commodity_type = ".*"/, 'commodity_type = "storage"'),
      /service\[0\]\.commodity_type/,
    )
    const twice = good + good.slice(good.indexOf('[[node]]'), good.indexOf('[[service]]'))
    expectGenesisError(twice, /node\[1\]\.public_key appears twice/)
  })

  test('a devnet’s consensus_key_proof is optional, and checked when present', () => {
    const plain = serializeGenesis(devnet(2))
    assert.doesNotMatch(plain, /consensus_key_proof/)
    assert.equal(parseGenesis(plain).nodes.length, 2)
    const g = devnet(2, true)
    const text = serializeGenesis(g)
    assert.equal(text.match(/^consensus_key_proof = "[0-9a-f]{192}"$/gm)?.length, 2)
    assert.deepEqual(parseGenesis(text), g)
    const proofs = [...text.matchAll(/^consensus_key_proof = "([0-9a-f]+)"$/gm)].map((m) => m[1])
    // node 1 carrying node 0's proof
    expectGenesisError(
      text.replace(proofs[1], proofs[0]),
      /node\[1\]\.consensus_key_proof is not a proof of possession of node\[1\]\.consensus_key/,
    )
    expectGenesisError(
      text.replace(proofs[0], 'ab'.repeat(96)),
      /node\[0\]\.consensus_key_proof is not a proof of possession/,
    )
    expectGenesisError(text.replace(proofs[0], 'abcd'), /node\[0\]\.consensus_key_proof must be 96 bytes/)
    assert.throws(
      () =>
        serializeGenesis({
          ...g,
          nodes: [{ ...g.nodes[0], consensusKeyProof: g.nodes[1].consensusKeyProof }],
        }),
      (err: unknown) => isFleekError(err, 'INVALID_INPUT'),
    )
  })

  test('a genesis that is not a devnet’s must prove every consensus key, refused in one line naming the node', () => {
    const text = serializeGenesis(devnet(3, true)).replace(/^devnet = true\n/m, '')
    assert.doesNotMatch(text, /devnet/)
    const network = parseGenesis(text)
    assert.equal(network.devnet, undefined)
    assert.equal(network.nodes.filter((n) => n.consensusKeyProof !== undefined).length, 3)
    const proofs = [...text.matchAll(/^consensus_key_proof = "([0-9a-f]+)"$/gm)].map((m) => m[1])
    // Each node's proof missing in turn: the error names that node.
    for (const i of [0, 1, 2])
      expectGenesisError(
        text.replace(`consensus_key_proof = "${proofs[i]}"\n`, ''),
        new RegExp(
          `^genesis: node\\[${i}\\]\\.consensus_key_proof is missing \\(required unless devnet = true`,
        ),
      )
    // A bad proof: another node's, or bytes that are no signature at all.
    expectGenesisError(
      text.replace(proofs[2], proofs[1]),
      /^genesis: node\[2\]\.consensus_key_proof is not a proof of possession of node\[2\]\.consensus_key$/,
    )
    expectGenesisError(
      text.replace(proofs[1], '00'.repeat(96)),
      /^genesis: node\[1\]\.consensus_key_proof is not/,
    )
    // devnet = false is no devnet either.
    expectGenesisError(
      serializeGenesis(devnet(1)).replace(/^devnet = true$/m, 'devnet = false'),
      /node\[0\]\.consensus_key_proof is missing/,
    )
    // validateGenesis (and so serializeGenesis) applies the same rule to a genesis built in code.
    const unproven = devnet(2)
    delete unproven.devnet
    assert.throws(
      () => serializeGenesis(unproven),
      (err: unknown) =>
        isFleekError(err, 'INVALID_INPUT') && /node\[0\]\.consensus_key_proof is missing/.test(String(err)),
    )
  })

  test('an application refuses a database that belongs to another genesis', () => {
    const storage = new MemoryStorage()
    const g = devnet(1)
    const first = Application.open(storage, g)
    // Opening again with the same genesis keeps the state.
    assert.deepEqual(Application.open(storage, g).stateRoot(), first.stateRoot())
    assert.throws(
      () => Application.open(storage, { ...g, chainId: 78 }),
      (err: unknown) => isFleekError(err, 'INVALID_INPUT') && /another chain/.test((err as Error).message),
    )
  })

  test('the genesis state holds the accounts, nodes, committee, params and services', () => {
    const g = devnet(2)
    const app = Application.open(new MemoryStorage(), g)
    assert.equal(app.chainId(), 77)
    assert.equal(app.height(), 0)
    assert.equal(app.account(g.accounts[0].address).flk, 10_000n * FLK)
    assert.equal(app.nodes().length, 2)
    assert.equal(app.node(g.nodes[0].publicKey)?.participation, 'true')
    assert.deepEqual(app.epochInfo().committee, [g.nodes[0].publicKey, g.nodes[1].publicKey])
    assert.equal(app.epochInfo().epochEndMs, g.epochStartMs + 120_000)
    assert.deepEqual(app.params(), g.params)
    assert.deepEqual(
      app.services().map((s) => s.commodityType),
      ['bandwidth', 'compute'],
    )
    assert.deepEqual(app.block(0)?.stateRoot, app.stateRoot())
  })
})
