// The byzantine test peer: a real libp2p host (TCP + Noise + Yamux, identify, gossipsub) holding a
// committee member's node key, that speaks the fleek wire protocols — length-prefixed frames on
// /fleek/consensus/1.0.0, signed gossip on any topic — and crafts what an honest member never sends:
// malformed and oversized frames, headers with bad signatures, two headers for one (author, round),
// certificates without a quorum or with a forged vote, messages of another epoch, parcels and
// attestations nobody attested, checkpoint votes and checkpoints with forged signatures, floods.
//
// It listens to the consensus traffic the honest members send it (they treat it as a member), so it
// knows the certificates of recent rounds and can build headers that the honest nodes would vote for
// but for the one thing that is wrong.
import '../../bin/polyfill.js'

import { randomBytes } from 'node:crypto'

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import type { Libp2p, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

import { aggregateSignatures, signConsensus } from '../../src/lib/keys/index.ts'
import {
  computeCheckpointDigest,
  encodeCheckpointVote,
  type Checkpoint,
  type CheckpointMessage,
} from '../../src/node/checkpoint/index.ts'
import type { Committee } from '../../src/node/consensus/committee.ts'
import {
  computeBatchDigest,
  computeCertificateDigest,
  computeHeaderDigest,
  createCommitteeContext,
  decodeConsensusMessage,
  encodeConsensusMessage,
  importEd25519SecretKey,
  signHeader,
  signVote,
  type Batch,
  type Certificate,
  type CommitteeContext,
  type ConsensusMessage,
  type Header,
} from '../../src/node/consensus/messages.ts'
import { FrameKind, FrameReader, PROTOCOLS, encodeFrame, peerIdOf } from '../../src/node/network/index.ts'
import {
  computeParcelDigest,
  encodeParcelMessage,
  signAttestation,
  type Attestation,
  type Parcel,
} from '../../src/node/parcels/index.ts'

export interface ByzantineKey {
  /** The 32-byte ed25519 seed of the node key. */
  seed: Uint8Array
  publicKey: Uint8Array
}

type Services = { identify: Identify; pubsub: GossipSub }

/** What the byzantine member learned from the honest members' consensus traffic. */
interface Observed {
  /** round → author → certificate. */
  certificates: Map<number, Map<number, Certificate>>
  /** Votes the honest members sent for our headers (so the tests can see they voted). */
  votesFor: Map<string, Set<number>>
}

export class ByzantinePeer {
  readonly key: ByzantineKey
  readonly peerKey: string
  readonly ctx: CommitteeContext
  /** This member's index in the committee. */
  readonly index: number
  readonly #libp2p: Libp2p<Services>
  readonly #observed: Observed = { certificates: new Map(), votesFor: new Map() }
  readonly #streams = new Map<string, Stream>()
  #timestampMs = 1

  private constructor(key: ByzantineKey, committee: Committee, libp2p: Libp2p<Services>) {
    this.key = key
    this.peerKey = Buffer.from(key.publicKey).toString('hex')
    this.ctx = createCommitteeContext(committee)
    this.index = committee.members.findIndex((m) => Buffer.from(m.publicKey).toString('hex') === this.peerKey)
    this.#libp2p = libp2p
  }

  /** Starts the host on 127.0.0.1 with the key (a member of `committee`, or not: an outsider). */
  static async start(key: ByzantineKey, committee: Committee): Promise<ByzantinePeer> {
    const libp2p = await createLibp2p<Services>({
      privateKey: await generateKeyPairFromSeed('Ed25519', key.seed),
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
      },
    })
    const peer = new ByzantinePeer(key, committee, libp2p)
    await libp2p.handle(PROTOCOLS.consensus, (stream) => void peer.#listen(stream), {
      maxInboundStreams: 64,
    })
    return peer
  }

  /** The listen multiaddrs without `/p2p/…` (for the honest nodes' registries). */
  listenAddresses(): string[] {
    return this.#libp2p.getMultiaddrs().map((a) => a.toString().replace(/\/p2p\/.*$/, ''))
  }

  /** Dials a peer's multiaddr (ending in `/p2p/<peer id>`). */
  async connect(address: string): Promise<void> {
    await this.#libp2p.dial(multiaddr(address), { signal: AbortSignal.timeout(10_000) })
  }

  isConnected(peerKey: string): boolean {
    return this.#libp2p.getConnections(peerIdOf(peerKey)).length > 0
  }

  async stop(): Promise<void> {
    for (const stream of this.#streams.values()) stream.abort(new Error('byzantine peer stopping'))
    this.#streams.clear()
    await this.#libp2p.stop()
  }

  // ——— what the honest members told us ———

  /** Reads the honest members' consensus frames: certificates are kept, votes counted, the rest ignored. */
  async #listen(stream: Stream): Promise<void> {
    try {
      const reader = new FrameReader(stream, 64 << 20)
      for (;;) {
        const frame = await reader.read()
        if (frame === undefined) break
        if (frame.kind === FrameKind.REQUEST) {
          // A byzantine member serves nothing: the honest node asks the next peer.
          stream.send(encodeFrame(FrameKind.RESPONSE_ERROR, new TextEncoder().encode('not serving')))
          continue
        }
        let message: ConsensusMessage
        try {
          message = decodeConsensusMessage(this.ctx, frame.payload)
        } catch {
          continue
        }
        if (message.type === 'certificate') {
          const { header } = message.certificate
          let byAuthor = this.#observed.certificates.get(header.round)
          if (byAuthor === undefined) this.#observed.certificates.set(header.round, (byAuthor = new Map()))
          byAuthor.set(header.author, message.certificate)
        } else if (message.type === 'vote') {
          const hex = Buffer.from(message.vote.header).toString('hex')
          let voters = this.#observed.votesFor.get(hex)
          if (voters === undefined) this.#observed.votesFor.set(hex, (voters = new Set()))
          voters.add(message.vote.voter)
        }
      }
    } catch {
      // the honest side closed or reset the stream
    }
  }

  /** The highest round of which a quorum of certificates was seen (0 when none). */
  quorumRound(): number {
    let best = 0
    for (const [round, byAuthor] of this.#observed.certificates)
      if (round > best && byAuthor.size >= this.ctx.quorum) best = round
    return best
  }

  /** Honest members that voted for a header of ours (by its digest). */
  votersFor(header: Header): number[] {
    return [...(this.#observed.votesFor.get(Buffer.from(computeHeaderDigest(header)).toString('hex')) ?? [])]
  }

  // ——— crafting (nothing is sent) ———

  /**
   * A header by this member that an honest node would accept: the round after the latest quorum seen,
   * its certificates as parents. `change` alters it before it is signed (or after, see below).
   */
  craftHeader(batches: Batch[] = [], change: Partial<Omit<Header, 'signature'>> = {}): Header {
    const parentRound = this.quorumRound()
    const parents =
      parentRound === 0
        ? []
        : [...(this.#observed.certificates.get(parentRound)?.values() ?? [])]
            .sort((a, b) => a.header.author - b.header.author)
            .map(computeCertificateDigest)
    return signHeader(importEd25519SecretKey(this.key.seed), {
      author: this.index,
      round: parentRound + 1,
      epoch: this.ctx.committee.epoch,
      batches: batches.map(computeBatchDigest),
      parents,
      timestampMs: this.#timestampMs++,
      ...change,
    })
  }

  /** Two different headers, both validly signed, for one (author, round). */
  craftEquivocation(batches: Batch[]): [Header, Header] {
    const first = this.craftHeader([])
    const second = this.craftHeader(batches, { round: first.round, parents: first.parents })
    return [first, second]
  }

  /** The same header with its signature broken (one bit flipped). */
  static withBadSignature(header: Header): Header {
    const signature = new Uint8Array(header.signature)
    signature[0] ^= 0x01
    return { ...header, signature }
  }

  /**
   * A certificate of `header`: `voters` sign (this member signs for real; the others' signatures are
   * forged, since only their keys could make them). Fewer than 2f+1 voters: a certificate without quorum.
   */
  craftCertificate(header: Header, voters: number[]): Certificate {
    const digest = computeHeaderDigest(header)
    const secretKey = importEd25519SecretKey(this.key.seed)
    const votes = [...voters]
      .sort((a, b) => a - b)
      .map((voter) => ({
        voter,
        signature:
          voter === this.index
            ? signVote(secretKey, header, digest, voter).signature
            : new Uint8Array(randomBytes(64)),
      }))
    return { header, votes }
  }

  // ——— sending on /fleek/consensus/1.0.0 ———

  /** Raw bytes on this member's long-lived consensus stream to `target` (opened on first use). */
  async sendRaw(target: string, bytes: Uint8Array): Promise<void> {
    let stream = this.#streams.get(target)
    if (stream === undefined || stream.status !== 'open') {
      stream = await this.#libp2p.dialProtocol(peerIdOf(target), PROTOCOLS.consensus, {
        signal: AbortSignal.timeout(10_000),
      })
      this.#streams.set(target, stream)
    }
    if (!stream.send(bytes)) await stream.onDrain({ signal: AbortSignal.timeout(10_000) })
  }

  /** One MESSAGE frame per payload, in order, to each target. */
  async sendFrames(targets: readonly string[], payloads: readonly Uint8Array[]): Promise<void> {
    for (const target of targets)
      for (const payload of payloads) await this.sendRaw(target, encodeFrame(FrameKind.MESSAGE, payload))
  }

  /** Consensus messages, well framed, to each target. */
  async sendConsensus(targets: readonly string[], messages: readonly ConsensusMessage[]): Promise<void> {
    await this.sendFrames(targets, messages.map(encodeConsensusMessage))
  }

  /** A frame header announcing more than `maxBytes` (the reader must refuse it before the body). */
  async sendOversized(target: string, maxBytes: number): Promise<void> {
    const header = new Uint8Array(5)
    new DataView(header.buffer).setUint32(0, maxBytes + 2, false)
    header[4] = FrameKind.MESSAGE
    await this.sendRaw(target, Uint8Array.of(...header, 1, 2, 3))
  }

  // ——— gossip ———

  subscribe(topic: string): void {
    this.#libp2p.services.pubsub.subscribe(topic)
  }

  /** Publishes a signed gossip message (the honest nodes see this member as its author). */
  async publish(topic: string, message: Uint8Array): Promise<void> {
    await this.#libp2p.services.pubsub.publish(topic, message).catch(() => undefined)
  }

  /** Peers of the gossip mesh subscribed to `topic`, as PeerKeys. */
  gossipPeers(topic: string): string[] {
    return this.#libp2p.services.pubsub
      .getSubscribers(topic)
      .map((id) => (id.publicKey === undefined ? '' : Buffer.from(id.publicKey.raw).toString('hex')))
  }
}

// ——— parcels ———

/** A parcel that is not the committee's: arbitrary transactions chained to `previous`. */
export function craftParcel(epoch: number, index: number, previous: Uint8Array, label: string): Parcel {
  return {
    epoch,
    index,
    timestampMs: 1,
    transactions: [new TextEncoder().encode(`byz-parcel-${label}`)],
    previous: new Uint8Array(previous),
  }
}

/** The gossip messages of a parcel and of the byzantine member's own (valid) attestation of it. */
export function craftParcelMessages(
  key: ByzantineKey,
  parcel: Parcel,
): { digest: Uint8Array; parcelMessage: Uint8Array; attestationMessage: Uint8Array } {
  const digest = computeParcelDigest(parcel)
  return {
    digest,
    parcelMessage: encodeParcelMessage({ kind: 'parcel', parcel }),
    attestationMessage: encodeParcelMessage({
      kind: 'attestation',
      attestation: signAttestation({ secret: key.seed, publicKey: key.publicKey }, digest, parcel.epoch),
    }),
  }
}

/** An attestation that claims `attester` (an honest member) but whose signature is random bytes. */
export function craftForgedAttestation(digest: Uint8Array, epoch: number, attester: Uint8Array): Uint8Array {
  const attestation: Attestation = {
    digest: new Uint8Array(digest),
    epoch,
    attester: new Uint8Array(attester),
    signature: new Uint8Array(randomBytes(64)),
  }
  return encodeParcelMessage({ kind: 'attestation', attestation })
}

/** A validly signed attestation by a key that is not on the committee. */
export function craftOutsiderAttestation(
  outsider: ByzantineKey,
  digest: Uint8Array,
  epoch: number,
): Uint8Array {
  const attestation = signAttestation({ secret: outsider.seed, publicKey: outsider.publicKey }, digest, epoch)
  return encodeParcelMessage({ kind: 'attestation', attestation })
}

/** Bytes that are not a DAG-CBOR message of any kind. */
export function craftGarbage(length = 64, fill = 0xff): Uint8Array {
  return new Uint8Array(length).fill(fill)
}

// ——— checkpoints ———

/** A checkpoint vote that names `signer` (an honest member's consensus key) but carries `forger`'s signature. */
export function craftForgedCheckpointVote(
  message: CheckpointMessage,
  signer: Uint8Array,
  forgerSecret: Uint8Array,
): Uint8Array {
  const signature = signConsensus(
    { kind: 'consensus', secret: forgerSecret },
    computeCheckpointDigest(message),
  )
  return encodeCheckpointVote({ ...message, signer: new Uint8Array(signer), signature })
}

/**
 * A checkpoint whose signer bitmap names `claimed` members (a quorum) while its aggregate holds only the
 * forger's own signature: the bad aggregate a byzantine peer could serve to a late node.
 */
export function craftBadAggregateCheckpoint(
  message: CheckpointMessage,
  claimed: readonly number[],
  committeeSize: number,
  forgerSecret: Uint8Array,
): Checkpoint {
  const signers = new Uint8Array(Math.ceil(committeeSize / 8))
  for (const i of claimed) signers[i >> 3] |= 1 << (i & 7)
  const own = signConsensus({ kind: 'consensus', secret: forgerSecret }, computeCheckpointDigest(message))
  return { ...message, signers, signature: aggregateSignatures([own, own]) }
}
