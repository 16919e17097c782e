/**
 * The application on a real lmdb database: a stream of transactions, close and reopen, replay in a
 * fresh store, a crash inside the block's database transaction, and a `kill -9` of a process executing
 * blocks. When FLEEK_APP_CHILD is set this file is that process instead of a test.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, describe, test } from 'node:test'
import { toHex } from '../../src/lib/b3/index.ts'
import type { MethodCall } from '../../src/lib/tx/index.ts'
import { Application, defaultNodePorts } from '../../src/node/application/index.ts'
import { MemoryStorage, openLmdbStorage, type Storage } from '../../src/node/storage/index.ts'
import {
  EPOCH_MS,
  FLK,
  START_MS,
  accountTx,
  createNetwork,
  makeAccount,
  makeNode,
  nodeTx,
  type Network,
} from '../unit/node/application/fixtures.ts'

interface Block {
  transactions: Uint8Array[]
  timestampMs: number
}

/** A deterministic stream of blocks: transfers, stake, reputation, DACKs, garbage and epoch changes. */
function* generateBlocks(net: Network): Generator<Block> {
  const bob = makeAccount('bob')
  const newcomer = makeNode('newcomer')
  let epoch = 0
  for (let i = 1; ; i++) {
    const txs: Uint8Array[] = [
      accountTx(net.owner, {
        method: 'Transfer',
        args: { to: bob.address, token: 'flk', amount: BigInt(i) * FLK },
      }),
    ]
    if (i === 2) {
      const register: MethodCall = {
        method: 'Stake',
        args: {
          amount: 1500n * FLK,
          node: newcomer.publicKey,
          consensusKey: newcomer.consensusKey,
          consensusKeyProof: newcomer.consensusKeyProof,
          host: '127.0.0.1',
          ports: defaultNodePorts,
        },
      }
      txs.push(accountTx(net.owner, register), nodeTx(newcomer, { method: 'OptIn', args: {} }))
    }
    if (i % 3 === 0) {
      const [a, b] = net.nodes
      txs.push(
        nodeTx(a, {
          method: 'SubmitDeliveryAcknowledgmentAggregation',
          args: { serviceId: i % 2, commodity: BigInt(100 * i), proofs: [] },
        }),
        nodeTx(b, {
          method: 'SubmitReputationMeasurements',
          args: { measurements: [{ node: a.publicKey, latencyMs: i }] },
        }),
      )
    }
    if (i % 4 === 0)
      txs.push(
        accountTx(bob, { method: 'Transfer', args: { to: net.owner.address, token: 'flk', amount: FLK } }),
      )
    if (i % 5 === 0) txs.push(new Uint8Array([i])) // garbage gets a MALFORMED receipt
    const timestampMs = START_MS + i * (EPOCH_MS / 4)
    if (timestampMs >= START_MS + (epoch + 1) * EPOCH_MS) {
      // The newcomer votes too: outside the committee in epoch 0 (a failed vote), a member afterwards.
      for (const n of [...net.nodes, newcomer])
        txs.push(nodeTx(n, { method: 'ChangeEpoch', args: { epoch } }))
      epoch++
    }
    yield { transactions: txs, timestampMs }
  }
}

function makeBlocks(net: Network, count: number): Block[] {
  const blocks: Block[] = []
  for (const block of generateBlocks(net)) {
    if (blocks.length === count) break
    blocks.push(block)
  }
  return blocks
}

function openNetwork(storage: Storage): Network {
  return createNetwork(2, { storage })
}

