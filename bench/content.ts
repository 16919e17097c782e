// `npm run bench content`: the blockstore and `fleek content` end to end.
//  - `content put` and `content get -o FILE` of a 1 GiB file through the real binary (bin/run.js, the
//    built package): MB/s and the process's peak RSS (GNU time's maximum resident set, else VmHWM);
//  - streamed verification of a 256 MiB blob — the blockstore's verified read from disk and the b3
//    verifier over (proof, block) frames — beside raw single-thread hashing of the same bytes (ratio);
//  - proof generation (new / resume) and proof verification (the verifier's feedProof) per block, ns.
// Prints a table and one JSON line. Temporary files go to os.tmpdir() and are removed.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

import { getEngine, hash, toHex } from '../src/lib/b3/index.ts'
import { newProof, resumeProof } from '../src/lib/b3/proof.ts'
import { buildTree } from '../src/lib/b3/tree.ts'
import { BlockVerifier, verifyBlockStream } from '../src/lib/b3/verifier.ts'
import { Blockstore } from '../src/node/blockstore/blockstore.ts'

const MiB = 1 << 20
const FILE_BYTES = 1024 * MiB
const VERIFY_BYTES = 256 * MiB
const BLOCK = 256 * 1024
const root = fileURLToPath(new URL('../', import.meta.url))
const bin = join(root, 'bin', 'run.js')
const GNU_TIME = '/usr/bin/time'

interface Run {
  seconds: number
  peakRssBytes: number
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the fleek binary; peak RSS from GNU time -v when present, else by polling /proc/<pid>/status. */
function runFleek(args: string[]): Promise<Run> {
  const useTime = existsSync(GNU_TIME)
  const argv = useTime
    ? [GNU_TIME, ['-v', process.execPath, bin, ...args]]
    : [process.execPath, [bin, ...args]]
  return new Promise((resolve, reject) => {
    const start = performance.now()
    const child = spawn(argv[0] as string, argv[1] as string[], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let polled = 0
    child.stdout.on('data', (d: Buffer) => (stdout += d))
    child.stderr.on('data', (d: Buffer) => (stderr += d))
    const poll = useTime
      ? undefined
      : setInterval(() => {
          try {
            const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
            if (m) polled = Math.max(polled, Number(m[1]) * 1024)
          } catch {
            // exited
          }
        }, 20)
    child.on('error', reject)
    child.on('close', (code) => {
      if (poll) clearInterval(poll)
      const seconds = (performance.now() - start) / 1000
      const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)
      resolve({ seconds, peakRssBytes: m ? Number(m[1]) * 1024 : polled, code, stdout, stderr })
    })
  })
}

async function writeTestFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, 'w')
  try {
    const piece = randomBytes(16 * MiB)
    for (let off = 0; off < bytes; off += piece.length) {
      piece.writeUInt32LE(off / piece.length, 0) // no two pieces alike
      await handle.write(piece, 0, Math.min(piece.length, bytes - off))
    }
  } finally {
    await handle.close()
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** Median seconds of `runs` runs of `fn` after one warm-up. */
async function timeIt(runs: number, fn: () => unknown): Promise<number> {
  await fn()
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = performance.now()
    await fn()
    times.push((performance.now() - start) / 1000)
  }
  return median(times)
}

const mbps = (bytes: number, seconds: number): number => bytes / 1e6 / seconds

