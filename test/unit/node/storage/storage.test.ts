import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'

import * as dagCbor from '@ipld/dag-cbor'

import { isFleekError } from '../../../../src/lib/errors.ts'
import { MemoryStorage, openLmdbStorage, type Storage } from '../../../../src/node/storage/index.ts'

const dirs: string[] = []
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleek-storage-'))
  dirs.push(dir)
  return dir
}

const implementations: Array<[string, () => Storage]> = [
  ['memory', () => new MemoryStorage()],
  ['lmdb', () => openLmdbStorage(join(tempDir(), 'db'))],
]

for (const [name, create] of implementations) {
  describe(`${name} storage`, () => {
    test('values round-trip through DAG-CBOR; reads inside a transaction see its writes', async () => {
      const storage = create()
      const t = storage.table('things')
      const seen = storage.transaction(() => {
        t.put('a', { n: 1, bytes: new Uint8Array([1, 2]), list: ['x'], big: 2n ** 60n })
        return t.get('a')
      })
      assert.deepEqual(seen, { n: 1, bytes: new Uint8Array([1, 2]), list: ['x'], big: 2n ** 60n })
      assert.deepEqual(t.get('a'), seen)
      assert.equal(t.get('missing'), undefined)
      assert.deepEqual(t.getBytes('a')?.[0], 0xa4)
      await storage.close()
    })

    test('a transaction that throws writes nothing and the error reaches the caller', async () => {
      const storage = create()
      const t = storage.table('t')
      storage.transaction(() => t.put('keep', 1))
      assert.throws(
        () =>
          storage.transaction(() => {
            t.put('keep', 2)
            t.put('new', 3)
            t.delete('keep')
            throw new Error('boom')
          }),
        /boom/,
      )
      assert.equal(t.get('keep'), 1)
      assert.equal(t.get('new'), undefined)
      await storage.close()
    })

    test('writes outside a transaction are refused', async () => {
      const storage = create()
      const t = storage.table('t')
      assert.throws(
        () => t.put('a', 1),
        (err: unknown) => isFleekError(err, 'INTERNAL'),
      )
      await storage.close()
    })

    test('a transaction inside another joins it: one commit, and a throw inside aborts both', async () => {
      const storage = create()
      const t = storage.table('t')
      const result = storage.transaction(() => {
        t.put('outer', 1)
        return storage.transaction(() => {
          t.put('inner', 2)
          return 'done'
        })
      })
      assert.equal(result, 'done')
      assert.equal(t.get('outer'), 1)
      assert.equal(t.get('inner'), 2)
      assert.throws(
        () =>
          storage.transaction(() => {
            t.put('outer', 10)
            storage.transaction(() => {
              t.put('inner', 20)
              throw new Error('boom')
            })
          }),
        /boom/,
      )
      assert.equal(t.get('outer'), 1)
      assert.equal(t.get('inner'), 2)
      await storage.close()
    })

    test('entries come in key order, filtered by prefix, start/end and limit; tables are separate', async () => {
      const storage = create()
      const a = storage.table('a')
      const b = storage.table('b')
      storage.transaction(() => {
        for (const key of ['p:2', 'q:1', 'p:1', 'o', 'p:10']) a.put(key, key)
        for (const key of [10, 2, 1]) b.put(key, key)
      })
      assert.deepEqual(
        [...a.entries()].map(([k]) => k),
        ['o', 'p:1', 'p:10', 'p:2', 'q:1'],
      )
      assert.deepEqual(
        [...a.entries({ prefix: 'p:' })].map(([k]) => k),
        ['p:1', 'p:10', 'p:2'],
      )
      assert.deepEqual(
        [...a.entries({ start: 'p:10', end: 'q' })].map(([k]) => k),
        ['p:10', 'p:2'],
      )
      assert.deepEqual(
        [...a.entries({ limit: 2 })].map(([k]) => k),
        ['o', 'p:1'],
      )
      assert.deepEqual(
        [...b.entries()].map(([k, v]) => [k, v]),
        [
          [1, 1],
          [2, 2],
          [10, 10],
        ],
      )
      await storage.close()
    })

    test('a read view keeps the state committed when it was taken, across turns and later commits', async () => {
      const storage = create()
      const t = storage.table('t')
      const numbers = storage.table('n')
      storage.transaction(() => {
        for (const k of ['b', 'a', 'c']) t.put(k, k.toUpperCase())
        for (const k of [10, 2, 1]) numbers.put(k, k)
      })
      // Inside a transaction a view could not show its writes: refused.
      assert.throws(
        () => storage.transaction(() => storage.readView(['t'])),
        (err: unknown) => isFleekError(err, 'INTERNAL'),
      )
      const view = storage.readView(['t', 'n', 'fresh'])
      storage.transaction(() => {
        t.put('a', 'changed')
        t.delete('b')
        t.put('d', 'D')
        numbers.put(0, 0)
        storage.table('fresh').put('x', 1)
      })
      await new Promise((resolve) => setTimeout(resolve, 5))
      const vt = view.table('t')
      assert.equal(vt.name, 't')
      assert.equal(vt.get('a'), 'A')
      assert.equal(vt.get('b'), 'B')
      assert.equal(vt.get('d'), undefined)
      assert.deepEqual(vt.getBytes('c'), t.getBytes('c'))
      assert.equal(vt.count(), 3)
      assert.deepEqual(
        [...vt.entryBytes()].map(([k, b]) => [k, dagCbor.decode(b)]),
        [
          ['a', 'A'],
          ['b', 'B'],
          ['c', 'C'],
        ],
      )
      assert.deepEqual(
        [...view.table('n').entryBytes()].map(([k]) => k),
        [1, 2, 10],
      )
      assert.equal(view.table('fresh').count(), 0)
      // The live tables moved on.
      assert.equal(t.get('a'), 'changed')
      assert.equal(t.get('b'), undefined)
      assert.throws(
        () => view.table('other'),
        (err: unknown) => isFleekError(err, 'INTERNAL'),
      )
      // Closing ends reads, even through an iterator taken before.
      const entries = vt.entryBytes()[Symbol.iterator]()
      assert.equal(entries.next().value?.[0], 'a')
      view.close()
      view.close()
      for (const read of [() => vt.get('a'), () => vt.count(), () => entries.next(), () => view.table('t')])
        assert.throws(read, (err: unknown) => isFleekError(err, 'UNAVAILABLE'))
      // A view left open ends with the storage.
      const open = storage.readView(['t'])
      await storage.close()
      assert.throws(
        () => open.table('t').count(),
        (err: unknown) => isFleekError(err, 'UNAVAILABLE'),
      )
    })

    test('close is idempotent and later use fails with UNAVAILABLE', async () => {
      const storage = create()
      await storage.close()
      await storage.close()
      assert.throws(
        () => storage.table('x'),
        (err: unknown) => isFleekError(err, 'UNAVAILABLE'),
      )
    })
  })
}

test('lmdb storage keeps committed data across close and reopen', async () => {
  const path = join(tempDir(), 'db')
  const first = openLmdbStorage(path)
  first.transaction(() => first.table('t').put('k', { v: 'kept' }))
  await first.close()
  const second = openLmdbStorage(path)
  assert.deepEqual(second.table('t').get('k'), { v: 'kept' })
  await second.close()
})
