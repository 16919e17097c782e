/**
 * Narwhal wire messages: batches, headers, votes, certificates, and the requests that fetch missing
 * ones. Everything signed or hashed is deterministic DAG-CBOR; digests are BLAKE3 derive-key with a
 * context per kind; signatures are ed25519 (node:crypto) over the 32-byte digest.
 *
 * `decode*` functions check the shape and the committee facts (member indices, epoch, counts, round
 * bounds) and throw FleekError INVALID_INPUT on anything else; `verify*` functions check signatures
 * and quorums. Neither ever crashes on hostile bytes.
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'

import * as dagCbor from '@ipld/dag-cbor'

import { deriveKey } from '../../lib/b3/index.ts'
import { FleekError } from '../../lib/errors.ts'
import { computeQuorumThreshold, toHex, validateCommittee, type Committee } from './committee.ts'

export const headerDigestContext = 'fleek-network consensus header v1'
export const voteDigestContext = 'fleek-network consensus vote v1'
export const batchDigestContext = 'fleek-network consensus batch v1'

/** Hard bounds of the decoder (the network layer bounds message sizes before this). */
export const messageLimits = {
  maxRound: 2 ** 48,
  maxTransactionsPerBatch: 1_000_000,
  maxBatchesPerHeader: 10_000,
  maxDigestsPerRequest: 10_000,
  maxItemsPerResponse: 10_000,
} as const

export interface Batch {
  /** Encoded transactions, opaque to consensus. */
  transactions: Uint8Array[]
}

export interface Header {
  /** Committee index of the author. */
  author: number
  round: number
  epoch: number
  /** Digests of the batches this header orders. */
  batches: Uint8Array[]
  /** Digests of ≥ 2f+1 certificates of round − 1 (none in round 1). */
  parents: Uint8Array[]
  timestampMs: number
  /** ed25519 by the author over the header digest. */
  signature: Uint8Array
}

export interface Vote {
  /** Digest of the header voted for. */
  header: Uint8Array
  round: number
  epoch: number
  /** Committee index of the header's author. */
  author: number
  voter: number
  /** ed25519 by the voter over the vote digest. */
  signature: Uint8Array
}

export interface VoteSignature {
  voter: number
  signature: Uint8Array
}

export interface Certificate {
  header: Header
  /** ≥ 2f+1 votes, sorted by voter, no voter twice. */
  votes: VoteSignature[]
}

export type ConsensusMessage =
  | { type: 'batch'; batch: Batch }
  | { type: 'header'; header: Header }
  | { type: 'vote'; vote: Vote }
  | { type: 'certificate'; certificate: Certificate }

export type ConsensusRequest =
  { type: 'get-certificates'; digests: Uint8Array[] } | { type: 'get-batches'; digests: Uint8Array[] }

export type ConsensusResponse =
  { type: 'certificates'; certificates: Certificate[] } | { type: 'batches'; batches: Batch[] }

/** The committee with its keys parsed once, as the validators need it. */
export interface CommitteeContext {
  committee: Committee
  size: number
  quorum: number
  publicKeys: KeyObject[]
}

export function createCommitteeContext(committee: Committee): CommitteeContext {
  validateCommittee(committee)
  return {
    committee,
    size: committee.members.length,
    quorum: computeQuorumThreshold(committee.members.length),
    publicKeys: committee.members.map((m) => importEd25519PublicKey(m.publicKey)),
  }
}

const pkcs8Ed25519Prefix = Buffer.from('302e020100300506032b657004220420', 'hex')
const spkiEd25519Prefix = Buffer.from('302a300506032b6570032100', 'hex')

/** A node:crypto private key from the 32-byte ed25519 seed. */
export function importEd25519SecretKey(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new FleekError('INVALID_INPUT', 'the ed25519 secret key must be 32 bytes')
  return createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, seed]), format: 'der', type: 'pkcs8' })
}

export function importEd25519PublicKey(publicKey: Uint8Array): KeyObject {
  if (publicKey.length !== 32) throw new FleekError('INVALID_INPUT', 'an ed25519 public key must be 32 bytes')
  try {
    return createPublicKey({
      key: Buffer.concat([spkiEd25519Prefix, publicKey]),
      format: 'der',
      type: 'spki',
    })
  } catch (cause) {
    throw new FleekError('INVALID_INPUT', 'not a valid ed25519 public key', { cause })
  }
}

/** The 32-byte public key of a node:crypto ed25519 private key. */
export function exportEd25519PublicKey(secretKey: KeyObject): Uint8Array {
  const der = createPublicKey(secretKey).export({ format: 'der', type: 'spki' })
  return new Uint8Array(der.subarray(der.length - 32))
}

// ---------------------------------------------------------------------------------------------------
// Digests and signatures

