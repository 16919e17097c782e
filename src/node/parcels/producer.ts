/**
 * The committee side of parcels: each block a member executes becomes a parcel chained to the
 * previous one, plus the member's attestation; both go out on PARCEL_TOPIC. The chain head and the
 * recent parcels live in two tables of the node's Storage, written in one transaction per block.
 *
 * A parcel depends only on the ordered block (not on its execution), so the node may call
 * `onBlockExecuted` right before `Application.executeBlock` (write-ahead): a crash between the two
 * then leaves the head on this block, consensus delivers the block again, and the call for the same
 * sequence returns the same messages. Called after execution instead, a crash between the two would
 * leave this member's chain one parcel short.
 */
import { toHex } from '../../lib/bytes.ts'
import { FleekError } from '../../lib/errors.ts'
import type { Storage } from '../storage/index.ts'
import {
  type Attestation,
  GENESIS_PARCEL_DIGEST,
  type Parcel,
  computeParcelDigest,
  decodeCertifiedParcel,
  encodeCertifiedParcel,
  encodeParcelMessage,
  signAttestation,
} from './messages.ts'

/** Storage tables of the producer (beside the application's). */
export const PRODUCER_TABLE = 'parcels'
export const PRODUCER_ORDER_TABLE = 'parcelOrder'

export interface ParcelHead {
  digest: Uint8Array
  epoch: number
  /** Sub-DAG index of the head parcel; undefined for the genesis head. */
  index?: number
}

export interface ParcelProducerOptions {
  /** Parcels kept to answer fetches from nodes that missed them. */
  retainParcels: number
}

export const defaultParcelProducerOptions: ParcelProducerOptions = { retainParcels: 10_000 }

export interface ExecutedBlock {
  sequence: { epoch: number; index: number }
  timestampMs: number
  transactions: Uint8Array[]
}

export interface ProducedParcel {
  digest: Uint8Array
  parcel: Parcel
  /** The encoded ParcelMessage of the parcel, to publish on PARCEL_TOPIC. */
  parcelMessage: Uint8Array
  /** The encoded ParcelMessage of this member's attestation, to publish on PARCEL_TOPIC. */
  attestationMessage: Uint8Array
}

interface StoredHead {
  digest: Uint8Array
  epoch: number
  index: number | null
  /** Number of parcels produced (the order key of the next one). */
  count: number
}

export class ParcelProducer {
  readonly #options: ParcelProducerOptions
  readonly #storage: Storage
  readonly #key: { secret: Uint8Array; publicKey: Uint8Array }

  constructor(
    options: Partial<ParcelProducerOptions>,
    deps: { storage: Storage; nodeKey: { secret: Uint8Array; publicKey: Uint8Array } },
  ) {
    this.#options = { ...defaultParcelProducerOptions, ...options }
    this.#storage = deps.storage
    this.#key = deps.nodeKey
  }

  /** The last parcel produced (the genesis digest before the first). */
  head(): ParcelHead {
    const h = this.#readHead()
    return {
      digest: h.digest,
      epoch: h.epoch,
      ...(h.index !== null && { index: h.index }),
    }
  }

  /**
   * The parcel and attestation messages of an executed (or about to be executed) block. Calling it
   * again for the head's sequence returns the same messages; an older sequence is INVALID_INPUT.
   */
  onBlockExecuted(block: ExecutedBlock): ProducedParcel {
    const head = this.#readHead()
    const { epoch, index } = block.sequence
    if (head.index !== null && (epoch < head.epoch || (epoch === head.epoch && index <= head.index))) {
      if (epoch === head.epoch && index === head.index) return this.#produced(head.digest)
      throw new FleekError(
        'INVALID_INPUT',
        `block ${epoch}/${index} is older than the parcel head ${head.epoch}/${head.index}`,
      )
    }
    const parcel: Parcel = {
      epoch,
      index,
      timestampMs: block.timestampMs,
      transactions: block.transactions,
      previous: head.digest,
    }
    const digest = computeParcelDigest(parcel)
    const attestation = signAttestation(this.#key, digest, epoch)
    const certified = encodeCertifiedParcel({ parcel, attestations: [attestation] })
    const hex = toHex(digest)
    this.#storage.transaction(() => {
      const parcels = this.#storage.table(PRODUCER_TABLE)
      const order = this.#storage.table(PRODUCER_ORDER_TABLE)
      parcels.putBytes(`d:${hex}`, certified)
      order.put(head.count, hex)
      const old = head.count - this.#options.retainParcels
      if (old >= 0) {
        const oldHex = order.get(old)
        if (typeof oldHex === 'string') parcels.delete(`d:${oldHex}`)
        order.delete(old)
      }
      parcels.put('head', { digest, epoch, index, count: head.count + 1 } satisfies StoredHead)
    })
    return messagesOf(digest, parcel, attestation)
  }

  /** An encoded CertifiedParcel (with this member's attestation) for a fetch, or undefined. */
  getParcel(digest: Uint8Array): Uint8Array | undefined {
    return this.#storage.table(PRODUCER_TABLE).getBytes(`d:${toHex(digest)}`)
  }

  /** Moves the head (after a checkpoint restore: the checkpoint's parcel). */
  resetHead(head: ParcelHead): void {
    this.#storage.transaction(() => writeProducerHead(this.#storage, head))
  }

  #readHead(): StoredHead {
    const stored = this.#storage.table(PRODUCER_TABLE).get('head') as StoredHead | undefined
    return stored ?? { digest: GENESIS_PARCEL_DIGEST, epoch: 0, index: null, count: 0 }
  }

  #produced(digest: Uint8Array): ProducedParcel {
    const bytes = this.getParcel(digest)
    if (bytes === undefined) throw new FleekError('INTERNAL', 'the head parcel is missing from storage')
    const { parcel, attestations } = decodeCertifiedParcel(bytes)
    return messagesOf(digest, parcel, attestations[0])
  }
}

/** Moves the producer's head to `head` (inside the caller's storage transaction). */
export function writeProducerHead(storage: Storage, head: ParcelHead): void {
  const table = storage.table(PRODUCER_TABLE)
  const count = (table.get('head') as StoredHead | undefined)?.count ?? 0
  table.put('head', { digest: head.digest, epoch: head.epoch, index: head.index ?? null, count })
}

function messagesOf(digest: Uint8Array, parcel: Parcel, attestation: Attestation): ProducedParcel {
  return {
    digest,
    parcel,
    parcelMessage: encodeParcelMessage({ kind: 'parcel', parcel }),
    attestationMessage: encodeParcelMessage({ kind: 'attestation', attestation }),
  }
}
