import * as dagCbor from '@ipld/dag-cbor'
import { base58btc } from 'multiformats/bases/base58'
import { deriveKey } from '../../lib/b3/index.ts'
import { FleekError } from '../../lib/errors.ts'
import { EMPTY_ROOT } from '../../lib/merkle/index.ts'
import { AccountKeyCache, COMMODITY_TYPES, PARAM_NAMES, normalizeAddress } from '../../lib/tx/index.ts'
import type { Storage, StorageKey } from '../storage/index.ts'
import { closeExpiredBeaconPhase } from './beacon.ts'
import { executeTransaction } from './executor.ts'
import type { Genesis } from './genesis.ts'
import { State, fromHex, toHex } from './records.ts'
import { STATE_TABLES, StateOverlay, type StateTable } from './state.ts'
import { proveStateEntry, updateStateRoot } from './state-root.ts'
import type {
  AccountInfo,
  BeaconState,
  BlockSequence,
  BlockRecord,
  Committee,
  EpochInfo,
  ExecuteBlockInput,
  ExecuteBlockResult,
  Latency,
  NodeInfo,
  NodeServed,
  ProtocolParams,
  Receipt,
  ReputationInfo,
  Service,
  TotalServed,
} from './types.ts'

/** Bookkeeping tables outside the state root. */
const CHAIN = 'chain'
const BLOCKS = 'blocks'
const RECEIPTS = 'receipts'
const MERKLE = 'merkle'
/** Names of the bookkeeping tables (state snapshots rebuild `merkle` and `chain`'s root). */
export const BOOKKEEPING_TABLES = {
  chain: CHAIN,
  blocks: BLOCKS,
  receipts: RECEIPTS,
  merkle: MERKLE,
} as const

export interface StateProof {
  root: Uint8Array
  table: string
  key: string | number
  /** The entry's DAG-CBOR bytes (what the leaf commits to), or undefined when absent. */
  value: Uint8Array | undefined
  /** encodeProof() of src/lib/merkle; verify with verifyProof(root, computeStateKey(table, key), value, decodeProof(proof)). */
  proof: Uint8Array
}

export interface ServedReport {
  epoch: number
  nodes: Array<{ node: Uint8Array } & NodeServed>
  total: TotalServed
}

/**
 * The deterministic state machine of the chain. It executes ordered blocks of transactions, each in
 * one database transaction (a crash mid-block leaves the previous state intact), and answers queries
 * from the committed state. Nodes that execute the same blocks from the same genesis have the same
 * state root.
 */
export class Application {
  readonly #storage: Storage
  readonly genesisHash: Uint8Array
  /**
   * OpenSSL key objects of recorded account keys, for the known-key signature check (shared with the
   * transaction pool's admission checks through `accountKeyCache`).
   */
  readonly accountKeyCache: AccountKeyCache

  private constructor(storage: Storage, genesisHash: Uint8Array) {
    this.#storage = storage
    this.genesisHash = genesisHash
    this.accountKeyCache = new AccountKeyCache()
  }

  /** Opens the state in `storage`, initialising it from `genesis` when empty. */
  static open(storage: Storage, genesis: Genesis): Application {
    const genesisHash = computeGenesisHash(genesis)
    const chain = storage.table(CHAIN)
    const stored = chain.get('genesisHash') as Uint8Array | undefined
    if (stored === undefined) {
      storage.transaction(() => initialiseFromGenesis(storage, genesis, genesisHash))
    } else if (toHex(stored) !== toHex(genesisHash)) {
      throw new FleekError(
        'INVALID_INPUT',
        `the database holds another chain (genesis ${toHex(stored).slice(0, 16)}…, given ${toHex(genesisHash).slice(0, 16)}…): use its genesis or a new data folder`,
      )
    }
    return new Application(storage, genesisHash)
  }

