/**
 * Parcels and attestations (DESIGN §4): the wire formats through which nodes outside the committee
 * follow the chain. A parcel is one executed block (a committed sub-DAG) chained to the previous
 * parcel by its digest; an attestation is a committee member's ed25519 signature of a parcel digest.
 * Every decoder is strict: anything malformed or non-canonical is INVALID_INPUT.
 */
import * as dagCbor from '@ipld/dag-cbor'

import { deriveKey } from '../../lib/b3/index.ts'
import { FleekError } from '../../lib/errors.ts'
import { checkFields, decodeDagCbor, isRecord, readBytes, readUint } from '../../lib/strict-cbor.ts'
import { signNode, verifyNode } from '../../lib/keys/index.ts'

export const PARCEL_DIGEST_CONTEXT = 'fleek-network parcel v1'
/** The gossip topic of parcels and attestations. */
export const PARCEL_TOPIC = 'fleek/parcels/1'
/** The `previous` of the very first parcel of a chain. */
export const GENESIS_PARCEL_DIGEST: Uint8Array = deriveKey(PARCEL_DIGEST_CONTEXT, new Uint8Array(0))

export interface Parcel {
  epoch: number
  /** Index of the committed sub-DAG in its epoch. */
  index: number
  timestampMs: number
  /** The block's encoded transactions, in consensus order. */
  transactions: Uint8Array[]
  /** Digest of the previous parcel (the last of the previous epoch for an epoch's first one). */
  previous: Uint8Array
}

export interface Attestation {
  /** Digest of the attested parcel. */
  digest: Uint8Array
  epoch: number
  /** The attesting member's node key (ed25519, 32 B). */
  attester: Uint8Array
  /** ed25519 signature of `digest` (64 B). */
  signature: Uint8Array
}

/** A parcel with the attestations known for it: the answer to a fetch. */
export interface CertifiedParcel {
  parcel: Parcel
  attestations: Attestation[]
}

/** What travels on PARCEL_TOPIC. */
export type ParcelMessage =
  { kind: 'parcel'; parcel: Parcel } | { kind: 'attestation'; attestation: Attestation }

const DIGEST_BYTES = 32
const SIGNATURE_BYTES = 64
/** Bounds a decoded parcel (the gossip layer bounds the bytes too). */
export const MAX_PARCEL_TRANSACTIONS = 100_000
const MAX_ATTESTATIONS = 1024

export function encodeParcel(parcel: Parcel): Uint8Array {
  return dagCbor.encode(parcelValue(parcel))
}

export function computeParcelDigest(parcel: Parcel): Uint8Array {
  return deriveKey(PARCEL_DIGEST_CONTEXT, encodeParcel(parcel))
}

export function decodeParcel(bytes: Uint8Array): Parcel {
  return readParcel(decodeDagCbor(bytes, 'parcel'))
}

/** The member's attestation of `digest` (a parcel of `epoch`). */
export function signAttestation(
  key: { secret: Uint8Array; publicKey: Uint8Array },
  digest: Uint8Array,
  epoch: number,
): Attestation {
  const signature = signNode({ kind: 'node', secret: key.secret }, digest)
  return { digest: new Uint8Array(digest), epoch, attester: new Uint8Array(key.publicKey), signature }
}

/** True when the signature is the attester's over the digest (membership is the caller's check). */
export function verifyAttestation(attestation: Attestation): boolean {
  return verifyNode(attestation.attester, attestation.digest, attestation.signature)
}

export function encodeAttestation(attestation: Attestation): Uint8Array {
  return dagCbor.encode(attestationValue(attestation))
}

export function decodeAttestation(bytes: Uint8Array): Attestation {
  return readAttestation(decodeDagCbor(bytes, 'attestation'))
}

export function encodeParcelMessage(message: ParcelMessage): Uint8Array {
  return dagCbor.encode(
    message.kind === 'parcel'
      ? { parcel: parcelValue(message.parcel) }
      : { attestation: attestationValue(message.attestation) },
  )
}

