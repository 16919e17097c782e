// `npm run bench account-signatures`: the ways a node can check an account transaction's signature
// (secp256k1, 65 bytes r ‖ s ‖ v over e = SHA-256 of the 32-byte transaction digest), timed in one run,
// each first checked on the same signatures:
//   - recovery (an account's first transaction): recover the key with v from e, compare its address
//   - known key, noble verify: ECDSA verify of e against the known public key, recovery bit checked
//   - known key, noble + cached W=8 tables: the same with precomputed tables for G and the key (exact;
//     the table costs tens of ms and ~1 MiB per key, so it pays only for keys seen very often)
//   - known key, OpenSSL, cached key object (what the node does once the state records the key):
//     crypto.verify('sha256', digest, key, r ‖ s) after the range, low-s and v checks; v is not bound
//     (docs/protocol/transactions.md §4.1)
// Rates are per second of this process's CPU time (steadier on a shared machine) and of wall time.
import { randomBytes, type KeyObject } from 'node:crypto'

import {
  createAccountVerifyKey,
  ethAddress,
  recoverAccountAddress,
  signAccount,
  verifyAccountSha256,
} from '../src/lib/keys/index.ts'
import { secp256k1 } from '../src/lib/keys/secp256k1.ts'
import { computeAccountMessageHash } from '../src/lib/tx/index.ts'

const KEYS = 4
const SIGNATURES_PER_KEY = 100
const Point = secp256k1.Point
const Fn = Point.Fn
const N = Fn.ORDER

type SecpPoint = InstanceType<typeof Point>

interface Sample {
  address: string
  /** Uncompressed public key (65 bytes). */
  publicKey: Uint8Array
  point: SecpPoint
  digest: Uint8Array
  /** e = SHA-256(digest), what the account signs. */
  messageHash: Uint8Array
  /** r ‖ s ‖ v, v = 27 + recovery id. */
  signature: Uint8Array
}

function toBigInt(bytes: Uint8Array): bigint {
  return BigInt('0x' + (Buffer.from(bytes).toString('hex') || '0'))
}

/** r, s and the recovery bit of a 65-byte signature, or undefined when out of range or high-s. */
function parse(signature: Uint8Array): { r: bigint; s: bigint; recovery: number } | undefined {
  const v = signature[64]
  const recovery = v >= 27 ? v - 27 : v
  const r = toBigInt(signature.subarray(0, 32))
  const s = toBigInt(signature.subarray(32, 64))
  if (recovery > 1 || r === 0n || r >= N || s === 0n || s > N >> 1n) return undefined
  return { r, s, recovery }
}

const cachedKeys = new Map<string, KeyObject>()

const paths: Record<string, (x: Sample) => boolean> = {
  'recovery (first transaction)': (x) => {
    try {
      return (
        recoverAccountAddress(computeAccountMessageHash(x.digest), x.signature).toLowerCase() === x.address
      )
    } catch {
      return false
    }
  },
  'known key, noble verify': (x) => {
    const sig = parse(x.signature)
    if (sig === undefined) return false
    const recovered = Uint8Array.of(sig.recovery, ...x.signature.subarray(0, 64))
    return secp256k1.verify(recovered, computeAccountMessageHash(x.digest), x.publicKey, {
      prehash: false,
      format: 'recovered',
    })
  },
  'known key, noble + cached W=8 tables': (x) => {
    const sig = parse(x.signature)
    if (sig === undefined) return false
    const w = Fn.inv(sig.s)
    const u1 = Fn.create((toBigInt(computeAccountMessageHash(x.digest)) % N) * w)
    const u2 = Fn.create(sig.r * w)
    const R = Point.BASE.multiplyUnsafe(u1).add(x.point.multiplyUnsafe(u2))
    if (R.is0()) return false
    const { x: rx, y: ry } = R.toAffine()
    return rx === sig.r && Number(ry & 1n) === sig.recovery
  },
  'known key, OpenSSL, cached key object (the node)': (x) => {
    let key = cachedKeys.get(x.address)
    if (key === undefined) cachedKeys.set(x.address, (key = createAccountVerifyKey(x.publicKey)))
    return verifyAccountSha256(key, x.digest, x.signature)
  },
}