  /** Executes a block of encoded transactions in consensus order and commits it atomically. */
  executeBlock(block: ExecuteBlockInput): ExecuteBlockResult {
    if (!Array.isArray(block.transactions)) {
      throw new FleekError('INVALID_INPUT', 'block transactions must be a list of encoded transactions')
    }
    if (!Number.isSafeInteger(block.timestampMs) || block.timestampMs < 0) {
      throw new FleekError('INVALID_INPUT', 'block timestampMs must be a non-negative integer')
    }
    if (block.sequence !== undefined && this.hasExecuted(block.sequence)) {
      throw new FleekError(
        'INVALID_INPUT',
        `block ${block.sequence.epoch}/${block.sequence.index} was already executed`,
      )
    }
    const overlay = new StateOverlay(this.#storage)
    const state = new State(overlay)
    const chainId = state.getMetaNumber('chainId')
    const height = state.getMetaNumber('height') + 1
    const prevStateRoot = this.stateRoot()
    const receipts: Receipt[] = []
    let newEpoch: number | undefined
    // A beacon phase whose deadline this block's time has reached closes before its transactions.
    closeExpiredBeaconPhase(state, block.timestampMs)
    block.transactions.forEach((bytes, index) => {
      const receipt = executeTransaction(
        state,
        {
          chainId,
          height,
          index,
          timestampMs: block.timestampMs,
          accountKeys: this.accountKeyCache,
          ...(block.isVerified !== undefined && { isVerified: block.isVerified }),
        },
        bytes,
      )
      if (receipt.newEpoch !== undefined) newEpoch = receipt.newEpoch
      receipts.push(receipt)
    })
    state.putMetaNumber('height', height)

    const stateRoot = this.#storage.transaction(() => {
      const root = commitChanges(this.#storage, overlay, prevStateRoot)
      const receiptsTable = this.#storage.table(RECEIPTS)
      const written = new Set<string>()
      for (const r of receipts) {
        if (r.txHash === undefined) continue
        const key = toHex(r.txHash)
        // An applied transaction's receipt is the one kept; a rejected one is kept only if none exists.
        if (r.status === 'rejected' && (written.has(key) || receiptsTable.getBytes(key) !== undefined))
          continue
        receiptsTable.put(key, r)
        written.add(key)
      }
      const record: BlockRecord = {
        height,
        timestampMs: block.timestampMs,
        ...(block.digest !== undefined && { digest: block.digest }),
        txHashes: receipts.flatMap((r) => (r.txHash === undefined ? [] : [r.txHash])),
        transactions: block.transactions,
        prevStateRoot,
        stateRoot: root,
      }
      this.#storage.table(BLOCKS).put(height, record)
      if (block.sequence !== undefined)
        this.#storage.table(CHAIN).put('lastSequence', [block.sequence.epoch, block.sequence.index])
      return root
    })
    return { height, prevStateRoot, stateRoot, receipts, ...(newEpoch !== undefined && { newEpoch }) }
  }

  // ---- queries (committed state) ----

