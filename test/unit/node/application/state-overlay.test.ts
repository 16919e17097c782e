// The block overlay keeps written values (encoded once, by changes()): a write keeps a private copy,
// every read is a fresh copy, a rolled-back transaction leaves nothing, and the bytes it hands to the
// commit are exactly DAG-CBOR of the values written.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import * as dagCbor from '@ipld/dag-cbor'

import { StateOverlay } from '../../../../src/node/application/state.ts'
import { MemoryStorage } from '../../../../src/node/storage/index.ts'

function makeOverlay(): { storage: MemoryStorage; overlay: StateOverlay } {
  const storage = new MemoryStorage()
  storage.transaction(() => storage.table('nodes').put('a', { nonce: 1, keys: [new Uint8Array([1, 2])] }))
  return { storage, overlay: new StateOverlay(storage) }
}

test('a write keeps its own copy and every read is a fresh copy', () => {
  const { overlay } = makeOverlay()
  const value = { nonce: 2, ports: { http: 80 }, keys: [new Uint8Array([9])] }
  overlay.put('nodes', 'b', value)
  value.ports.http = 1
  value.keys[0][0] = 0
  const first = overlay.get('nodes', 'b') as typeof value
  assert.deepEqual(first, { nonce: 2, ports: { http: 80 }, keys: [new Uint8Array([9])] })
  first.ports.http = 2
  assert.equal((overlay.get('nodes', 'b') as typeof value).ports.http, 80)
})

test('a rolled-back transaction leaves nothing; a committed one joins the block', () => {
  const { overlay } = makeOverlay()
  overlay.beginTransaction()
  overlay.put('nodes', 'a', { nonce: 5 })
  overlay.delete('nodes', 'c')
  assert.deepEqual(overlay.get('nodes', 'a'), { nonce: 5 })
  overlay.rollbackTransaction()
  assert.deepEqual(overlay.get('nodes', 'a'), { nonce: 1, keys: [new Uint8Array([1, 2])] })
  assert.deepEqual(overlay.changes(), [])
  overlay.beginTransaction()
  overlay.put('nodes', 'a', { nonce: 6 })
  overlay.commitTransaction()
  assert.deepEqual(overlay.get('nodes', 'a'), { nonce: 6 })
})

test('changes() are DAG-CBOR of the last value written, sorted, deletions without bytes', () => {
  const { overlay } = makeOverlay()
  const node = { z: 'last key', nonce: 3, a: [1, 2, { b: true }], bytes: new Uint8Array([7, 8]) }
  overlay.put('nodes', 'b', { nonce: 0 })
  overlay.put('nodes', 'b', node)
  overlay.put('executedDigests', 'ff', true)
  overlay.delete('nodes', 'a')
  const changes = overlay.changes()
  assert.deepEqual(
    changes.map((c) => [c.table, c.key]),
    [
      ['executedDigests', 'ff'],
      ['nodes', 'a'],
      ['nodes', 'b'],
    ],
  )
  assert.deepEqual(changes[0].bytes, dagCbor.encode(true))
  assert.equal(changes[1].bytes, undefined)
  assert.deepEqual(changes[2].bytes, dagCbor.encode(node))
  assert.deepEqual(overlay.entries('nodes'), [['b', node]])
})

test('values DAG-CBOR refuses are refused at the write', () => {
  const { overlay } = makeOverlay()
  assert.throws(() => overlay.put('nodes', 'x', { bad: undefined }))
  assert.throws(() => overlay.put('nodes', 'x', [1, undefined]))
  assert.throws(() => overlay.put('nodes', 'x', { n: Number.NaN }))
  assert.throws(() => overlay.put('nodes', 'x', undefined))
  assert.equal(overlay.get('nodes', 'x'), undefined)
})
