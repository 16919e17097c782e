// The snapshot store: snapshots read back in slices (offset, length, the end), NOT_FOUND for an epoch
// not held, INVALID_INPUT past the end; only the latest `keep` files stay; the files are 0600.
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'

import { hash } from '../../../../src/lib/b3/index.ts'
import { isFleekError } from '../../../../src/lib/errors.ts'
import { SnapshotStore } from '../../../../src/node/checkpoint/index.ts'
import { seededBytes } from '../../../helpers/bytes.ts'

const code = (c: string) => (e: unknown) => isFleekError(e, c as 'INTEGRITY')

function tempStore(t: { after(fn: () => void): void }, keep: number): SnapshotStore {
  const root = mkdtempSync(join(tmpdir(), 'fleek-snapshots-'))
  t.after(() => rmSync(root, { recursive: true, force: true }))
  return new SnapshotStore({ dir: join(root, 'snapshots'), keep })
}

describe('snapshot store', () => {
  test('a saved snapshot reads back whole and in slices', (t) => {
    const store = tempStore(t, 3)
    assert.deepEqual(store.epochs(), []) // the folder does not exist yet
    const bytes = seededBytes(10_000, 7)
    store.save(4, bytes)
    assert.deepEqual(store.epochs(), [4])
    const whole = store.read(4, 0, 1 << 20)
    assert.equal(whole.total, 10_000)
    assert.deepEqual(whole.bytes, bytes)
    // Slices, as a late node asks for them: offset and length, the last one short.
    const parts: Uint8Array[] = []
    for (let offset = 0; offset < 10_000; offset += 4096) {
      const part = store.read(4, offset, 4096)
      assert.equal(part.total, 10_000)
      assert.equal(part.bytes.length, Math.min(4096, 10_000 - offset))
      parts.push(part.bytes)
    }
    assert.deepEqual(new Uint8Array(Buffer.concat(parts)), bytes)
    assert.deepEqual(store.read(4, 123, 5).bytes, bytes.subarray(123, 128))
    // At the very end: nothing more, but the size still; past it: refused.
    const end = store.read(4, 10_000, 4096)
    assert.equal(end.total, 10_000)
    assert.equal(end.bytes.length, 0)
    assert.throws(() => store.read(4, 10_001, 4096), code('INVALID_INPUT'))
    assert.throws(() => store.read(5, 0, 4096), code('NOT_FOUND'))
    // An empty snapshot is a valid one.
    store.save(5, new Uint8Array(0))
    assert.deepEqual(store.read(5, 0, 10), { total: 0, bytes: new Uint8Array(0) })
  })

  test('saving again replaces the snapshot of that epoch', (t) => {
    const store = tempStore(t, 2)
    store.save(1, seededBytes(100, 1))
    store.save(1, seededBytes(50, 2))
    assert.deepEqual(store.epochs(), [1])
    assert.deepEqual(store.read(1, 0, 1000), { total: 50, bytes: seededBytes(50, 2) })
  })

  test('only the latest `keep` snapshots stay, in epoch order (not name order)', (t) => {
    const store = tempStore(t, 3)
    for (const epoch of [1, 2, 9, 10, 11]) store.save(epoch, seededBytes(64, epoch))
    assert.deepEqual(store.epochs(), [9, 10, 11])
    assert.deepEqual(readdirSync(store.dir).sort(), ['epoch-10.cbor', 'epoch-11.cbor', 'epoch-9.cbor'])
    assert.throws(() => store.read(2, 0, 64), code('NOT_FOUND'))
    assert.deepEqual(store.read(9, 0, 64).bytes, seededBytes(64, 9))
    // Other files in the folder are neither counted nor removed.
    writeFileSync(join(store.dir, 'epoch-1.cbor.tmp-1-ab'), 'x')
    writeFileSync(join(store.dir, 'notes.txt'), 'x')
    store.save(12, seededBytes(64, 12))
    assert.deepEqual(store.epochs(), [10, 11, 12])
    assert.deepEqual(readdirSync(store.dir).sort(), [
      'epoch-1.cbor.tmp-1-ab',
      'epoch-10.cbor',
      'epoch-11.cbor',
      'epoch-12.cbor',
      'notes.txt',
    ])
    const one = tempStore(t, 0) // keep is at least 1
    one.save(3, seededBytes(8, 3))
    one.save(4, seededBytes(8, 4))
    assert.deepEqual(one.epochs(), [4])
  })

  test('a snapshot written in pieces: hashed as it goes, 0600, whole or not at all; dead writers’ leftovers go', async (t) => {
    const store = tempStore(t, 2)
    const bytes = seededBytes(300_000, 5)
    const pieces = [0, 1, 70_000, 70_001, 300_000].map((end, i, all) =>
      bytes.subarray(i === 0 ? 0 : all[i - 1], end),
    )
    async function* slowly(): AsyncGenerator<Uint8Array> {
      for (const p of pieces) yield p
    }
    const written = await store.write(3, slowly())
    assert.equal(written.sizeBytes, bytes.length)
    assert.deepEqual(written.hash, hash(bytes))
    assert.deepEqual(store.read(3, 0, 1 << 20).bytes, bytes)
    assert.equal(statSync(join(store.dir, 'epoch-3.cbor')).mode & 0o777, 0o600)
    // A producer that fails, and an abort: the file of that epoch stays as it was, no temporary left.
    function* failing(): Generator<Uint8Array> {
      yield seededBytes(10, 1)
      throw new Error('the state went away')
    }
    await assert.rejects(store.write(3, failing()), /the state went away/)
    const abort = new AbortController()
    function* aborting(): Generator<Uint8Array> {
      yield seededBytes(10, 1)
      abort.abort()
      yield seededBytes(10, 2)
    }
    await assert.rejects(store.write(4, aborting(), abort.signal), { name: 'AbortError' })
    assert.deepEqual(readdirSync(store.dir), ['epoch-3.cbor'])
    assert.deepEqual(store.read(3, 0, 1 << 20).bytes, bytes)
    // A temporary file of a process that is gone (a crash mid-write) is removed by the next write;
    // a live writer's is not.
    const dead = '.epoch-8.cbor.2147483646-abcdef.tmp'
    const live = `.epoch-9.cbor.${process.pid}-abcdef.tmp`
    writeFileSync(join(store.dir, dead), 'x')
    writeFileSync(join(store.dir, live), 'x')
    await store.write(5, [seededBytes(5, 5)])
    assert.deepEqual(readdirSync(store.dir).sort(), [live, 'epoch-3.cbor', 'epoch-5.cbor'])
    await assert.rejects(store.write(-1, []), code('INVALID_INPUT'))
  })

  test('snapshot files are 0600 in a 0700 folder', { skip: process.platform === 'win32' }, (t) => {
    const store = tempStore(t, 2)
    store.save(7, seededBytes(32, 7))
    assert.equal(statSync(join(store.dir, 'epoch-7.cbor')).mode & 0o777, 0o600)
    assert.equal(statSync(store.dir).mode & 0o777, 0o700)
  })
})
