/**
 * State snapshots: every state table's entries, deterministic DAG-CBOR, so that a late node rebuilds
 * the state of a checkpoint's root from any peer's bytes and verifies it before anything is written.
 *
 *   {version: 1, genesisHash, tables: {<table>: [[key, bytes], …]}}  (keys in storage order)
 */
import * as dagCbor from '@ipld/dag-cbor'

import { concatBytes } from '../../lib/bytes.ts'
import { FleekError } from '../../lib/errors.ts'
import { BOOKKEEPING_TABLES } from '../application/application.ts'
import {
  type BlockSequence,
  STATE_TABLES,
  type StateTable,
  type StateTableEntries,
  restoreState,
} from '../application/index.ts'
import type { ReadView, Storage, StorageKey } from '../storage/index.ts'
import type { SnapshotStore } from './snapshot-store.ts'

const SNAPSHOT_VERSION = 1
/** The tables a snapshot reads: the state, and `chain` for the genesis hash. */
const SNAPSHOT_TABLES: readonly string[] = [...STATE_TABLES, BOOKKEEPING_TABLES.chain]
/** Bytes the encoder gathers before handing a piece to the writer. */
const PIECE_BYTES = 256 * 1024

/** Map keys in DAG-CBOR's order (shorter first, then bytewise), as `dagCbor.encode` writes them. */
const inDagCborOrder = (keys: readonly string[]): string[] =>
  Object.keys(dagCbor.decode(dagCbor.encode(Object.fromEntries(keys.map((k) => [k, null])))) as object)
const TOP_KEYS = inDagCborOrder(['version', 'genesisHash', 'tables'])
const TABLE_KEYS = inDagCborOrder(STATE_TABLES)

/** The snapshot of the committed state in `storage` (an opened Application's storage), in one buffer. */
export function exportSnapshot(storage: Storage): Uint8Array {
  const view = storage.readView(SNAPSHOT_TABLES)
  try {
    return concatBytes(...encodeSnapshot(view))
  } finally {
    view.close()
  }
}

/**
 * Writes the snapshot of the state committed in `storage` right now to `store` as epoch `epoch`'s,
 * without holding up the caller: the state is fixed when this is called (a read view, taken before
 * it returns its promise), then encoded and written piece by piece — hashed as it goes, never whole in
 * memory — to a temporary file renamed into place. Blocks executed meanwhile do not change it.
 * Resolves once the file is durable, with the bytes and BLAKE3 hash a checkpoint signs (equal to
 * `exportSnapshot`'s); `signal` abandons it (nothing written). Call it once the epoch-changing
 * block's transaction has committed (inside a transaction it rejects INTERNAL); it rejects NOT_FOUND
 * on a storage without a chain. Let it settle (abort, then await) before closing the storage.
 */
export async function writeSnapshot(
  storage: Storage,
  store: SnapshotStore,
  epoch: number,
  signal?: AbortSignal,
): Promise<{ sizeBytes: number; hash: Uint8Array }> {
  const view = storage.readView(SNAPSHOT_TABLES)
  try {
    return await store.write(epoch, encodeSnapshot(view), signal)
  } finally {
    view.close()
  }
}

/**
 * The snapshot's DAG-CBOR in pieces, exactly `dagCbor.encode({version, genesisHash, tables})` of the
 * view's state: {version: 1, genesisHash, tables: {<table>: [[key, bytes], …]}}. Reads the genesis
 * hash at once (NOT_FOUND without a chain); everything else as the pieces are taken.
 */
export function encodeSnapshot(view: ReadView): Iterable<Uint8Array> {
  const genesisHash = view.table(BOOKKEEPING_TABLES.chain).get('genesisHash')
  if (!(genesisHash instanceof Uint8Array))
    throw new FleekError('NOT_FOUND', 'the storage holds no chain to snapshot')
  return encodePieces(view, genesisHash)
}

function* encodePieces(view: ReadView, genesisHash: Uint8Array): Generator<Uint8Array> {
  const out = new PieceWriter(PIECE_BYTES)
  out.header(MAP, TOP_KEYS.length)
  for (const topKey of TOP_KEYS) {
    out.text(topKey)
    if (topKey === 'version') out.header(UINT, SNAPSHOT_VERSION)
    else if (topKey === 'genesisHash') out.byteString(genesisHash)
    else {
      out.header(MAP, TABLE_KEYS.length)
      for (const name of TABLE_KEYS) {
        const table = view.table(name)
        const count = table.count()
        out.text(name)
        out.header(ARRAY, count)
        let written = 0
        for (const [key, bytes] of table.entryBytes()) {
          out.header(ARRAY, 2)
          if (typeof key === 'number') out.header(UINT, key)
          else out.text(key)
          out.byteString(bytes)
          written++
          yield* out.full()
        }
        // A view is consistent, so this cannot differ; if it did, the CBOR would be malformed.
        if (written !== count)
          throw new FleekError('INTERNAL', `table ${name} listed ${written} entries, counted ${count}`)
      }
    }
  }
  yield* out.rest()
}

const UINT = 0
const BYTES = 2
const TEXT = 3
const ARRAY = 4
const MAP = 5

/** Gathers CBOR into pieces of about `size` bytes (a larger byte string goes out as its own piece). */
class PieceWriter {
  readonly #size: number
  #buf: Uint8Array
  #pos = 0
  /** Pieces ready to hand out, in order. */
  #ready: Uint8Array[] = []

  constructor(size: number) {
    this.#size = size
    this.#buf = new Uint8Array(size)
  }

