// `npm run bench merkle`: the sparse Merkle tree of the state root. Single updates/s, batched
// updates/s, and proof generate + verify µs on trees of 10k and 100k entries, beside the baseline of
// raw BLAKE3 hashes/s of 64-byte inputs measured in the same run (a node hash is one such hash).
import { hash } from '../src/lib/b3/index.ts'
import {
  encodeProof,
  decodeProof,
  MemoryNodeStore,
  SparseMerkleTree,
  verifyProof,
} from '../src/lib/merkle/index.ts'

const SIZES = [10_000, 100_000]
const SINGLE_UPDATES = 2_000
const BATCH_SIZE = 1_000
const PROOFS = 2_000

function makeKey(i: number): Uint8Array {
  const material = new Uint8Array(8)
  new DataView(material.buffer).setFloat64(0, i)
  return hash(material)
}

function makeValue(i: number, version: number): Uint8Array {
  const value = new Uint8Array(32)
  new DataView(value.buffer).setUint32(0, i)
  new DataView(value.buffer).setUint32(4, version)
  return value
}

/** Calls `fn` `count` times; returns the seconds taken. */
function time(count: number, fn: (i: number) => void): number {
  const start = performance.now()
  for (let i = 0; i < count; i++) fn(i)
  return (performance.now() - start) / 1000
}

function measureHashBaseline(): number {
  const input = new Uint8Array(64)
  const count = 200_000
  time(20_000, () => hash(input)) // warm up
  const seconds = time(count, (i) => {
    input[0] = i
    hash(input)
  })
  return count / seconds
}

interface SizeResult {
  entries: number
  buildSeconds: number
  updatesPerSec: number
  batchedUpdatesPerSec: number
  proveMicros: number
  verifyMicros: number
  proofBytes: number
  depthMean: number
}

function measureSize(entries: number): SizeResult {
  const tree = new SparseMerkleTree(new MemoryNodeStore())
  const keys = Array.from({ length: entries }, (_, i) => makeKey(i))
  const buildSeconds = time(1, () => tree.updateMany(keys.map((k, i) => [k, makeValue(i, 0)])))
  // Single updates of existing keys (a new value each), spread over the key space; `versions` tracks
  // each key's current value so that the proofs below verify against the final root.
  const versions = new Uint32Array(entries)
  const pick = (i: number) => (i * 7_919) % entries
  const setVersion = (k: number, version: number): [Uint8Array, Uint8Array] => {
    versions[k] = version
    return [keys[k], makeValue(k, version)]
  }
  const singleSeconds = time(SINGLE_UPDATES, (i) => tree.update(...setVersion(pick(i), 1)))
  const batches = 5
  const batchSeconds = time(batches, (b) =>
    tree.updateMany(
      Array.from({ length: BATCH_SIZE }, (_, j) => setVersion(pick(b * BATCH_SIZE + j + 1), 2 + b)),
    ),
  )
  const root = tree.root
  const proofKeys = Array.from({ length: PROOFS }, (_, i) => (i * 104_729 + 13) % entries)
  const proofValues = proofKeys.map((k) => makeValue(k, versions[k]))
  const encoded: Uint8Array[] = []
  const proveSeconds = time(PROOFS, (i) => encoded.push(encodeProof(tree.prove(keys[proofKeys[i]]))))
  let failures = 0
  const verifySeconds = time(PROOFS, (i) => {
    if (!verifyProof(root, keys[proofKeys[i]], proofValues[i], decodeProof(encoded[i]))) failures++
  })
  if (failures > 0) throw new Error(`${failures} proofs failed to verify`)
  const depthMean = encoded.reduce((sum, bytes) => sum + ((bytes[1] << 8) | bytes[2]), 0) / PROOFS
  return {
    entries,
    buildSeconds,
    updatesPerSec: SINGLE_UPDATES / singleSeconds,
    batchedUpdatesPerSec: (batches * BATCH_SIZE) / batchSeconds,
    proveMicros: (proveSeconds / PROOFS) * 1e6,
    verifyMicros: (verifySeconds / PROOFS) * 1e6,
    proofBytes: encoded.reduce((sum, bytes) => sum + bytes.length, 0) / PROOFS,
    depthMean,
  }
}

export async function run(): Promise<void> {
  const hashesPerSec = measureHashBaseline()
  const results = SIZES.map(measureSize)
  const fmt = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits })
  const rows = [
    [
      'entries',
      'build s',
      'updates/s',
      'batched/s',
      'hashes/update',
      'prove µs',
      'verify µs',
      'proof B',
      'depth',
    ],
    ...results.map((r) => [
      fmt(r.entries),
      fmt(r.buildSeconds, 2),
      fmt(r.updatesPerSec),
      fmt(r.batchedUpdatesPerSec),
      fmt(hashesPerSec / r.updatesPerSec, 1),
      fmt(r.proveMicros, 1),
      fmt(r.verifyMicros, 1),
      fmt(r.proofBytes),
      fmt(r.depthMean, 1),
    ]),
  ]
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)))
  console.log(`merkle — baseline: BLAKE3 of 64-byte inputs ${fmt(hashesPerSec)} hashes/s`)
  for (const row of rows) console.log(row.map((cell, c) => cell.padStart(widths[c])).join('  '))
  console.log(
    JSON.stringify({
      bench: 'merkle',
      baseline: { blake3Hash64PerSec: Math.round(hashesPerSec) },
      results: results.map((r) => ({
        ...r,
        hashEquivalentsPerUpdate: Number((hashesPerSec / r.updatesPerSec).toFixed(2)),
      })),
    }),
  )
}