export function computeBatchDigest(batch: Batch): Uint8Array {
  return deriveKey(batchDigestContext, dagCbor.encode({ transactions: batch.transactions }))
}

export function computeHeaderDigest(header: Omit<Header, 'signature'>): Uint8Array {
  const { author, round, epoch, batches, parents, timestampMs } = header
  return deriveKey(
    headerDigestContext,
    dagCbor.encode({ author, round, epoch, batches, parents, timestampMs }),
  )
}

export function computeVoteDigest(vote: Pick<Vote, 'header' | 'round' | 'epoch' | 'author'>): Uint8Array {
  const { header, round, epoch, author } = vote
  return deriveKey(voteDigestContext, dagCbor.encode({ header, round, epoch, author }))
}

/** A certificate is identified by its header's digest (one certificate per header). */
export function computeCertificateDigest(certificate: Certificate): Uint8Array {
  return computeHeaderDigest(certificate.header)
}

export function signHeader(secretKey: KeyObject, unsigned: Omit<Header, 'signature'>): Header {
  const digest = computeHeaderDigest(unsigned)
  return { ...unsigned, signature: new Uint8Array(sign(null, digest, secretKey)) }
}

export function signVote(
  secretKey: KeyObject,
  header: Header,
  headerDigest: Uint8Array,
  voter: number,
): Vote {
  const unsigned = { header: headerDigest, round: header.round, epoch: header.epoch, author: header.author }
  return { ...unsigned, voter, signature: new Uint8Array(sign(null, computeVoteDigest(unsigned), secretKey)) }
}

function verifySignature(key: KeyObject, digest: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, digest, key, signature)
  } catch {
    return false
  }
}

/** Checks the author's signature; returns the header digest. */
export function verifyHeader(ctx: CommitteeContext, header: Header): Uint8Array {
  checkHeaderFacts(ctx, header)
  const digest = computeHeaderDigest(header)
  if (!verifySignature(ctx.publicKeys[header.author], digest, header.signature)) {
    throw new FleekError(
      'INVALID_INPUT',
      `bad signature on the header of member ${header.author}, round ${header.round}`,
    )
  }
  return digest
}

/** Checks the voter's signature over the vote. */
export function verifyVote(ctx: CommitteeContext, vote: Vote): void {
  checkVoteFacts(ctx, vote)
  if (!verifySignature(ctx.publicKeys[vote.voter], computeVoteDigest(vote), vote.signature)) {
    throw new FleekError('INVALID_INPUT', `bad signature on the vote of member ${vote.voter}`)
  }
}

/** Checks the header, the quorum of distinct voters and every vote signature; returns the digest. */
export function verifyCertificate(ctx: CommitteeContext, certificate: Certificate): Uint8Array {
  checkCertificateFacts(ctx, certificate)
  const digest = verifyHeader(ctx, certificate.header)
  const { round, epoch, author } = certificate.header
  const voteDigest = computeVoteDigest({ header: digest, round, epoch, author })
  for (const { voter, signature } of certificate.votes) {
    if (!verifySignature(ctx.publicKeys[voter], voteDigest, signature)) {
      throw new FleekError(
        'INVALID_INPUT',
        `bad vote signature of member ${voter} in a certificate of round ${round}`,
      )
    }
  }
  return digest
}

// ---------------------------------------------------------------------------------------------------
// Encoding

export function encodeConsensusMessage(message: ConsensusMessage): Uint8Array {
  return dagCbor.encode(message)
}

export function encodeConsensusRequest(request: ConsensusRequest): Uint8Array {
  return dagCbor.encode(request)
}

export function encodeConsensusResponse(response: ConsensusResponse): Uint8Array {
  return dagCbor.encode(response)
}

function decodeCbor(bytes: Uint8Array, what: string): unknown {
  if (!(bytes instanceof Uint8Array)) throw new FleekError('INVALID_INPUT', `${what}: expected bytes`)
  try {
    return dagCbor.decode(bytes)
  } catch (cause) {
    throw new FleekError('INVALID_INPUT', `${what}: not valid DAG-CBOR`, { cause })
  }
}

/** Decodes and checks a consensus message against the committee (signatures are checked by verify*). */
export function decodeConsensusMessage(ctx: CommitteeContext, bytes: Uint8Array): ConsensusMessage {
  const value = decodeCbor(bytes, 'consensus message')
  const m = expectRecord(value, 'consensus message')
  switch (m.type) {
    case 'batch':
      expectKeys(m, ['type', 'batch'], 'batch message')
      return { type: 'batch', batch: readBatch(m.batch) }
    case 'header':
      expectKeys(m, ['type', 'header'], 'header message')
      return { type: 'header', header: readHeader(ctx, m.header) }
    case 'vote':
      expectKeys(m, ['type', 'vote'], 'vote message')
      return { type: 'vote', vote: readVote(ctx, m.vote) }
    case 'certificate':
      expectKeys(m, ['type', 'certificate'], 'certificate message')
      return { type: 'certificate', certificate: readCertificate(ctx, m.certificate) }
    default:
      throw new FleekError('INVALID_INPUT', 'consensus message: unknown type')
  }
}