export function decodeParcelMessage(bytes: Uint8Array): ParcelMessage {
  const value = decodeDagCbor(bytes, 'parcel message')
  if (!isRecord(value)) throw invalid('parcel message', 'is not a map')
  const keys = Object.keys(value)
  if (keys.length !== 1) throw invalid('parcel message', 'must hold exactly one of parcel, attestation')
  if (keys[0] === 'parcel') return { kind: 'parcel', parcel: readParcel(value.parcel) }
  if (keys[0] === 'attestation')
    return { kind: 'attestation', attestation: readAttestation(value.attestation) }
  throw invalid('parcel message', `has an unknown kind ${keys[0].slice(0, 32)}`)
}

export function encodeCertifiedParcel(certified: CertifiedParcel): Uint8Array {
  return dagCbor.encode({
    parcel: parcelValue(certified.parcel),
    attestations: certified.attestations.map(attestationValue),
  })
}

export function decodeCertifiedParcel(bytes: Uint8Array): CertifiedParcel {
  const value = decodeDagCbor(bytes, 'certified parcel')
  if (!isRecord(value)) throw invalid('certified parcel', 'is not a map')
  checkFields(value, ['attestations', 'parcel'], 'certified parcel')
  if (!Array.isArray(value.attestations) || value.attestations.length > MAX_ATTESTATIONS)
    throw invalid('certified parcel', 'attestations must be a list of at most 1024')
  return { parcel: readParcel(value.parcel), attestations: value.attestations.map(readAttestation) }
}

/** A sync request for one parcel (the answer is an encoded CertifiedParcel). */
export function encodeParcelRequest(digest: Uint8Array): Uint8Array {
  return dagCbor.encode({ parcel: readBytes(digest, DIGEST_BYTES, 'parcel request', 'parcel') })
}

export function decodeParcelRequest(bytes: Uint8Array): Uint8Array {
  const value = decodeDagCbor(bytes, 'parcel request')
  if (!isRecord(value)) throw invalid('parcel request', 'is not a map')
  checkFields(value, ['parcel'], 'parcel request')
  return readBytes(value.parcel, DIGEST_BYTES, 'parcel request', 'parcel')
}

// ---- internals ----

function parcelValue(p: Parcel): Record<string, unknown> {
  return {
    epoch: p.epoch,
    index: p.index,
    timestampMs: p.timestampMs,
    transactions: p.transactions,
    previous: p.previous,
  }
}

function attestationValue(a: Attestation): Record<string, unknown> {
  return { digest: a.digest, epoch: a.epoch, attester: a.attester, signature: a.signature }
}

function readParcel(value: unknown): Parcel {
  if (!isRecord(value)) throw invalid('parcel', 'is not a map')
  checkFields(value, ['epoch', 'index', 'previous', 'timestampMs', 'transactions'], 'parcel')
  const txs = value.transactions
  if (!Array.isArray(txs) || txs.length > MAX_PARCEL_TRANSACTIONS)
    throw invalid('parcel', `transactions must be a list of at most ${MAX_PARCEL_TRANSACTIONS}`)
  for (const tx of txs) if (!(tx instanceof Uint8Array)) throw invalid('parcel', 'a transaction is not bytes')
  return {
    epoch: readUint(value.epoch, 'parcel', 'epoch'),
    index: readUint(value.index, 'parcel', 'index'),
    timestampMs: readUint(value.timestampMs, 'parcel', 'timestampMs'),
    transactions: txs as Uint8Array[],
    previous: readBytes(value.previous, DIGEST_BYTES, 'parcel', 'previous'),
  }
}

function readAttestation(value: unknown): Attestation {
  if (!isRecord(value)) throw invalid('attestation', 'is not a map')
  checkFields(value, ['attester', 'digest', 'epoch', 'signature'], 'attestation')
  return {
    digest: readBytes(value.digest, DIGEST_BYTES, 'attestation', 'digest'),
    epoch: readUint(value.epoch, 'attestation', 'epoch'),
    attester: readBytes(value.attester, 32, 'attestation', 'attester'),
    signature: readBytes(value.signature, SIGNATURE_BYTES, 'attestation', 'signature'),
  }
}

function invalid(what: string, problem: string): FleekError {
  return new FleekError('INVALID_INPUT', `the ${what} ${problem}`)
}
