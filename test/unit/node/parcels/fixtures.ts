/** Shared fixtures of the parcel tests: fixed keys, a chain produced by a committee, a follower harness. */
import { derivePublicKey } from '../../../../src/lib/keys/index.ts'
import {
  type Parcel,
  ParcelFollower,
  type ParcelFollowerDeps,
  type ParcelFollowerOptions,
  ParcelProducer,
  type ProducedParcel,
} from '../../../../src/node/parcels/index.ts'
import { MemoryStorage } from '../../../../src/node/storage/index.ts'

export interface Member {
  secret: Uint8Array
  publicKey: Uint8Array
  hex: string
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** Member i has the seed [i+1, i+1, …]. */
export function makeMembers(count: number): Member[] {
  return Array.from({ length: count }, (_, i) => {
    const secret = new Uint8Array(32).fill(i + 1)
    const publicKey = derivePublicKey({ kind: 'node', secret })
    return { secret, publicKey, hex: hex(publicKey) }
  })
}

export interface ProducedChain {
  /** committees[e] = members of epoch e. */
  committees: Member[][]
  /** Per block, in chain order: every member's output (identical parcels, one attestation each). */
  blocks: Array<{
    epoch: number
    index: number
    outputs: Array<{ member: Member; produced: ProducedParcel }>
  }>
  producers: Map<string, ParcelProducer>
}

/**
 * Runs every member of each epoch's committee through the same blocks: `perEpoch` blocks an epoch,
 * sub-DAG indices 0, 1, 2, … (with a skipped index in each epoch, as when a sub-DAG is not executed).
 */
export function produceChain(committees: Member[][], perEpoch: number): ProducedChain {
  const producers = new Map<string, ParcelProducer>()
  for (const c of committees)
    for (const m of c)
      if (!producers.has(m.hex))
        producers.set(
          m.hex,
          new ParcelProducer(
            {},
            { storage: new MemoryStorage(), nodeKey: { secret: m.secret, publicKey: m.publicKey } },
          ),
        )
  const blocks: ProducedChain['blocks'] = []
  let tx = 0
  let lastDigest: Uint8Array | undefined
  for (let epoch = 0; epoch < committees.length; epoch++) {
    for (let i = 0; i < perEpoch; i++) {
      const index = i < 2 ? i : i + 1 // index 2 is never executed
      const block = {
        sequence: { epoch, index },
        timestampMs: 1_000_000 + blocks.length * 100,
        transactions: [Uint8Array.of(tx++ & 0xff, 1, 2), Uint8Array.of(tx++ & 0xff)],
      }
      const outputs = committees[epoch].map((member) => {
        const producer = producers.get(member.hex) as ParcelProducer
        // A member new to the committee starts from the chain's head (as the node does after a checkpoint).
        if (lastDigest !== undefined && hex(producer.head().digest) !== hex(lastDigest))
          producer.resetHead({ digest: lastDigest, epoch: epoch - 1 })
        return { member, produced: producer.onBlockExecuted(block) }
      })
      lastDigest = outputs[0].produced.digest
      blocks.push({ epoch, index, outputs })
    }
  }
  return { committees, blocks, producers }
}

export interface FollowerHarness {
  follower: ParcelFollower
  executed: Array<{ parcel: Parcel; digest: string }>
  misbehaviour: Array<{ peer: string; reason: string }>
  fetches: string[]
}

/** A follower whose committee(e) is known once the previous epoch's last block was executed. */
export function makeFollower(
  chain: ProducedChain,
  fetch: ParcelFollowerDeps['fetch'] = () => Promise.reject(new Error('no fetch in this test')),
  options: Partial<ParcelFollowerOptions> = {},
  storage = new MemoryStorage(),
): FollowerHarness {
  const executed: FollowerHarness['executed'] = []
  const misbehaviour: FollowerHarness['misbehaviour'] = []
  const fetches: string[] = []
  const follower = new ParcelFollower(
    { fetchTimeoutMs: 1000, fetchRetries: 2, ...options },
    {
      storage,
      committee: (epoch) => {
        if (epoch >= chain.committees.length) return undefined
        if (epoch > 0) {
          const lastOfPrevious = chain.blocks.filter((b) => b.epoch === epoch - 1).at(-1)
          const d = lastOfPrevious && hex(lastOfPrevious.outputs[0].produced.digest)
          if (!executed.some((e) => e.digest === d)) return undefined
        }
        return chain.committees[epoch].map((m) => m.publicKey)
      },
      execute: (parcel, digest) => {
        executed.push({ parcel, digest: hex(digest) })
      },
      fetch: (digest, signal, hints) => {
        fetches.push(hex(digest))
        return fetch(digest, signal, hints)
      },
      onMisbehaviour: (peer, reason) => misbehaviour.push({ peer, reason }),
    },
  )
  return { follower, executed, misbehaviour, fetches }
}

/** Every gossip message of the chain: each member's parcel copy and attestation. */
export function allMessages(chain: ProducedChain): Array<{ bytes: Uint8Array; from: string }> {
  return chain.blocks.flatMap((b) =>
    b.outputs.flatMap((o) => [
      { bytes: o.produced.parcelMessage, from: o.member.hex },
      { bytes: o.produced.attestationMessage, from: o.member.hex },
    ]),
  )
}
