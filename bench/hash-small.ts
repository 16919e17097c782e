// `npm run bench hash-small`: BLAKE3 of small inputs (what the state root and transaction digests
// hash): µs per call of hash, keyedHash and deriveKey at 32, 64, 200 and 1024 bytes, beside hash-wasm's
// BLAKE3 (init + update + digest, the baseline) and node:crypto sha256 on the same inputs, in one run.
import { createHash } from 'node:crypto'
import { createBLAKE3 } from 'hash-wasm'
import { deriveKey, hash, keyedHash, toHex } from '../src/lib/b3/index.ts'

const SIZES = [32, 64, 200, 1024]
const CONTEXT = 'fleek-network transaction v1'

/** Median µs per call of `fn` over a few timed runs of `count` calls, after a warm-up run. */
function microsPerCall(count: number, fn: (i: number) => void): number {
  const runs: number[] = []
  for (let r = 0; r < 6; r++) {
    const start = performance.now()
    for (let i = 0; i < count; i++) fn(i)
    if (r > 0) runs.push(((performance.now() - start) * 1000) / count)
  }
  runs.sort((a, b) => a - b)
  return runs[Math.floor(runs.length / 2)]
}

export async function run(): Promise<void> {
  const hashWasm = await createBLAKE3()
  const key = new Uint8Array(32).fill(7)
  const rows: Array<{ size: number; name: string; micros: number }> = []
  for (const size of SIZES) {
    const input = new Uint8Array(size).map((_, i) => (i * 31 + 7) & 0xff)
    hashWasm.init()
    hashWasm.update(input)
    if (hashWasm.digest('hex') !== toHex(hash(input)))
      throw new Error(`hash disagrees with hash-wasm at ${size}`)
    const count = size <= 64 ? 100_000 : 30_000
    const vary = (i: number): void => {
      input[0] = i
    }
    const measure = (name: string, fn: () => unknown): void => {
      rows.push({
        size,
        name,
        micros: microsPerCall(count, (i) => {
          vary(i)
          fn()
        }),
      })
    }
    measure('hash-wasm blake3', () => {
      hashWasm.init()
      hashWasm.update(input)
      return hashWasm.digest('binary')
    })
    measure('sha256 (node:crypto)', () => createHash('sha256').update(input).digest())
    measure('hash', () => hash(input))
    measure('keyedHash', () => keyedHash(key, input))
    measure('deriveKey', () => deriveKey(CONTEXT, input))
  }
  console.log('\nhash-small: µs per call (lower is better); ratio = hash-wasm µs / this µs')
  console.log('| input | function | µs | vs hash-wasm |')
  console.log('| ---: | --- | ---: | ---: |')
  const json: Record<string, number> = {}
  for (const { size, name, micros } of rows) {
    const base = rows.find((r) => r.size === size && r.name === 'hash-wasm blake3')?.micros ?? NaN
    console.log(`| ${size} B | ${name} | ${micros.toFixed(3)} | ${(base / micros).toFixed(2)} |`)
    json[`${name.split(' ')[0]}_${size}_us`] = Number(micros.toFixed(3))
  }
  console.log(JSON.stringify({ bench: 'hash-small', ...json }))
}