export async function run(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fleek-bench-content-'))
  try {
    // 1. End to end through the binary.
    const file = join(dir, 'input.bin')
    const home = join(dir, 'home')
    const out = join(dir, 'output.bin')
    await writeTestFile(file, FILE_BYTES)
    const put = await runFleek(['content', 'put', file, '--json', '--home', home])
    if (put.code !== 0) throw new Error(`content put failed: ${put.stderr}`)
    const { hash: blobHash } = JSON.parse(put.stdout) as { hash: string }
    const get = await runFleek(['content', 'get', blobHash, '-o', out, '--home', home])
    if (get.code !== 0) throw new Error(`content get failed: ${get.stderr}`)
    if (statSync(out).size !== FILE_BYTES) throw new Error('content get wrote the wrong size')
    rmSync(out)
    rmSync(file)
    rmSync(home, { recursive: true, force: true })

    // 2. Streamed verification of 256 MiB beside raw hashing of the same bytes.
    const bytes = new Uint8Array(VERIFY_BYTES)
    for (let off = 0; off < VERIFY_BYTES; off += 64 * MiB) bytes.set(randomBytes(64 * MiB), off)
    const rawSeconds = await timeIt(3, () => hash(bytes))
    const rootHash = hash(bytes)
    const tree = buildTree(bytes)
    const frames = Array.from({ length: tree.blockCount }, (_, i) => ({
      proof: i === 0 ? newProof(tree, 0) : resumeProof(tree, i),
      block: bytes.subarray(i * BLOCK, (i + 1) * BLOCK),
    }))
    const streamSeconds = await timeIt(3, async () => {
      for await (const block of verifyBlockStream(rootHash, frames)) void block
    })
    const store = Blockstore.open({ dir: join(dir, 'bs'), maxSizeBytes: 0 })
    const stored = await store.put(
      (function* () {
        for (let off = 0; off < VERIFY_BYTES; off += 4 * MiB) yield bytes.subarray(off, off + 4 * MiB)
      })(),
    )
    if (stored.hash !== toHex(rootHash)) throw new Error('blockstore hash differs')
    const diskSeconds = await timeIt(3, () => store.verify(stored.hash))
    await store.close()

    // 3. Proofs per block on a 4096-block tree (proofs of 12 levels, as for 1 GiB in 256 KiB blocks). The
    //    tree has 1-KiB blocks so that walking the stream costs little; proofs do not depend on block size.
    const leaves = 4096
    const content = randomBytes(leaves * 1024)
    const shaped = buildTree(content, 0)
    const perBlockNs = (seconds: number): number => (seconds * 1e9) / leaves
    const genNewNs = perBlockNs(
      await timeIt(3, () => {
        for (let i = 0; i < leaves; i++) newProof(shaped, i)
      }),
    )
    const genResumeNs = perBlockNs(
      await timeIt(3, () => {
        for (let i = 0; i < leaves; i++) resumeProof(shaped, i)
      }),
    )
    const newProofs = Array.from({ length: leaves }, (_, i) => newProof(shaped, i))
    const verifyNewNs = perBlockNs(
      await timeIt(3, () => {
        for (let i = 0; i < leaves; i++)
          new BlockVerifier(shaped.root, { startBlock: i, log2ChunksPerBlock: 0 }).feedProof(newProofs[i])
      }),
    )
    // A whole stream: only the feedProof calls are timed (the blocks' hashing is the raw hash above).
    const resumeProofs = Array.from({ length: leaves }, (_, i) => resumeProof(shaped, i))
    const verifyResumeRuns: number[] = []
    for (let run = 0; run < 4; run++) {
      const v = new BlockVerifier(shaped.root, { log2ChunksPerBlock: 0 })
      let ns = 0n
      for (let i = 0; i < leaves; i++) {
        const t0 = process.hrtime.bigint()
        v.feedProof(resumeProofs[i])
        ns += process.hrtime.bigint() - t0
        v.verifyBlock(content.subarray(i * 1024, (i + 1) * 1024))
      }
      if (run > 0) verifyResumeRuns.push(Number(ns) / leaves)
    }
    const verifyResumeNs = median(verifyResumeRuns)

    const results = {
      bench: 'content',
      engine: getEngine().name,
      putMBps: mbps(FILE_BYTES, put.seconds),
      putPeakRssMB: put.peakRssBytes / MiB,
      getMBps: mbps(FILE_BYTES, get.seconds),
      getPeakRssMB: get.peakRssBytes / MiB,
      rawHashMBps: mbps(VERIFY_BYTES, rawSeconds),
      streamVerifyMBps: mbps(VERIFY_BYTES, streamSeconds),
      streamVerifyRatio: rawSeconds / streamSeconds,
      diskVerifyMBps: mbps(VERIFY_BYTES, diskSeconds),
      diskVerifyRatio: rawSeconds / diskSeconds,
      proofNewNs: genNewNs,
      proofResumeNs: genResumeNs,
      proofVerifyNewNs: verifyNewNs,
      proofVerifyResumeNs: verifyResumeNs,
    }
    const rows: Array<[string, string, string]> = [
      [
        'content put 1 GiB (binary, e2e)',
        `${results.putMBps.toFixed(0)} MB/s`,
        `peak RSS ${results.putPeakRssMB.toFixed(0)} MiB`,
      ],
      [
        'content get 1 GiB -o file (binary, e2e)',
        `${results.getMBps.toFixed(0)} MB/s`,
        `peak RSS ${results.getPeakRssMB.toFixed(0)} MiB`,
      ],
      [
        'raw hash 256 MiB (1 thread, baseline)',
        `${results.rawHashMBps.toFixed(0)} MB/s`,
        `engine ${results.engine}`,
      ],
      [
        'verified stream 256 MiB (proof+block)',
        `${results.streamVerifyMBps.toFixed(0)} MB/s`,
        `${(results.streamVerifyRatio * 100).toFixed(0)}% of raw`,
      ],
      [
        'blockstore verified read 256 MiB (disk)',
        `${results.diskVerifyMBps.toFixed(0)} MB/s`,
        `${(results.diskVerifyRatio * 100).toFixed(0)}% of raw`,
      ],
      ['proof generation, new (4096 blocks)', `${results.proofNewNs.toFixed(0)} ns/block`, ''],
      ['proof generation, resume', `${results.proofResumeNs.toFixed(0)} ns/block`, ''],
      [
        'proof verification, new (feedProof)',
        `${results.proofVerifyNewNs.toFixed(0)} ns/block`,
        'excl. block hashing',
      ],
      [
        'proof verification, resume (stream)',
        `${results.proofVerifyResumeNs.toFixed(0)} ns/block`,
        'excl. block hashing',
      ],
    ]
    const widths = [0, 1, 2].map((c) =>
      Math.max(...rows.map((r) => r[c].length), ['measure', 'value', 'note'][c].length),
    )
    const line = (r: string[]): string =>
      r
        .map((cell, c) => (c === 1 ? cell.padStart(widths[c]) : cell.padEnd(widths[c])))
        .join('  ')
        .trimEnd()
    console.log(line(['measure', 'value', 'note']))
    console.log(widths.map((w) => '-'.repeat(w)).join('  '))
    for (const r of rows) console.log(line(r))
    console.log(JSON.stringify(results))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
