// Shared fixtures of the Merkle tests: deterministic keys and values, and a second, naive implementation
// of the root (straight from the set of entries, with @noble/hashes' BLAKE3) to cross-check the tree.
import { blake3 } from '@noble/hashes/blake3.js'
import { hashValue } from '../../../../src/lib/merkle/index.ts'

const utf8 = new TextEncoder()

/** The key of entry `i` of table `table`: BLAKE3(table ‖ i), as the application derives its keys. */
export function makeKey(i: number, table = 'account'): Uint8Array {
  return hashValue(utf8.encode(`${table}:${i}`))
}

export function makeValue(i: number, version = 0): Uint8Array {
  return utf8.encode(`value ${i} v${version}`)
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

const leafKey = blake3(new Uint8Array(0), {
  context: utf8.encode('fleek-network sparse merkle tree leaf v1'),
})
const internalKey = blake3(new Uint8Array(0), {
  context: utf8.encode('fleek-network sparse merkle tree internal v1'),
})

function bit(key: Uint8Array, i: number): number {
  return (key[i >> 3] >> (7 - (i % 8))) & 1
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}

/** The root of the canonical tree holding `entries` (distinct keys), computed without the tree code. */
export function referenceRoot(entries: Array<[Uint8Array, Uint8Array]>, depth = 0): Uint8Array {
  if (entries.length === 0) return new Uint8Array(32)
  if (entries.length === 1) {
    const [key, value] = entries[0]
    return blake3(concat(key, blake3(value)), { key: leafKey })
  }
  const left = referenceRoot(
    entries.filter(([k]) => bit(k, depth) === 0),
    depth + 1,
  )
  const right = referenceRoot(
    entries.filter(([k]) => bit(k, depth) === 1),
    depth + 1,
  )
  return blake3(concat(left, right), { key: internalKey })
}
