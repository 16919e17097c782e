import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'

import type { DagStore } from '../../../../src/node/consensus/interface.ts'
import { LmdbDagStore } from '../../../../src/node/consensus/lmdb-store.ts'
import { MemoryDagStore } from '../../../../src/node/consensus/memory-store.ts'

const dirs: string[] = []
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

function makeLmdbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fleek-dag-'))
  dirs.push(dir)
  return dir
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values)

/** One compliance suite for every DagStore implementation. */
function describeStore(
  name: string,
  create: () => DagStore,
  reopen?: (s: DagStore) => Promise<DagStore>,
): void {
  describe(`${name} DAG store`, () => {
    it('stores and lists certificates by round, batches by digest', async () => {
      const store = create()
      store.putCertificate('c3', 3, bytes(3))
      store.putCertificate('c1', 1, bytes(1))
      store.putCertificate('c2', 2, bytes(2))
      assert.deepEqual(store.getCertificate('c2'), bytes(2))
      assert.equal(store.getCertificate('nope'), undefined)
      assert.deepEqual(store.listCertificates(2), [bytes(2), bytes(3)])
      store.putBatch('b1', 1, bytes(9))
      assert.deepEqual(store.getBatch('b1'), bytes(9))
      assert.equal(store.getBatch('b2'), undefined)
      await store.close()
    })

    it('records the first vote per (author, round) and keeps it', async () => {
      const store = create()
      assert.equal(store.recordVote(1, 5, 'aa'), 'aa')
      assert.equal(store.recordVote(1, 5, 'bb'), 'aa')
      assert.equal(store.recordVote(2, 5, 'bb'), 'bb')
      assert.equal(store.recordVote(1, 6, 'cc'), 'cc')
      await store.close()
    })

    it('deletes everything below a round', async () => {
      const store = create()
      for (let r = 1; r <= 5; r++) {
        store.putCertificate(`c${r}`, r, bytes(r))
        store.putBatch(`b${r}`, r, bytes(r))
        store.recordVote(0, r, `v${r}`)
      }
      store.deleteBelowRound(4)
      assert.equal(store.getCertificate('c3'), undefined)
      assert.deepEqual(store.getCertificate('c4'), bytes(4))
      assert.equal(store.getBatch('b3'), undefined)
      assert.deepEqual(store.getBatch('b5'), bytes(5))
      assert.deepEqual(store.listCertificates(0), [bytes(4), bytes(5)])
      assert.equal(store.recordVote(0, 4, 'other'), 'v4')
      await store.close()
    })

    if (reopen !== undefined) {
      it('keeps votes, certificates, own header and state across a reopen', async () => {
        const store = create()
        store.recordVote(3, 7, 'first')
        store.putCertificate('c7', 7, bytes(7))
        store.putBatch('b7', 7, bytes(77))
        store.putOwnHeader(7, bytes(1, 2))
        store.putState(bytes(4, 2))
        const again = await reopen(store)
        assert.equal(again.recordVote(3, 7, 'second'), 'first')
        assert.deepEqual(again.getCertificate('c7'), bytes(7))
        assert.deepEqual(again.getBatch('b7'), bytes(77))
        assert.deepEqual(again.getLastOwnHeader(), bytes(1, 2))
        assert.deepEqual(again.getState(), bytes(4, 2))
        await again.close()
      })
    }
  })
}

describeStore('memory', () => new MemoryDagStore())

const lmdbPaths = new WeakMap<DagStore, string>()
describeStore(
  'lmdb',
  () => {
    const path = makeLmdbPath()
    const store = new LmdbDagStore(path)
    lmdbPaths.set(store, path)
    return store
  },
  async (store) => {
    await store.close()
    return new LmdbDagStore(lmdbPaths.get(store) as string)
  },
)