  /** A major type with its argument, in the shortest form (as deterministic DAG-CBOR requires). */
  header(major: number, n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new FleekError('INTERNAL', `cannot encode ${n} in CBOR`)
    this.#room(9)
    const m = major << 5
    const b = this.#buf
    if (n < 24) b[this.#pos++] = m | n
    else if (n < 0x100) {
      b[this.#pos++] = m | 24
      b[this.#pos++] = n
    } else if (n < 0x10000) {
      b[this.#pos++] = m | 25
      b[this.#pos++] = n >>> 8
      b[this.#pos++] = n & 0xff
    } else if (n < 0x1_0000_0000) {
      b[this.#pos++] = m | 26
      new DataView(b.buffer, b.byteOffset).setUint32(this.#pos, n)
      this.#pos += 4
    } else {
      b[this.#pos++] = m | 27
      new DataView(b.buffer, b.byteOffset).setBigUint64(this.#pos, BigInt(n))
      this.#pos += 8
    }
  }

  text(s: string): void {
    const bytes = Buffer.from(s, 'utf8')
    this.header(TEXT, bytes.length)
    this.#raw(bytes)
  }

  byteString(bytes: Uint8Array): void {
    this.header(BYTES, bytes.length)
    this.#raw(bytes)
  }

  /** The pieces filled so far (none until a piece is full). */
  *full(): Generator<Uint8Array> {
    while (this.#ready.length > 0) yield this.#ready.shift() as Uint8Array
  }

  /** Everything left. */
  *rest(): Generator<Uint8Array> {
    this.#flush()
    yield* this.full()
  }

  #raw(bytes: Uint8Array): void {
    if (bytes.length > this.#size / 2) {
      // Large values go out as they are, after what is gathered (the reader copies or writes them
      // before asking for more).
      this.#flush()
      this.#ready.push(bytes)
      return
    }
    this.#room(bytes.length)
    this.#buf.set(bytes, this.#pos)
    this.#pos += bytes.length
  }

  #room(bytes: number): void {
    if (this.#pos + bytes > this.#size) this.#flush()
  }

  #flush(): void {
    if (this.#pos === 0) return
    this.#ready.push(this.#buf.subarray(0, this.#pos))
    this.#buf = new Uint8Array(this.#size)
    this.#pos = 0
  }
}

export interface ImportedSnapshot {
  stateRoot: Uint8Array
  /** The state's height and epoch (its `meta` table). */
  height: number
  epoch: number
}

/**
 * Replaces the state in `storage` by the snapshot's, in one transaction, after checking that its
 * Merkle root is `expectedRoot` (a verified checkpoint's): INTEGRITY, and nothing written, when it is
 * not; INVALID_INPUT when the bytes are malformed or of another chain. `lastSequence` (for a
 * checkpoint: {epoch, index} of its block) marks the blocks up to it as executed; `also` runs in the
 * same transaction.
 * Reopen the Application on `storage` afterwards.
 */
export function importSnapshot(
  storage: Storage,
  bytes: Uint8Array,
  expectedRoot: Uint8Array,
  options: { lastSequence?: BlockSequence; also?: () => void } = {},
): ImportedSnapshot {
  const { genesisHash, tables } = decodeSnapshot(bytes)
  const stateRoot = restoreState(storage, tables, expectedRoot, {
    genesisHash,
    ...(options.lastSequence !== undefined && { lastSequence: options.lastSequence }),
    ...(options.also !== undefined && { also: options.also }),
  })
  const meta = new Map(tables.find((t) => t.table === 'meta')?.entries ?? [])
  const read = (key: string): number => {
    const b = meta.get(key)
    const v = b === undefined ? undefined : (dagCbor.decode(b) as unknown)
    return typeof v === 'number' ? v : 0
  }
  return { stateRoot, height: read('height'), epoch: read('epoch') }
}

function decodeSnapshot(bytes: Uint8Array): { genesisHash: Uint8Array; tables: StateTableEntries[] } {
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new FleekError('INVALID_INPUT', 'the snapshot is not valid DAG-CBOR', { cause: err })
  }
  const bad = (problem: string): FleekError => new FleekError('INVALID_INPUT', `the snapshot ${problem}`)
  if (typeof value !== 'object' || value === null) throw bad('is not a map')
  const v = value as Record<string, unknown>
  if (v.version !== SNAPSHOT_VERSION)
    throw bad(`has version ${String(v.version)}; ${SNAPSHOT_VERSION} expected`)
  if (!(v.genesisHash instanceof Uint8Array) || v.genesisHash.length !== 32) throw bad('has no genesis hash')
  if (typeof v.tables !== 'object' || v.tables === null || Array.isArray(v.tables)) throw bad('has no tables')
  const tables: StateTableEntries[] = []
  for (const [table, entries] of Object.entries(v.tables as Record<string, unknown>)) {
    if (!(STATE_TABLES as readonly string[]).includes(table))
      throw bad(`names an unknown table ${table.slice(0, 40)}`)
    if (!Array.isArray(entries)) throw bad(`table ${table} is not a list`)
    for (const e of entries as unknown[]) {
      if (
        !Array.isArray(e) ||
        e.length !== 2 ||
        !(
          typeof e[0] === 'string' ||
          (typeof e[0] === 'number' && Number.isSafeInteger(e[0]) && e[0] >= 0)
        ) ||
        !(e[1] instanceof Uint8Array)
      )
        throw bad(`table ${table} has a malformed entry`)
    }
    tables.push({ table: table as StateTable, entries: entries as Array<[StorageKey, Uint8Array]> })
  }
  return { genesisHash: v.genesisHash, tables }
}