if (process.env.FLEEK_APP_CHILD !== undefined) {
  // Child: execute blocks until killed, printing each height once it is committed.
  const net = openNetwork(openLmdbStorage(process.env.FLEEK_APP_CHILD))
  for (const block of generateBlocks(createNetwork(2))) {
    const result = net.app.executeBlock(block)
    process.stdout.write(`${result.height} ${toHex(result.stateRoot)}\n`)
  }
} else {
  const dirs: string[] = []
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  const tempDb = () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleek-app-'))
    dirs.push(dir)
    return join(dir, 'state')
  }

  describe('application on lmdb', () => {
    test('a stream of blocks, close and reopen: same root and state; a fresh store replays to the same root', async () => {
      const path = tempDb()
      const blocks = makeBlocks(createNetwork(2), 24)
      const storage = openLmdbStorage(path)
      const net = openNetwork(storage)
      let statuses = new Map<string, number>()
      for (const block of blocks) {
        for (const r of net.app.executeBlock(block).receipts) {
          const key = `${r.status}${r.reason ? ':' + r.reason : ''}`
          statuses.set(key, (statuses.get(key) ?? 0) + 1)
        }
      }
      statuses = new Map([...statuses].sort())
      assert.ok((statuses.get('success') ?? 0) > 40, JSON.stringify([...statuses]))
      assert.equal(statuses.get('rejected:MALFORMED'), 4)
      assert.ok(
        net.app.epochInfo().epoch >= 5,
        `epoch ${net.app.epochInfo().epoch} ${JSON.stringify([...statuses])}`,
      )
      assert.ok(net.app.node(makeNode('newcomer').publicKey))
      const root = net.app.stateRoot()
      const bob = net.app.account(makeAccount('bob').address)
      const height = net.app.height()
      await storage.close()

      const reopened = openLmdbStorage(path)
      const again = openNetwork(reopened)
      assert.deepEqual(again.app.stateRoot(), root)
      assert.equal(again.app.height(), height)
      assert.deepEqual(again.app.account(makeAccount('bob').address), bob)
      assert.deepEqual(again.app.block(height)?.stateRoot, root)
      // Execution continues from the reopened state.
      const next = again.app.executeBlock({ transactions: [], timestampMs: START_MS + 10 * EPOCH_MS })
      assert.deepEqual(next.prevStateRoot, root)
      await reopened.close()

      for (const storage of [openLmdbStorage(tempDb()), new MemoryStorage()]) {
        const replay = openNetwork(storage)
        for (const block of blocks) replay.app.executeBlock(block)
        assert.deepEqual(replay.app.stateRoot(), root)
        await storage.close()
      }
    })

    test('a crash inside the block transaction leaves the previous state intact', async () => {
      const path = tempDb()
      const blocks = makeBlocks(createNetwork(2), 3)
      const storage = openLmdbStorage(path)
      const net = openNetwork(storage)
      net.app.executeBlock(blocks[0])
      const root = net.app.stateRoot()
      // A storage whose transaction dies after the block's writes, before the commit.
      const crashing: Storage = {
        table: (name) => storage.table(name),
        readView: (tables) => storage.readView(tables),
        transaction: (fn) =>
          storage.transaction(() => {
            fn()
            throw new Error('simulated crash')
          }),
        close: () => storage.close(),
      }
      const doomed = Application.open(crashing, net.genesis)
      assert.throws(() => doomed.executeBlock(blocks[1]), /simulated crash/)
      assert.deepEqual(net.app.stateRoot(), root)
      assert.equal(net.app.height(), 1)
      assert.equal(net.app.block(2), undefined)
      // The same block executes normally afterwards, as on a node that restarted.
      const result = net.app.executeBlock(blocks[1])
      assert.equal(result.height, 2)
      assert.deepEqual(result.prevStateRoot, root)
      await storage.close()
    })

    test('kill -9 while executing blocks: every printed block is kept and the root equals a replay', async () => {
      const path = tempDb()
      const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
        env: { ...process.env, FLEEK_APP_CHILD: path },
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      const printed: Array<[number, string]> = []
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`child printed ${printed.length} blocks in 60 s: ${stderr}`)),
          60_000,
        )
        let buffer = ''
        child.stdout.on('data', (d: Buffer) => {
          buffer += d.toString()
          const lines = buffer.split('\n')
          buffer = lines.pop() ?? ''
          for (const line of lines) {
            const [h, root] = line.split(' ')
            printed.push([Number(h), root])
          }
          if (printed.length >= 30) {
            clearTimeout(timer)
            child.kill('SIGKILL')
            resolve()
          }
        })
        child.on('exit', (code) => {
          if (printed.length < 30) {
            clearTimeout(timer)
            reject(new Error(`child exited (${code}) early: ${stderr}`))
          }
        })
      })
      await new Promise((resolve) =>
        child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.once('exit', resolve),
      )

      const storage = openLmdbStorage(path)
      const net = openNetwork(storage)
      const height = net.app.height()
      const [lastHeight, lastRoot] = printed[printed.length - 1]
      assert.ok(height >= lastHeight, `height ${height} < printed ${lastHeight}`)
      for (const [h, root] of printed) assert.equal(toHex(net.app.block(h)?.stateRoot as Uint8Array), root)
      assert.equal(toHex(net.app.block(lastHeight)?.stateRoot as Uint8Array), lastRoot)
      const replay = openNetwork(new MemoryStorage())
      for (const block of makeBlocks(createNetwork(2), height)) replay.app.executeBlock(block)
      assert.deepEqual(replay.app.stateRoot(), net.app.stateRoot())
      await storage.close()
    })
  })
}