export function decodeConsensusRequest(bytes: Uint8Array): ConsensusRequest {
  const m = expectRecord(decodeCbor(bytes, 'consensus request'), 'consensus request')
  if (m.type !== 'get-certificates' && m.type !== 'get-batches') {
    throw new FleekError('INVALID_INPUT', 'consensus request: unknown type')
  }
  expectKeys(m, ['type', 'digests'], 'consensus request')
  const digests = expectArray(m.digests, 'request digests', messageLimits.maxDigestsPerRequest).map((d) =>
    expectBytes(d, 'request digest', 32),
  )
  return { type: m.type, digests }
}

export function decodeConsensusResponse(ctx: CommitteeContext, bytes: Uint8Array): ConsensusResponse {
  const m = expectRecord(decodeCbor(bytes, 'consensus response'), 'consensus response')
  if (m.type === 'certificates') {
    expectKeys(m, ['type', 'certificates'], 'certificates response')
    const items = expectArray(m.certificates, 'certificates', messageLimits.maxItemsPerResponse)
    return { type: 'certificates', certificates: items.map((c) => readCertificate(ctx, c)) }
  }
  if (m.type === 'batches') {
    expectKeys(m, ['type', 'batches'], 'batches response')
    const items = expectArray(m.batches, 'batches', messageLimits.maxItemsPerResponse)
    return { type: 'batches', batches: items.map(readBatch) }
  }
  throw new FleekError('INVALID_INPUT', 'consensus response: unknown type')
}

// ---------------------------------------------------------------------------------------------------
// Shape checks

function readBatch(value: unknown): Batch {
  const b = expectRecord(value, 'batch')
  expectKeys(b, ['transactions'], 'batch')
  const transactions = expectArray(
    b.transactions,
    'batch transactions',
    messageLimits.maxTransactionsPerBatch,
  )
  return { transactions: transactions.map((t) => expectBytes(t, 'transaction')) }
}

function readHeader(ctx: CommitteeContext, value: unknown): Header {
  const h = expectRecord(value, 'header')
  expectKeys(h, ['author', 'round', 'epoch', 'batches', 'parents', 'timestampMs', 'signature'], 'header')
  // The epoch first: a header of another epoch is sized for another committee (routine around a change).
  checkEpoch(ctx, expectUint(h.epoch, 'header epoch'), 'header')
  const header: Header = {
    author: expectUint(h.author, 'header author'),
    round: expectUint(h.round, 'header round'),
    epoch: expectUint(h.epoch, 'header epoch'),
    batches: expectArray(h.batches, 'header batches', messageLimits.maxBatchesPerHeader).map((d) =>
      expectBytes(d, 'batch digest', 32),
    ),
    parents: expectArray(h.parents, 'header parents', ctx.size).map((d) =>
      expectBytes(d, 'parent digest', 32),
    ),
    timestampMs: expectUint(h.timestampMs, 'header timestampMs'),
    signature: expectBytes(h.signature, 'header signature', 64),
  }
  checkHeaderFacts(ctx, header)
  return header
}

function readVote(ctx: CommitteeContext, value: unknown): Vote {
  const v = expectRecord(value, 'vote')
  expectKeys(v, ['header', 'round', 'epoch', 'author', 'voter', 'signature'], 'vote')
  const vote: Vote = {
    header: expectBytes(v.header, 'vote header digest', 32),
    round: expectUint(v.round, 'vote round'),
    epoch: expectUint(v.epoch, 'vote epoch'),
    author: expectUint(v.author, 'vote author'),
    voter: expectUint(v.voter, 'vote voter'),
    signature: expectBytes(v.signature, 'vote signature', 64),
  }
  checkVoteFacts(ctx, vote)
  return vote
}

function readCertificate(ctx: CommitteeContext, value: unknown): Certificate {
  const c = expectRecord(value, 'certificate')
  expectKeys(c, ['header', 'votes'], 'certificate')
  const header = readHeader(ctx, c.header)
  const votes = expectArray(c.votes, 'certificate votes', ctx.size).map((item) => {
    const v = expectRecord(item, 'certificate vote')
    expectKeys(v, ['voter', 'signature'], 'certificate vote')
    return {
      voter: expectUint(v.voter, 'certificate voter'),
      signature: expectBytes(v.signature, 'vote signature', 64),
    }
  })
  const certificate = { header, votes }
  checkCertificateFacts(ctx, certificate)
  return certificate
}