  #state(): State {
    return new State(new StateOverlay(this.#storage))
  }

  /** True when the block at this consensus position (or a later one) was executed already. */
  hasExecuted(sequence: BlockSequence): boolean {
    const last = this.#storage.table(CHAIN).get('lastSequence') as [number, number] | undefined
    if (last === undefined) return false
    return sequence.epoch < last[0] || (sequence.epoch === last[0] && sequence.index <= last[1])
  }

  height(): number {
    return this.#state().getMetaNumber('height')
  }

  chainId(): number {
    return this.#state().getMetaNumber('chainId')
  }

  stateRoot(): Uint8Array {
    return this.#storage.table(CHAIN).get('stateRoot') as Uint8Array
  }

  account(address: string): AccountInfo {
    return this.#state().getAccount(normalizeAddress(address))
  }

  /**
   * The account's secp256k1 public key (33 bytes, compressed) as recorded in the state by its first
   * executed transaction, or undefined before it. Admission checks its signatures against it.
   */
  accountPublicKey(address: string): Uint8Array | undefined {
    return this.#state().getAccountKey(normalizeAddress(address))
  }

  node(publicKey: Uint8Array | string): NodeInfo | undefined {
    return this.#state().getNode(parseNodeKey(publicKey))
  }

  nodes(): NodeInfo[] {
    return this.#state().listNodes()
  }

  committee(epoch?: number): Committee | undefined {
    const state = this.#state()
    return state.getCommittee(epoch ?? state.getMetaNumber('epoch'))
  }

  epochInfo(): EpochInfo {
    const state = this.#state()
    const epoch = state.getMetaNumber('epoch')
    const committee = state.getCommittee(epoch) as Committee
    const beacon = state.getBeacon(epoch)
    const running = beacon !== undefined && beacon.phase !== 'done'
    const signalling = committee.readyToChange.length > 0
    return {
      epoch,
      epochStartMs: committee.epochStartMs,
      epochEndMs: committee.epochEndMs,
      committee: committee.members,
      readyToChange: committee.readyToChange,
      height: state.getMetaNumber('height'),
      phase: running ? (beacon.phase as 'commit' | 'reveal') : signalling ? 'signalling' : 'running',
      beaconRound: running ? beacon.round : 0,
      ...(running
        ? { phaseEndsMs: beacon.phaseEndsMs }
        : !signalling && { phaseEndsMs: committee.epochEndMs }),
    }
  }

  /**
   * The commit–reveal beacon of the change away from `epoch` (default: the current one): its round,
   * phase, deadline, commits and reveals, slashes, and once done the seed. Undefined before it starts.
   */
  beacon(epoch?: number): BeaconState | undefined {
    const state = this.#state()
    return state.getBeacon(epoch ?? state.getMetaNumber('epoch'))
  }

  params(): ProtocolParams {
    return this.#state().getParams()
  }

  supply(): { total: bigint; yearStart: bigint } {
    const state = this.#state()
    return { total: state.getMetaAmount('totalSupply'), yearStart: state.getMetaAmount('supplyYearStart') }
  }

  reputation(publicKey: Uint8Array | string): ReputationInfo {
    const state = this.#state()
    const pkHex = parseNodeKey(publicKey)
    const score = state.getReputationScore(pkHex)
    return { ...(score !== undefined && { score }), measurements: state.listMeasurements(pkHex) }
  }

  latencies(): Latency[] {
    return this.#state()
      .overlay.entries('latencies')
      .map(([key, value]) => {
        const [a, b] = String(key).split(':')
        return { a: fromHex(a), b: fromHex(b), latencyMs: value as number }
      })
  }

  served(epoch?: number): ServedReport {
    const state = this.#state()
    const e = epoch ?? state.getMetaNumber('epoch')
    return {
      epoch: e,
      nodes: state.listServed(e).map(([pkHex, s]) => ({ node: fromHex(pkHex), ...s })),
      total: state.getTotalServed(e),
    }
  }

  contentProviders(uri: Uint8Array): Uint8Array[] {
    return this.#state().listContentProviders(toHex(uri)).map(fromHex)
  }

  services(): Service[] {
    return this.#state().listServices()
  }

  receipt(txHash: Uint8Array | string): Receipt | undefined {
    const key = typeof txHash === 'string' ? txHash.replace(/^0x/, '').toLowerCase() : toHex(txHash)
    return this.#storage.table(RECEIPTS).get(key) as Receipt | undefined
  }

  block(height: number): BlockRecord | undefined {
    return this.#storage.table(BLOCKS).get(height) as BlockRecord | undefined
  }

  /**
   * A proof of one state entry against the current root. Keys as stored: `accounts` and `accountKeys`
   * by lowercase address, `nodes` by public key hex, `committees` by epoch number, `params` and `meta` by name.
   */
  stateProof(table: StateTable, key: StorageKey): StateProof {
    if (!(STATE_TABLES as readonly string[]).includes(table)) {
      throw new FleekError('INVALID_INPUT', `unknown state table ${table}: one of ${STATE_TABLES.join(', ')}`)
    }
    const root = this.stateRoot()
    const value = this.#storage.table(table).getBytes(key)
    return { root, table, key, value, proof: proveStateEntry(this.#storage.table(MERKLE), root, table, key) }
  }
}

/** Writes the overlay's changes and the Merkle nodes; returns the new root. Inside a storage transaction. */
function commitChanges(storage: Storage, overlay: StateOverlay, prevRoot: Uint8Array): Uint8Array {
  const changes = overlay.changes()
  for (const c of changes) {
    const table = storage.table(c.table)
    if (c.bytes === undefined) table.delete(c.key)
    else table.putBytes(c.key, c.bytes)
  }
  const root = updateStateRoot(storage.table(MERKLE), prevRoot, changes)
  storage.table(CHAIN).put('stateRoot', root)
  return root
}

function initialiseFromGenesis(storage: Storage, g: Genesis, genesisHash: Uint8Array): void {
  const overlay = new StateOverlay(storage)
  const state = new State(overlay)
  state.putMetaNumber('chainId', g.chainId)
  state.putMetaNumber('epoch', 0)
  state.putMetaNumber('height', 0)
  state.putMetaAmount('totalSupply', g.supplyAtGenesis)
  state.putMetaAmount('supplyYearStart', g.supplyAtGenesis)
  state.putMetaString('governanceAddress', g.governanceAddress)
  state.putMetaString('protocolFundAddress', g.protocolFundAddress)
  state.putFaucet(g.faucet)
  for (const name of PARAM_NAMES) state.putParam(name, g.params[name])
  for (const a of g.accounts) state.putAccount(a.address, { flk: a.flk, usd: a.usd, nonce: 0 })
  const minStake = BigInt(g.params.minStake) * 10n ** 18n
  for (const n of g.nodes) {
    state.putNode({
      publicKey: n.publicKey,
      owner: n.owner,
      consensusKey: n.consensusKey,
      host: n.host,
      ports: n.ports,
      stake: { staked: n.stake, locked: 0n, lockedUntil: 0, stakeLockedUntil: n.stakeLockedUntil },
      stakedSince: 0,
      participation: n.stake >= minStake ? 'true' : 'false',
      nonce: 0,
    })
    state.putConsensusKey(toHex(n.consensusKey), toHex(n.publicKey))
  }
  state.putCommittee({
    epoch: 0,
    members: g.nodes.filter((n) => n.committee).map((n) => n.publicKey),
    readyToChange: [],
    epochStartMs: g.epochStartMs,
    epochEndMs: g.epochStartMs + g.params.epochTimeMs,
  })
  for (const s of g.services) state.putService({ id: s.id, owner: s.owner, commodityType: s.commodityType })
  state.putTotalServed(0, { served: COMMODITY_TYPES.map(() => 0n), rewardPool: 0n })

  const root = commitChanges(storage, overlay, EMPTY_ROOT)
  storage.table(CHAIN).put('genesisHash', genesisHash)
  const record: BlockRecord = {
    height: 0,
    timestampMs: g.epochStartMs,
    txHashes: [],
    transactions: [],
    prevStateRoot: EMPTY_ROOT,
    stateRoot: root,
  }
  storage.table(BLOCKS).put(0, record)
}

/** deriveKey("fleek-network genesis v1", dagcbor(genesis with amounts as decimal strings)). */
export function computeGenesisHash(g: Genesis): Uint8Array {
  const cborable = JSON.parse(
    JSON.stringify(g, (_k, v: unknown) => {
      if (typeof v === 'bigint') return v.toString()
      if (v instanceof Uint8Array) return { bytes: toHex(v) }
      return v
    }),
  ) as unknown
  return deriveKey('fleek-network genesis v1', dagCbor.encode(cborable))
}

/** A node public key given as bytes, 64 hex digits or base58 → lowercase hex. */
function parseNodeKey(publicKey: Uint8Array | string): string {
  if (publicKey instanceof Uint8Array) {
    if (publicKey.length !== 32) throw new FleekError('INVALID_INPUT', 'a node public key is 32 bytes')
    return toHex(publicKey)
  }
  if (/^[0-9a-fA-F]{64}$/.test(publicKey)) return publicKey.toLowerCase()
  try {
    const bytes = base58btc.baseDecode(publicKey)
    if (bytes.length === 32) return toHex(bytes)
  } catch {
    // fall through to the error below
  }
  throw new FleekError(
    'INVALID_INPUT',
    `${publicKey.slice(0, 60)} is not a node public key (base58 or 64 hex digits)`,
  )
}
