// Streamed state snapshots: the file writeSnapshot writes is, byte for byte, the one-buffer DAG-CBOR
// encoding of the state at the call (whatever is committed while it streams), its size and BLAKE3 are
// the file's, it imports to the same root, and an abort or a storage without a chain writes nothing.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, test } from 'node:test'

import * as dagCbor from '@ipld/dag-cbor'

import { hash } from '../../../../src/lib/b3/index.ts'
import { isFleekError } from '../../../../src/lib/errors.ts'
import { Application, readChainRoots, readStateEntries } from '../../../../src/node/application/index.ts'
import { SnapshotStore, exportSnapshot, importSnapshot } from '../../../../src/node/checkpoint/index.ts'
import { writeSnapshot } from '../../../../src/node/checkpoint/snapshot.ts'
import { MemoryStorage, type Storage, openLmdbStorage } from '../../../../src/node/storage/index.ts'
import { seededBytes } from '../../../helpers/bytes.ts'
import { FLK, START_MS, accountTx, createNetwork, dumpState, makeAccount } from '../application/fixtures.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** The snapshot as it was encoded before streaming: the whole state in one dagCbor.encode. */
function oneBufferEncoding(storage: Storage): Uint8Array {
  const tables: Record<string, unknown> = {}
  for (const { table, entries } of readStateEntries(storage)) tables[table] = entries
  return dagCbor.encode({ version: 1, genesisHash: readChainRoots(storage).genesisHash, tables })
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleek-snapshot-stream-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const storages: Array<[string, (dir: string) => Storage]> = [
  ['memory', () => new MemoryStorage()],
  ['lmdb', (dir) => openLmdbStorage(join(dir, 'db'))],
]

/**
 * A synthetic state that reaches every CBOR length form: a table of 70 000 entries (a 4-byte array
 * header), integer keys past 2^32 (8-byte), values of 0, 23, 24, 300, 70 000 bytes and one larger
 * than a piece (written as its own piece).
 */
function fillLargeState(storage: Storage): void {
  storage.transaction(() => {
    storage.table('chain').put('genesisHash', hash(Uint8Array.of(1, 2, 3)))
    const digests = storage.table('executedDigests')
    for (let i = 0; i < 70_000; i++) digests.put(i, true)
    const latencies = storage.table('latencies')
    for (const key of [0, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1])
      latencies.put(key, key)
    const content = storage.table('content')
    for (const size of [0, 23, 24, 300, 70_000, 600_000])
      content.putBytes(`blob ${size}`, dagCbor.encode(seededBytes(size, size + 1)))
    content.put('ü-utf8 ключ', 'a text key of several bytes per character')
  })
}

for (const [name, open] of storages) {
  describe(`streamed snapshots (${name} storage)`, () => {
    test('the file is the one-buffer encoding byte for byte; size and hash are the file’s; it imports', async (t) => {
      const dir = tempDir(t)
      const storage = open(dir)
      t.after(() => storage.close())
      const net = createNetwork(4, { storage })
      const to = Array.from({ length: 5 }, (_, i) => makeAccount(`stream to ${i}`))
      for (let b = 0; b < 3; b++)
        net.run(
          to.map((a, i) =>
            accountTx(net.owner, {
              method: 'Transfer',
              args: { to: a.address, token: 'flk', amount: BigInt(b * 10 + i + 1) * FLK },
            }),
          ),
          START_MS + b,
        )
      const expected = oneBufferEncoding(storage)
      assert.deepEqual(exportSnapshot(storage), expected)

      const store = new SnapshotStore({ dir: join(dir, 'snapshots'), keep: 2 })
      const written = await writeSnapshot(storage, store, 7)
      const file = readFileSync(join(store.dir, 'epoch-7.cbor'))
      assert.equal(hex(file), hex(expected))
      assert.equal(written.sizeBytes, expected.length)
      assert.equal(hex(written.hash), hex(hash(expected)))
      assert.deepEqual(readdirSync(store.dir), ['epoch-7.cbor'])

      const late = new MemoryStorage()
      Application.open(late, net.genesis)
      const imported = importSnapshot(late, new Uint8Array(file), net.app.stateRoot())
      assert.equal(hex(imported.stateRoot), hex(net.app.stateRoot()))
      assert.equal(imported.height, 3)
      assert.deepEqual(dumpState(late), dumpState(storage))
    })

    test('every CBOR length form, streamed in pieces, matches the one-buffer encoding', async (t) => {
      const dir = tempDir(t)
      const storage = open(dir)
      t.after(() => storage.close())
      fillLargeState(storage)
      const expected = oneBufferEncoding(storage)
      assert.ok(expected.length > 1_000_000, 'several pieces')
      assert.equal(hex(hash(exportSnapshot(storage))), hex(hash(expected)))
      const store = new SnapshotStore({ dir: join(dir, 'snapshots'), keep: 1 })
      const written = await writeSnapshot(storage, store, 1)
      assert.equal(written.sizeBytes, expected.length)
      assert.equal(hex(written.hash), hex(hash(expected)))
      assert.ok(Buffer.from(expected).equals(readFileSync(join(store.dir, 'epoch-1.cbor'))))
    })

    test('writes committed after the call, while the file streams, are not in the snapshot', async (t) => {
      const dir = tempDir(t)
      const storage = open(dir)
      t.after(() => storage.close())
      fillLargeState(storage)
      const before = oneBufferEncoding(storage)
      const store = new SnapshotStore({ dir: join(dir, 'snapshots'), keep: 1 })

      const writing = writeSnapshot(storage, store, 3)
      let settled = false
      void writing.then(
        () => (settled = true),
        () => (settled = true),
      )
      // Commit changes at once (before any piece is encoded) and on every turn while it streams:
      // overwrite, delete and add entries in tables the encoder has yet to reach and has passed.
      const digests = storage.table('executedDigests')
      const content = storage.table('content')
      let turns = 0
      do {
        storage.transaction(() => {
          digests.put(turns, false)
          digests.delete(69_999 - turns)
          digests.put(100_000 + turns, true)
          content.put(`added ${turns}`, turns)
          content.delete('blob 300')
          storage.table('accounts').put(`0x${turns}`, { flk: turns })
        })
        turns++
        await nextTurn()
      } while (!settled)
      assert.ok(turns >= 2, `writes went on while the snapshot streamed (${turns} turns)`)
      const written = await writing
      assert.notEqual(hex(hash(oneBufferEncoding(storage))), hex(hash(before)), 'the state did change')
      assert.equal(written.sizeBytes, before.length)
      assert.equal(hex(written.hash), hex(hash(before)))
      assert.ok(Buffer.from(before).equals(readFileSync(join(store.dir, 'epoch-3.cbor'))))
    })

    test('an abort leaves no file, not even a temporary one; no chain is NOT_FOUND', async (t) => {
      const dir = tempDir(t)
      const storage = open(dir)
      t.after(() => storage.close())
      fillLargeState(storage)
      const store = new SnapshotStore({ dir: join(dir, 'snapshots'), keep: 1 })
      const abort = new AbortController()
      const writing = writeSnapshot(storage, store, 5, abort.signal)
      await nextTurn()
      abort.abort()
      await assert.rejects(writing, (err: unknown) => (err as Error).name === 'AbortError')
      assert.deepEqual(readdirSync(store.dir), [])
      assert.deepEqual(store.epochs(), [])
      // The view was released: the storage still writes and closes.
      storage.transaction(() => storage.table('content').put('after', 1))

      const empty = open(join(dir, 'empty'))
      t.after(() => empty.close())
      await assert.rejects(writeSnapshot(empty, store, 6), (err: unknown) => isFleekError(err, 'NOT_FOUND'))
      assert.deepEqual(readdirSync(store.dir), [])
    })
  })
}