function checkEpoch(ctx: CommitteeContext, epoch: number, what: string): void {
  if (epoch !== ctx.committee.epoch)
    throw new FleekError('INVALID_INPUT', `${what} of epoch ${epoch}, expected ${ctx.committee.epoch}`, {
      details: { messageEpoch: epoch },
    })
}

function checkHeaderFacts(ctx: CommitteeContext, h: Header): void {
  checkEpoch(ctx, h.epoch, 'header')
  if (h.author >= ctx.size)
    throw new FleekError('INVALID_INPUT', `header author ${h.author} is not in the committee`)
  if (h.round < 1 || h.round > messageLimits.maxRound)
    throw new FleekError('INVALID_INPUT', `header round ${h.round} out of bounds`)
  if (h.round === 1 && h.parents.length !== 0)
    throw new FleekError('INVALID_INPUT', 'a round-1 header has no parents')
  if (h.round > 1 && h.parents.length < ctx.quorum) {
    throw new FleekError(
      'INVALID_INPUT',
      `header of round ${h.round} has ${h.parents.length} parents, needs ${ctx.quorum}`,
    )
  }
  if (new Set(h.parents.map(toHex)).size !== h.parents.length)
    throw new FleekError('INVALID_INPUT', 'header repeats a parent')
}

function checkVoteFacts(ctx: CommitteeContext, v: Vote): void {
  if (v.epoch !== ctx.committee.epoch)
    throw new FleekError('INVALID_INPUT', `vote of epoch ${v.epoch}, expected ${ctx.committee.epoch}`, {
      details: { messageEpoch: v.epoch },
    })
  if (v.author >= ctx.size || v.voter >= ctx.size)
    throw new FleekError('INVALID_INPUT', 'vote by or for a non-member')
  if (v.round < 1 || v.round > messageLimits.maxRound)
    throw new FleekError('INVALID_INPUT', `vote round ${v.round} out of bounds`)
}

function checkCertificateFacts(ctx: CommitteeContext, c: Certificate): void {
  if (c.votes.length < ctx.quorum) {
    throw new FleekError('INVALID_INPUT', `certificate has ${c.votes.length} votes, needs ${ctx.quorum}`)
  }
  for (const [i, v] of c.votes.entries()) {
    if (v.voter >= ctx.size)
      throw new FleekError('INVALID_INPUT', `certificate voter ${v.voter} is not in the committee`)
    if (i > 0 && v.voter <= c.votes[i - 1].voter) {
      throw new FleekError('INVALID_INPUT', 'certificate votes must be sorted by voter, without duplicates')
    }
  }
}

function expectRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new FleekError('INVALID_INPUT', `${what}: expected a map`)
  }
  return value as Record<string, unknown>
}

function expectKeys(record: Record<string, unknown>, keys: string[], what: string): void {
  const present = Object.keys(record)
  if (present.length !== keys.length || !keys.every((k) => Object.hasOwn(record, k))) {
    throw new FleekError('INVALID_INPUT', `${what}: expected exactly the fields ${keys.join(', ')}`)
  }
}

function expectArray(value: unknown, what: string, maxLength: number): unknown[] {
  if (!Array.isArray(value)) throw new FleekError('INVALID_INPUT', `${what}: expected a list`)
  if (value.length > maxLength) throw new FleekError('INVALID_INPUT', `${what}: more than ${maxLength} items`)
  return value
}

function expectBytes(value: unknown, what: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new FleekError('INVALID_INPUT', `${what}: expected bytes`)
  if (length !== undefined && value.length !== length) {
    throw new FleekError('INVALID_INPUT', `${what}: expected ${length} bytes, got ${value.length}`)
  }
  return value
}

function expectUint(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new FleekError('INVALID_INPUT', `${what}: expected a non-negative integer`)
  }
  return value
}

/** Decodes one certificate (as stored, or as a peer sent it) and checks its committee facts. */
export function decodeCertificate(ctx: CommitteeContext, bytes: Uint8Array): Certificate {
  return readCertificate(ctx, decodeCbor(bytes, 'certificate'))
}

export function encodeCertificate(certificate: Certificate): Uint8Array {
  return dagCbor.encode(certificate)
}

export function decodeHeader(ctx: CommitteeContext, bytes: Uint8Array): Header {
  return readHeader(ctx, decodeCbor(bytes, 'header'))
}

export function encodeHeader(header: Header): Uint8Array {
  return dagCbor.encode(header)
}

export function decodeBatch(bytes: Uint8Array): Batch {
  return readBatch(decodeCbor(bytes, 'batch'))
}

export function encodeBatch(batch: Batch): Uint8Array {
  return dagCbor.encode(batch)
}