function makeSamples(): Sample[] {
  const samples: Sample[] = []
  for (let k = 0; k < KEYS; k++) {
    const secret = secp256k1.utils.randomSecretKey()
    const publicKey = secp256k1.getPublicKey(secret, false)
    const address = ethAddress(publicKey).toLowerCase()
    const point = Point.fromBytes(publicKey)
    for (let i = 0; i < SIGNATURES_PER_KEY; i++) {
      const digest = new Uint8Array(randomBytes(32))
      const messageHash = computeAccountMessageHash(digest)
      samples.push({
        address,
        publicKey,
        point,
        digest,
        messageHash,
        signature: signAccount({ kind: 'account', secret }, messageHash),
      })
    }
  }
  return samples
}

/** The same sample with one digest bit flipped, or with the other v. */
function tamperDigest(x: Sample): Sample {
  const digest = new Uint8Array(x.digest)
  digest[7] ^= 0x10
  return { ...x, digest }
}
function flipV(x: Sample): Sample {
  const signature = new Uint8Array(x.signature)
  signature[64] = signature[64] === 27 ? 28 : 27
  return { ...x, signature }
}

function cpuSeconds(): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1e6
}

function measure(samples: Sample[], fn: (x: Sample) => boolean): { cpu: number; wall: number } {
  for (const x of samples.slice(0, 20)) fn(x) // warm-up (and the OpenSSL key objects)
  const cpuStart = cpuSeconds()
  const start = performance.now()
  for (const x of samples) if (!fn(x)) throw new Error('a valid signature was refused')
  return {
    wall: samples.length / ((performance.now() - start) / 1000),
    cpu: samples.length / (cpuSeconds() - cpuStart),
  }
}

export async function run(): Promise<void> {
  const samples = makeSamples()

  // Checks first: every path accepts every valid signature and refuses a changed digest; whether it
  // refuses the other v (as recovery does) is reported.
  const bindsV: Record<string, boolean> = {}
  for (const [name, fn] of Object.entries(paths)) {
    for (const x of samples.slice(0, 40)) {
      if (!fn(x)) throw new Error(`${name}: a valid signature was refused`)
      if (fn(tamperDigest(x))) throw new Error(`${name}: a changed digest was accepted`)
    }
    bindsV[name] = samples.slice(0, 40).every((x) => !fn(flipV(x)))
  }

  // Tables for the cached-table path (built once per key; the cost is reported).
  const tableStart = performance.now()
  const tabled = new Map<string, SecpPoint>()
  Point.BASE.precompute(8, false)
  for (const x of samples) {
    if (!tabled.has(x.address)) tabled.set(x.address, Point.fromBytes(x.publicKey).precompute(8, false))
  }
  const tableMsPerKey = (performance.now() - tableStart) / tabled.size
  const withTables = samples.map((x) => ({ ...x, point: tabled.get(x.address) as SecpPoint }))

  const rows: Array<{ name: string; rate: { cpu: number; wall: number }; v: string }> = []
  for (const [name, fn] of Object.entries(paths)) {
    const input = name.includes('W=8') ? withTables : samples
    rows.push({ name, rate: measure(input, fn), v: bindsV[name] ? 'yes' : 'no' })
  }

  const base = rows[0].rate
  console.log('\naccount-signatures: secp256k1 checks per second (ratio to recovery)')
  console.log(`(W=8 tables: ${tableMsPerKey.toFixed(0)} ms to build per key, about 1 MiB each)`)
  console.log('| path | /s (CPU) | ratio (CPU) | /s (wall) | ratio (wall) | binds v |')
  console.log('| --- | ---: | ---: | ---: | ---: | --- |')
  for (const { name, rate, v } of rows) {
    console.log(
      `| ${name} | ${rate.cpu.toFixed(0)} | ${(rate.cpu / base.cpu).toFixed(2)} | ${rate.wall.toFixed(0)} | ${(rate.wall / base.wall).toFixed(2)} | ${v} |`,
    )
  }
  const perSec = (i: number): number => Math.round(rows[i].rate.cpu)
  console.log(
    JSON.stringify({
      bench: 'account-signatures',
      recoveryPerSec: perSec(0),
      nobleVerifyKnownKeyPerSec: perSec(1),
      nobleTablesKnownKeyPerSec: perSec(2),
      opensslCachedKeyPerSec: perSec(3),
      opensslVsRecoveryCpu: Number((rows[3].rate.cpu / base.cpu).toFixed(3)),
      tableMsPerKey: Math.round(tableMsPerKey),
      opensslBindsV: bindsV['known key, OpenSSL, cached key object (the node)'],
    }),
  )
}
