/**
 * The full node: the one place that builds the components in dependency order and connects them
 * (STYLE habit 3). `FleekNode.start` returns a running node; `close()` (or the AbortSignal) tears it
 * down in reverse order.
 *
 *   keystore → genesis → storage → application → blockstore → network → consensus → rpc
 *
 * Consensus runs per epoch: each epoch's committee has its own DAG (in <consensus.dir>/epoch-N). When
 * a block completes the epoch change, the node stops the old epoch's consensus, starts the new one
 * (if it is still on the committee) and resubmits the transactions it had admitted that were not
 * executed yet, so none is lost at the boundary; replay protection makes a repeat harmless.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

import { base58btc } from 'multiformats/bases/base58'
import { Registry } from 'prom-client'

import { createDeadline } from '../lib/abort.ts'
import { hash } from '../lib/b3/index.ts'
import { toHex } from '../lib/bytes.ts'
import { FleekError, fromSystemError } from '../lib/errors.ts'
import { writeFileAtomic } from '../lib/fs/atomic-write.ts'
import { ethAddress, peerIdFromEd25519 } from '../lib/keys/index.ts'
import {
  type MethodCall,
  type Transaction,
  computeTransactionDigest,
  decodeTransaction,
  encodeTransaction,
  signTransaction,
  verifyTransaction,
} from '../lib/tx/index.ts'
import {
  Application,
  type BlockSequence,
  type ExecuteBlockResult,
  type Genesis,
  type Receipt,
  DEVNET_PARAMS,
  computeBeaconCommit,
  createDevnetGenesis,
  parseGenesis,
  serializeGenesis,
} from './application/index.ts'
import { Blockstore } from './blockstore/index.ts'
import {
  CHECKPOINT_TABLE,
  CHECKPOINT_TOPIC,
  type ChainedCheckpoint,
  type Checkpoint,
  CheckpointCollector,
  SNAPSHOT_CHUNK_BYTES,
  SnapshotStore,
  computeCommitteeDigest,
  decodeCheckpointSyncRequest,
  encodeCheckpoint,
  encodeCheckpointVote,
  encodeCheckpointsAnswer,
  encodeSnapshotChunk,
  exportSnapshot,
  fetchLatestCheckpoint,
  fetchSnapshot,
  importSnapshot,
  signCheckpoint,
} from './checkpoint/index.ts'
import type { Config } from './config.ts'
import { Consensus } from './consensus/index.ts'
import { LmdbDagStore } from './consensus/lmdb-store.ts'
import { Network, type NodeRecord } from './network/index.ts'
import {
  PARCEL_TOPIC,
  ParcelFollower,
  ParcelProducer,
  type ProducedParcel,
  decodeCertifiedParcel,
  decodeParcelRequest,
  encodeParcelMessage,
  encodeParcelRequest,
  writeFollowerHead,
  writeProducerHead,
} from './parcels/index.ts'
import type { NodeHome } from './home.ts'
import { Keystore } from './keystore/index.ts'
import type { Logger } from './logger.ts'
import { NodeMetrics } from './metrics.ts'
import { OffenderLog } from './offenders.ts'
import { createRpcMethods } from './rpc/methods.ts'
import { RpcServer } from './rpc/server.ts'
import type { NodeStatus, RestoredCheckpoint } from './status.ts'
import { type Storage, openLmdbStorage } from './storage/index.ts'

type HomeLock = ReturnType<NodeHome['lock']>

export interface NodeStartOptions {
  home: NodeHome
  config: Config
  /** Passphrase of encrypted keys. */
  passphrase?: string
  logger: Logger
  /** Called when the node stops by itself (a fatal error in a component). */
  onFatal?: (err: unknown) => void
}

const RECENT_RECEIPTS = 32
const MAX_VERIFIED = 100_000
const MAX_PENDING = 100_000
const DUTY_RETRY_MS = 10_000
const HEAD_POLL_IDLE_MS = 4000
/** Off the committee, a forwarded transaction not executed after this long is forwarded again. */
const REFORWARD_MS = 30_000
const bytesKey = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

/** The genesis the node runs: --genesis / [application] genesis, else the home's genesis.toml, else a new single-node devnet. */
export function loadOrCreateGenesis(
  home: NodeHome,
  config: Config,
  keystore: Keystore,
): { genesis: Genesis; path: string; created: boolean } {
  const configured = config.application.genesis
  const path = configured !== '' ? home.path(configured) : home.path('genesis.toml')
  if (configured !== '' || existsSync(path)) {
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      throw fromSystemError(err, 'read the genesis file', path)
    }
    return { genesis: parseGenesis(text), path, created: false }
  }
  const rpcPort = config.rpc.port
  const genesis = createDevnetGenesis({
    nodes: [
      {
        owner: ethAddress(keystore.publicKey('account')),
        publicKey: keystore.publicKey('node'),
        consensusKey: keystore.publicKey('consensus'),
        host: '127.0.0.1',
        ...(rpcPort !== 0 ? { ports: { rpc: rpcPort } } : {}),
      },
    ],
    epochTimeMs: config.application.devnetEpochTimeMs,
    faucet: true,
    params: DEVNET_PARAMS,
  })
  writeFileAtomic(path, serializeGenesis(genesis), { mode: 0o600 })
  return { genesis, path, created: true }
}

/** Where a node of the registry is reachable for consensus: its host and primary port. */
export function registryRecords(app: Application): NodeRecord[] {
  return app.nodes().map((n) => ({
    publicKey: n.publicKey,
    multiaddrs: [
      `/${/^\d+\.\d+\.\d+\.\d+$/.test(n.host) ? 'ip4' : n.host.includes(':') ? 'ip6' : 'dns4'}/${n.host}/tcp/${n.ports.primary}`,
    ],
  }))
}

/** The consensus keys of the committee of `epoch`, in committee order (undefined when unknown). */
export function committeeConsensusKeys(app: Application, epoch: number): Uint8Array[] | undefined {
  const members = app.committee(epoch)?.members
  if (members === undefined) return undefined
  const keys = members.map((m) => app.node(m)?.consensusKey)
  return keys.every((k) => k !== undefined) ? keys : undefined
}

/** Messages of another epoch than the running consensus: dropped quietly, kept when from the next one. */
const epochOf = (err: unknown): number | undefined => {
  const e = (err as FleekError | undefined)?.details?.messageEpoch
  return typeof e === 'number' ? e : undefined
}
const MAX_EARLY_MESSAGES = 10_000
const MAX_EARLY_BYTES = 64 * 1024 * 1024
const MAX_CHAIN_ANSWER = 64
/** After an epoch change, how long the votes get before a missing checkpoint is fetched from peers. */
const CHECKPOINT_BACKFILL_DELAY_MS = 5000
/** The whole checkpoint restore at start (checkpoints, snapshot, import). */
const RESTORE_TIMEOUT_MS = 120_000

/**
 * Sync mode checkpoint, at start: when a peer proves (a chain of committee-signed checkpoints from
 * this node's epoch) a checkpoint past this node's height, its state snapshot is fetched, verified
 * against the checkpoint's state root and imported in one transaction, together with the parcel heads
 * (the next parcels link to the checkpoint's) and the chain of checkpoints (served to others in turn).
 * Undefined when no peer is ahead by a checkpoint. Reopen the Application afterwards.
 */
async function restoreFromCheckpoint(deps: {
  app: Application
  storage: Storage
  network: Network
  snapshots: SnapshotStore
  nodeKey: Uint8Array
  offenders: OffenderLog
  logger: Logger
  signal: AbortSignal
}): Promise<RestoredCheckpoint | undefined> {
  const { app, storage, network, logger, signal } = deps
  const startedMs = Date.now()
  const me = toHex(deps.nodeKey)
  const peers = app
    .nodes()
    .map((n) => toHex(n.publicKey))
    .filter((k) => k !== me)
  const epoch = app.epochInfo().epoch
  const committee = committeeConsensusKeys(app, epoch)
  if (peers.length === 0 || committee === undefined) return undefined
  const sync = {
    request: (peer: string, bytes: Uint8Array, s: AbortSignal) => network.requestSync(peer, bytes, s),
    logger,
  }
  const onBad = (peer: string, reason: string): void => deps.offenders.record(peer, 'checkpoint', reason)
  const latest = await fetchLatestCheckpoint(sync, peers, { epoch, committee }, signal, onBad)
  const last = latest?.chain.at(-1)?.checkpoint
  if (latest === undefined || last === undefined || last.height <= app.height()) return undefined
  logger.info({ epoch: last.epoch, height: last.height, localHeight: app.height() }, 'restoring a checkpoint')
  const head = { digest: last.parcel, epoch: last.epoch, index: last.index }
  let lastErr: unknown
  for (const peer of latest.peers) {
    let bytes: Uint8Array
    try {
      bytes = (await fetchSnapshot(sync, [peer], last, signal, onBad)).bytes
    } catch (err) {
      if (signal.aborted) throw err
      lastErr = err
      continue
    }
    try {
      importSnapshot(storage, bytes, last.stateRoot, {
        lastSequence: { epoch: last.epoch, index: last.index },
        also: () => {
          writeFollowerHead(storage, head)
          writeProducerHead(storage, head)
          for (const { checkpoint } of latest.chain)
            storage.table(CHECKPOINT_TABLE).putBytes(checkpoint.epoch, encodeCheckpoint(checkpoint))
        },
      })
    } catch (err) {
      if (!(err instanceof FleekError) || (err.code !== 'INTEGRITY' && err.code !== 'INVALID_INPUT'))
        throw err
      onBad(peer, err.message)
      lastErr = err
      continue
    }
    deps.snapshots.save(last.epoch, bytes)
    const restored = {
      epoch: last.epoch,
      height: last.height,
      peer,
      snapshotBytes: bytes.length,
      durationMs: Date.now() - startedMs,
    }
    logger.info(restored, 'restored the state of a checkpoint')
    return restored
  }
  throw lastErr ?? new FleekError('UNAVAILABLE', 'no peer served a valid snapshot')
}

export class FleekNode {
  readonly app: Application
  readonly blockstore: Blockstore
  readonly genesisPath: string
  readonly nodeKey: Uint8Array
  readonly metrics: NodeMetrics
  /** Peers that broke a protocol rule, as every component reports them. */
  readonly offenders: OffenderLog
  rpcUrl = ''

  readonly #options: NodeStartOptions
  readonly #logger: Logger
  readonly #storage: Storage
  readonly #network: Network
  readonly #lock: HomeLock
  #headPolling = false
  /** Committee side: each executed block becomes a parcel, published with this member's attestation. */
  readonly #producer: ParcelProducer
  /** Everyone: executes parcels attested by 2f+1 members (how nodes off the committee follow the chain). */
  readonly #follower: ParcelFollower
  readonly #nodeSecret: Uint8Array
  readonly #consensusKey: { secret: Uint8Array; publicKey: Uint8Array }
  /** Checkpoint votes of the committee, aggregated and kept by epoch. */
  readonly #checkpoints: CheckpointCollector
  /** State snapshots at the latest epoch changes, served to late nodes. */
  readonly #snapshots: SnapshotStore
  /** The checkpoint this node restored at start (sync mode checkpoint), if any. */
  readonly #restored: RestoredCheckpoint | undefined
  readonly #abort: AbortController
  readonly #startedAtMs = Date.now()
  readonly #waiters = new Map<string, Set<(r: Receipt) => void>>()
  readonly #recent: Receipt[] = []
  /** Exact bytes of admitted transactions whose signatures were checked (execution skips the re-check). */
  readonly #verified = new Set<string>()
  readonly #executedAt: Array<{ atMs: number; count: number }> = []
  #consensus: { epoch: number; consensus: Consensus; store: LmdbDagStore } | undefined
  /** Transactions this node admitted and has not seen executed: resubmitted after an epoch change. */
  readonly #pending = new Map<string, Uint8Array>()
  /** Off the committee: when each pending transaction was last forwarded. */
  readonly #forwarded = new Map<string, number>()
  /** Consensus messages from members already in the next epoch, replayed once this node is there. */
  readonly #early: Array<{ epoch: number; from: string; bytes: Uint8Array }> = []
  #earlyBytes = 0
  #switching: Promise<void> | undefined
  #rpc: RpcServer | undefined
  /** Own transactions (epoch duties) not executed yet, for the next nonce. */
  readonly #ownPending = new Set<string>()
  /** When each epoch duty was last sent. */
  readonly #duties = new Map<string, number>()
  #epochTimer: ReturnType<typeof setInterval> | undefined
  #closing: Promise<void> | undefined

  private constructor(
    options: NodeStartOptions,
    parts: {
      storage: Storage
      app: Application
      blockstore: Blockstore
      network: Network
      abort: AbortController
      lock: HomeLock
      nodeSecret: Uint8Array
      nodeKey: Uint8Array
      genesisPath: string
      offenders: OffenderLog
      consensusKey: { secret: Uint8Array; publicKey: Uint8Array }
      snapshots: SnapshotStore
      restored: RestoredCheckpoint | undefined
    },
  ) {
    this.#options = options
    this.#logger = options.logger
    this.offenders = parts.offenders
    this.#storage = parts.storage
    this.app = parts.app
    this.blockstore = parts.blockstore
    this.#network = parts.network
    this.#producer = new ParcelProducer(
      {},
      { storage: parts.storage, nodeKey: { secret: parts.nodeSecret, publicKey: parts.nodeKey } },
    )
    this.#follower = new ParcelFollower(
      {},
      {
        storage: parts.storage,
        committee: (epoch) => this.app.committee(epoch)?.members,
        execute: (parcel, digest) =>
          this.#execute(
            {
              sequence: { epoch: parcel.epoch, index: parcel.index },
              timestampMs: parcel.timestampMs,
              transactions: parcel.transactions,
            },
            digest,
          ),
        fetch: (digest, signal, hints) => this.#fetchParcel(digest, signal, hints),
        isExecuted: (digest) => this.#producer.getParcel(digest) !== undefined,
        onMisbehaviour: (peer, reason) => {
          this.offenders.record(peer, 'parcel', reason)
          this.#logger.warn({ peer, reason }, 'peer sent a bad parcel')
        },
        logger: options.logger.child({ component: 'parcels' }),
      },
    )
    this.#abort = parts.abort
    this.#lock = parts.lock
    this.#nodeSecret = parts.nodeSecret
    this.#consensusKey = parts.consensusKey
    this.#snapshots = parts.snapshots
    this.#restored = parts.restored
    this.#checkpoints = new CheckpointCollector({
      storage: parts.storage,
      committeeKeys: (epoch) => committeeConsensusKeys(this.app, epoch),
      // Called while a gossiped vote is handled: thrown as INVALID_INPUT, it reaches the network, which
      // records the offender (with this reason) and strikes it (forged votes cost a pairing each).
      onMisbehaviour: (_peer, reason) => {
        throw new FleekError('INVALID_INPUT', `checkpoint vote: ${reason}`)
      },
    })
    this.nodeKey = parts.nodeKey
    this.genesisPath = parts.genesisPath
    this.metrics = new NodeMetrics(new Registry(), {
      height: () => this.app.height(),
      peers: () => this.peerCount(),
    })
  }

  /** Opens everything and starts consensus and the RPC server. */
  static async start(options: NodeStartOptions): Promise<FleekNode> {
    const { home } = options
    home.ensure()
    const lock = home.lock()
    try {
      return await FleekNode.#open(options, lock)
    } catch (err) {
      lock.release()
      throw err
    }
  }

  static async #open(options: NodeStartOptions, lock: HomeLock): Promise<FleekNode> {
    const { home, config, logger } = options
    const keystore = new Keystore({ dir: home.path(config.keystore.dir) })
    const pass = options.passphrase !== undefined ? { passphrase: options.passphrase } : {}
    const nodeKey = keystore.load('node', pass)
    // Loaded now so that a wrong passphrase fails at start, not at the first checkpoint.
    const consensusKey = {
      secret: keystore.load('consensus', pass).secret,
      publicKey: keystore.publicKey('consensus'),
    }
    const nodePublic = keystore.publicKey('node')
    const { genesis, path: genesisPath, created } = loadOrCreateGenesis(home, config, keystore)
    if (created)
      logger.info({ path: genesisPath, chainId: genesis.chainId }, 'created a single-node devnet genesis')
    if (config.consensus.faultWithholdReveal)
      logger.warn(
        {},
        'fault injection: this node commits to epoch beacons but never reveals (it will be slashed)',
      )

    const storage = openLmdbStorage(home.path(config.storage.dir))
    let app: Application
    try {
      app = Application.open(storage, genesis)
    } catch (err) {
      await storage.close()
      throw err
    }
    const blockstore = Blockstore.open({
      dir: home.path(config.blockstore.dir),
      maxSizeBytes: config.blockstore.maxSizeBytes,
    })
    // The node's lifetime: aborting it closes every component (the network listens to it directly).
    const abort = new AbortController()
    const offenders = new OffenderLog()
    let network: Network
    try {
      const info = app.epochInfo()
      network = await Network.start(
        {
          listen: config.network.listen,
          announce: config.network.announce,
          bootstrap: config.network.bootstrap,
          maxConnections: config.network.maxConnections,
        },
        {
          nodeKey: { secret: nodeKey.secret },
          registry: registryRecords(app),
          committee: info.committee,
          logger: logger.child({ component: 'network' }),
          // The network logs each case itself; consensus traffic from outside the committee is routine
          // around an epoch change.
          onMisbehaviour: (peer, reason, detail) => {
            // Consensus traffic from a member of another epoch's committee is routine around a change.
            if (reason !== 'not-committee')
              offenders.record(peer, 'network', detail === undefined ? reason : `${reason}: ${detail}`)
          },
        },
        abort.signal,
      )
    } catch (err) {
      await blockstore.close()
      await storage.close()
      throw err
    }
    const snapshots = new SnapshotStore({ dir: home.path(config.sync.dir), keep: config.sync.snapshotsKept })
    let restored: RestoredCheckpoint | undefined
    if (config.sync.mode === 'checkpoint') {
      try {
        // Bounded: past the deadline the node starts and follows the parcels instead.
        const deadline = createDeadline(RESTORE_TIMEOUT_MS, abort.signal)
        restored = await restoreFromCheckpoint({
          app,
          storage,
          network,
          snapshots,
          nodeKey: nodePublic,
          offenders,
          logger,
          signal: deadline.signal,
        }).finally(() => deadline.clear())
      } catch (err) {
        if (abort.signal.aborted) throw err
        logger.warn({ err: (err as Error).message }, 'checkpoint sync failed; following the parcels instead')
      }
      if (restored !== undefined) {
        app = Application.open(storage, genesis)
        await network.setCommittee(app.epochInfo().committee)
      }
    }
    const node = new FleekNode(options, {
      storage,
      app,
      blockstore,
      network,
      abort,
      lock,
      nodeSecret: nodeKey.secret,
      nodeKey: nodePublic,
      genesisPath,
      offenders,
      consensusKey,
      snapshots,
      restored,
    })
    try {
      node.#attachNetwork()
      node.#startConsensus()
      await node.#startRpc()
      node.#startEpochDriver()
    } catch (err) {
      await node.close()
      throw err
    }
    logger.info(
      {
        nodeId: base58btc.baseEncode(nodePublic),
        rpc: node.rpcUrl,
        listen: network.addresses(),
        height: app.height(),
        epoch: app.epochInfo().epoch,
      },
      'node started',
    )
    return node
  }

  get signal(): AbortSignal {
    return this.#abort.signal
  }

  get isCommitteeMember(): boolean {
    const me = toHex(this.nodeKey)
    return this.app.epochInfo().committee.some((m) => toHex(m) === me)
  }

  get peerId(): string {
    return this.#network.peerId
  }

  /** The network's listen addresses (with /p2p/<peer id>), for other nodes' bootstrap lists. */
  addresses(): string[] {
    return this.#network.addresses()
  }

  peerCount(): number {
    return this.#network.peers().filter((p) => p.connected).length
  }

  #attachNetwork(): void {
    this.#network.attachConsensus({
      handleMessage: async (from, bytes) => {
        const running = this.#consensus
        if (running === undefined) return
        try {
          await running.consensus.handleMessage(from, bytes)
        } catch (err) {
          const epoch = epochOf(err)
          if (epoch === undefined) throw err // a real fault: the network records it
          // Kept for the next epoch only, within a count and byte budget (a member cannot make us hoard).
          if (
            epoch === running.epoch + 1 &&
            this.#early.length < MAX_EARLY_MESSAGES &&
            this.#earlyBytes + bytes.length <= MAX_EARLY_BYTES
          ) {
            this.#early.push({ epoch, from, bytes })
            this.#earlyBytes += bytes.length
          }
        }
      },
      handleRequest: async (from, bytes) => {
        const running = this.#consensus
        if (running === undefined)
          throw new FleekError('UNAVAILABLE', 'consensus is not running on this node')
        return running.consensus.handleRequest(from, bytes)
      },
    })
    this.#network.subscribe(PARCEL_TOPIC, (message, from) => this.#follower.handleMessage(message, from))
    this.#network.subscribe(CHECKPOINT_TOPIC, (message, from) => {
      const checkpoint = this.#checkpoints.handleMessage(message, from)
      if (checkpoint !== undefined) this.#logCheckpoint(checkpoint)
    })
    this.#network.onSyncRequest(async (_from, request) => {
      const wanted = decodeCheckpointSyncRequest(request)
      if (wanted?.kind === 'checkpoints')
        return encodeCheckpointsAnswer(this.#checkpointChain(wanted.fromEpoch))
      if (wanted?.kind === 'snapshot')
        return encodeSnapshotChunk(this.#snapshots.read(wanted.epoch, wanted.offset, SNAPSHOT_CHUNK_BYTES))
      // A parcel by digest; the all-zero digest asks for this node's latest one (the chain head).
      let digest = decodeParcelRequest(request)
      if (digest.every((b) => b === 0)) digest = this.#producer.head().digest
      const parcel = this.#follower.getParcel(digest) ?? this.#producer.getParcel(digest)
      if (parcel === undefined) throw new FleekError('NOT_FOUND', 'no such parcel here')
      return parcel
    })
    this.#follower.start(this.#abort.signal)
    this.#startHeadPoll()
    // The checkpoint of the last epoch change, if this node was away when its votes went round.
    const epoch = this.app.epochInfo().epoch
    if (epoch > 0) this.#scheduleCheckpointBackfill(epoch - 1)
    // Restored from a checkpoint: ask for the parcels after it at once.
    if (this.#restored !== undefined && !this.isCommitteeMember) {
      this.#headPolling = true
      void this.#pollHead()
        .catch((err: unknown) => this.#logger.debug({ err: (err as Error).message }, 'head poll failed'))
        .finally(() => (this.#headPolling = false))
    }
    // Off the committee, nobody dials us: reach the committee so that parcels and forwarded
    // transactions flow (members keep each other connected themselves).
    if (!this.isCommitteeMember) {
      const members = new Set(this.app.epochInfo().committee.map(toHex))
      for (const record of registryRecords(this.app))
        if (members.has(toHex(record.publicKey)))
          for (const address of record.multiaddrs)
            void this.#network
              .connect(`${address}/p2p/${peerIdFromEd25519(record.publicKey)}`, this.#abort.signal)
              .catch((err: unknown) =>
                this.#logger.debug({ err: (err as Error).message }, 'could not reach a member'),
              )
    }
    this.#network.onTransaction((_from, bytes) => {
      try {
        this.submit(bytes)
      } catch (err) {
        this.#logger.debug({ err: (err as Error).message }, 'forwarded transaction refused')
      }
    })
  }

  /** Starts consensus for the application's current epoch when this node is on its committee. */
  #startConsensus(): void {
    const info = this.app.epochInfo()
    if (!this.isCommitteeMember) {
      // Messages kept for this epoch's consensus have no use off the committee.
      this.#early.splice(0)
      this.#earlyBytes = 0
      this.#logger.info({ epoch: info.epoch }, 'not on the committee this epoch; forwarding transactions')
      return
    }
    const { config, home } = this.#options
    const root = home.path(config.consensus.dir)
    const store = new LmdbDagStore(join(root, `epoch-${info.epoch}`))
    const committee = { epoch: info.epoch, members: info.committee.map((publicKey) => ({ publicKey })) }
    const consensus = new Consensus(
      {
        maxBatchBytes: config.consensus.maxBatchBytes,
        maxBatchDelayMs: config.consensus.maxBatchDelayMs,
        maxHeaderDelayMs: config.consensus.maxHeaderDelayMs,
        gcDepth: config.consensus.gcDepth,
      },
      {
        committee,
        keys: { secretKey: this.#nodeSecret, publicKey: this.nodeKey },
        store,
        network: this.#network,
        logger: this.#logger.child({ component: 'consensus', epoch: info.epoch }),
      },
    )
    consensus.onCommit(async (sub, transactions) => {
      this.#execute({
        sequence: { epoch: committee.epoch, index: sub.index },
        timestampMs: sub.timestampMs,
        transactions,
      })
    })
    consensus.start(this.#abort.signal)
    this.#consensus = { epoch: info.epoch, consensus, store }
    // Older epochs' DAGs are of no further use.
    for (const name of readdirSync(root)) {
      const m = /^epoch-(\d+)$/.exec(name)
      if (m && Number(m[1]) < info.epoch) rmSync(join(root, name), { recursive: true, force: true })
    }
    for (const bytes of this.#pending.values()) consensus.submit(bytes)
    const early = this.#early.splice(0)
    this.#earlyBytes = 0
    for (const m of early)
      if (m.epoch === info.epoch) void consensus.handleMessage(m.from, m.bytes).catch(() => undefined)
  }

  /** After the block that changed the epoch: the old epoch's consensus stops, the new one starts. */
  #switchEpoch(): void {
    this.#switching ??= (async () => {
      const old = this.#consensus
      const wasMember = old !== undefined
      this.#consensus = undefined
      if (old !== undefined) {
        await old.consensus.close()
        await old.store.close()
      }
      const info = this.app.epochInfo()
      await this.#network.setCommittee(info.committee)
      if (this.#abort.signal.aborted) return
      this.#startConsensus()
      // A member leaving the committee hands what it admitted but did not see executed to the members
      // who order transactions now (members that stay resubmit their own in #startConsensus).
      if (wasMember && !this.isCommitteeMember) this.#forwardStale(Date.now(), 0)
    })()
      .catch((err: unknown) => {
        this.#logger.fatal({ err }, 'could not start the next epoch; stopping')
        this.#options.onFatal?.(err)
        void this.close()
      })
      .finally(() => {
        this.#switching = undefined
      })
  }

  /**
   * Gossip is the fast path for parcels, not a guarantee: a node off the committee whose height has
   * not moved for a while asks a member for its latest certified parcel and hands it to the follower,
   * which then fetches whatever lies between (a late or restarted node catches up the same way).
   */
  #startHeadPoll(): void {
    let lastHeight = -1
    let stillSinceMs = Date.now()
    const timer = setInterval(() => {
      if (this.#abort.signal.aborted || this.isCommitteeMember) return
      const now = Date.now()
      this.#forwardStale(now, REFORWARD_MS)
      if (this.#headPolling) return
      const height = this.app.height()
      if (height !== lastHeight) {
        lastHeight = height
        stillSinceMs = now
        return
      }
      if (now - stillSinceMs < HEAD_POLL_IDLE_MS) return
      stillSinceMs = now
      this.#headPolling = true
      void this.#pollHead()
        .catch((err: unknown) => this.#logger.debug({ err: (err as Error).message }, 'head poll failed'))
        .finally(() => (this.#headPolling = false))
    }, HEAD_POLL_IDLE_MS / 2)
    timer.unref()
    this.#abort.signal.addEventListener('abort', () => clearInterval(timer), { once: true })
  }

  async #pollHead(): Promise<void> {
    const me = toHex(this.nodeKey)
    const members = this.app
      .epochInfo()
      .committee.map(toHex)
      .filter((k) => k !== me)
    const peer = members[Math.floor(Math.random() * members.length)]
    if (peer === undefined) return
    const deadline = createDeadline(10_000, this.#abort.signal)
    const bytes = await this.#network
      .requestSync(peer, encodeParcelRequest(new Uint8Array(32)), deadline.signal)
      .finally(() => deadline.clear())
    const certified = decodeCertifiedParcel(bytes)
    await this.#follower.handleMessage(
      encodeParcelMessage({ kind: 'parcel', parcel: certified.parcel }),
      peer,
    )
    for (const attestation of certified.attestations)
      await this.#follower.handleMessage(encodeParcelMessage({ kind: 'attestation', attestation }), peer)
  }

  /** Sends a transaction to the committee; one sender's transactions all go to the same member. */
  #forward(bytes: Uint8Array, tx: Transaction = decodeTransaction(bytes)): void {
    const sender = tx.payload.sender
    const affinity = 'account' in sender ? sender.account : toHex(sender.node)
    void this.#network
      .forward(bytes, affinity)
      .catch((err: unknown) => this.#logger.warn({ err }, 'forwarding failed'))
  }

  /** Off the committee: forwards again what this node holds that is still not executed after a while. */
  #forwardStale(nowMs: number, olderThanMs: number): void {
    for (const [txHash, bytes] of this.#pending) {
      const at = this.#forwarded.get(txHash) ?? 0
      if (nowMs - at < olderThanMs) continue
      this.#forwarded.set(txHash, nowMs)
      this.#forward(bytes)
    }
  }

  /** Asks the hinted peers, then the committee, for a parcel (an encoded certified parcel). */
  async #fetchParcel(digest: Uint8Array, signal: AbortSignal, hints: readonly string[]): Promise<Uint8Array> {
    const members = this.app.epochInfo().committee.map(toHex)
    const me = toHex(this.nodeKey)
    let last: unknown
    for (const peer of [...new Set([...hints, ...members])].filter((p) => p !== me)) {
      try {
        return await this.#network.requestSync(peer, encodeParcelRequest(digest), signal)
      } catch (err) {
        last = err
        if (signal.aborted) break
      }
    }
    throw last ?? new FleekError('UNAVAILABLE', 'no peer to fetch the parcel from')
  }

  /**
   * Executes one block: a committed sub-DAG (committee members; it becomes a parcel, published with
   * this member's attestation) or a parcel attested by the committee (`parcelDigest`). A block executed
   * already — delivered again after a crash, or by both paths — is skipped.
   */
  #execute(
    block: { sequence: BlockSequence; timestampMs: number; transactions: Uint8Array[] },
    parcelDigest?: Uint8Array,
  ): void {
    // A sub-DAG of an epoch that has ended (committed after the epoch-changing block) is not executed:
    // every member stops at the same block, and its transactions are resubmitted to the next epoch.
    if (block.sequence.epoch !== this.app.epochInfo().epoch) return
    if (this.app.hasExecuted(block.sequence)) {
      // A parcel of a block executed already: after a crash between the block and the producer's head
      // write, the head catches up here (else this member's next parcels would link to an old one).
      if (parcelDigest !== undefined) this.#advanceProducerHead(block.sequence, parcelDigest)
      return
    }
    let result: ExecuteBlockResult
    let produced: ProducedParcel | undefined
    try {
      // The parcel is recorded before the block executes, so a crash in between produces the same one again.
      if (parcelDigest === undefined) produced = this.#producer.onBlockExecuted(block)
      const digest = parcelDigest ?? produced!.digest
      result = this.app.executeBlock({
        ...block,
        digest,
        isVerified: (bytes) => this.#verified.has(bytesKey(bytes)),
      })
      const head = { digest, epoch: block.sequence.epoch, index: block.sequence.index }
      if (produced !== undefined) this.#follower.resetHead(head)
      else this.#producer.resetHead(head)
    } catch (err) {
      this.#logger.fatal({ err, sequence: block.sequence }, 'block execution failed; stopping')
      this.#options.onFatal?.(err)
      void this.close()
      throw err
    }
    if (produced !== undefined) {
      for (const message of [produced.parcelMessage, produced.attestationMessage])
        void this.#network
          .publish(PARCEL_TOPIC, message)
          .catch((err: unknown) => this.#logger.warn({ err }, 'could not publish a parcel'))
    }
    for (const bytes of block.transactions) this.#verified.delete(bytesKey(bytes))
    const now = Date.now()
    this.#executedAt.push({ atMs: now, count: result.receipts.length })
    while (this.#executedAt.length > 0 && now - this.#executedAt[0].atMs > 10_000) this.#executedAt.shift()
    for (const receipt of result.receipts) {
      this.metrics.receipt(receipt.status)
      this.#recent.push(receipt)
      if (receipt.txHash === undefined) continue
      const key = toHex(receipt.txHash)
      this.#pending.delete(key)
      this.#forwarded.delete(key)
      const waiting = this.#waiters.get(key)
      if (waiting) {
        this.#waiters.delete(key)
        for (const resolve of waiting) resolve(receipt)
      }
    }
    if (this.#recent.length > RECENT_RECEIPTS) this.#recent.splice(0, this.#recent.length - RECENT_RECEIPTS)
    this.#logger.debug(
      { height: result.height, txs: result.receipts.length, stateRoot: toHex(result.stateRoot) },
      'block executed',
    )
    if (result.newEpoch !== undefined) {
      this.#logger.info({ epoch: result.newEpoch }, 'epoch changed')
      this.#endEpoch({
        epoch: block.sequence.epoch,
        index: block.sequence.index,
        height: result.height,
        stateRoot: result.stateRoot,
        parcel: parcelDigest ?? produced!.digest,
      })
      this.#switchEpoch()
    }
  }

  #advanceProducerHead(sequence: BlockSequence, digest: Uint8Array): void {
    const head = this.#producer.head()
    const older =
      head.index === undefined ||
      head.epoch < sequence.epoch ||
      (head.epoch === sequence.epoch && head.index < sequence.index)
    if (older) this.#producer.resetHead({ digest, epoch: sequence.epoch, index: sequence.index })
  }

  /**
   * Right after the block that ended `ended.epoch`: the state snapshot is saved (to serve late nodes),
   * and a member of the ended epoch's committee signs the checkpoint and gossips its vote.
   */
  #endEpoch(ended: {
    epoch: number
    index: number
    height: number
    stateRoot: Uint8Array
    parcel: Uint8Array
  }): void {
    this.#scheduleCheckpointBackfill(ended.epoch)
    const snapshot = exportSnapshot(this.#storage)
    try {
      this.#snapshots.save(ended.epoch, snapshot)
    } catch (err) {
      this.#logger.warn({ err, epoch: ended.epoch }, 'could not save the state snapshot')
    }
    const me = toHex(this.nodeKey)
    if (!(this.app.committee(ended.epoch)?.members.some((m) => toHex(m) === me) ?? false)) return
    const next = committeeConsensusKeys(this.app, ended.epoch + 1)
    if (next === undefined) return
    const vote = signCheckpoint(this.#consensusKey, {
      ...ended,
      nextCommittee: computeCommitteeDigest(next),
      snapshotBytes: snapshot.length,
      snapshotHash: hash(snapshot),
    })
    const checkpoint = this.#checkpoints.addVote(vote)
    if (checkpoint !== undefined) this.#logCheckpoint(checkpoint)
    void this.#network
      .publish(CHECKPOINT_TOPIC, encodeCheckpointVote(vote))
      .catch((err: unknown) => this.#logger.warn({ err }, 'could not publish a checkpoint vote'))
  }

  /**
   * A checkpoint whose votes this node missed (down or restarting at the epoch change, or replaying
   * blocks long after) is fetched from peers a little later, verified against the committee that signed
   * it, and stored: so that this node can serve an unbroken chain to late nodes in turn.
   */
  #scheduleCheckpointBackfill(epoch: number): void {
    const timer = setTimeout(() => {
      if (this.#abort.signal.aborted || this.#checkpoints.get(epoch) !== undefined) return
      const committee = committeeConsensusKeys(this.app, epoch)
      if (committee === undefined) return
      const me = toHex(this.nodeKey)
      const peers = [
        ...new Set([
          ...(this.app.committee(epoch)?.members ?? []).map(toHex),
          ...this.app.epochInfo().committee.map(toHex),
        ]),
      ].filter((k) => k !== me)
      const sync = {
        request: (peer: string, bytes: Uint8Array, signal: AbortSignal) =>
          this.#network.requestSync(peer, bytes, signal),
        logger: this.#logger,
      }
      void fetchLatestCheckpoint(sync, peers, { epoch, committee }, this.#abort.signal, (peer, reason) =>
        this.offenders.record(peer, 'checkpoint', reason),
      )
        .then((latest) => {
          for (const { checkpoint } of latest?.chain ?? [])
            if (this.#checkpoints.get(checkpoint.epoch) === undefined) this.#checkpoints.save(checkpoint)
          if (latest !== undefined) this.#logger.debug({ epoch }, 'missed checkpoint fetched')
        })
        .catch((err: unknown) =>
          this.#logger.debug({ epoch, err: (err as Error).message }, 'checkpoint backfill failed'),
        )
    }, CHECKPOINT_BACKFILL_DELAY_MS)
    timer.unref()
  }

  #logCheckpoint(checkpoint: Checkpoint): void {
    this.#logger.info(
      { epoch: checkpoint.epoch, height: checkpoint.height, stateRoot: toHex(checkpoint.stateRoot) },
      'checkpoint',
    )
  }

  /** The checkpoint of `epoch` this node holds (the latest when no epoch is given). */
  checkpoint(epoch?: number): Checkpoint | undefined {
    return epoch === undefined ? this.#checkpoints.latest() : this.#checkpoints.get(epoch)
  }

  /** The stored checkpoints from `fromEpoch` on, each with the next committee's consensus keys (a late node's chain). */
  #checkpointChain(fromEpoch: number): ChainedCheckpoint[] {
    const chain: ChainedCheckpoint[] = []
    for (let epoch = fromEpoch; chain.length < MAX_CHAIN_ANSWER; epoch++) {
      const checkpoint = this.#checkpoints.get(epoch)
      const nextCommittee = committeeConsensusKeys(this.app, epoch + 1)
      if (checkpoint === undefined || nextCommittee === undefined) break
      chain.push({ checkpoint, nextCommittee })
    }
    return chain
  }

  async #startRpc(): Promise<void> {
    const { config } = this.#options
    const rpc = new RpcServer(
      { address: config.rpc.address, port: config.rpc.port, maxBodyBytes: config.rpc.maxBodyBytes },
      {
        methods: createRpcMethods(this),
        health: () => ({ status: 'ok', height: this.app.height(), epoch: this.app.epochInfo().epoch }),
        metrics: () => this.metrics.render(),
        onRequest: (method, outcome) => this.metrics.rpcRequest(method, outcome),
        logger: this.#logger.child({ component: 'rpc' }),
      },
    )
    this.rpcUrl = (await rpc.listen()).url
    this.#rpc = rpc
    this.#lock.update({ rpcUrl: this.rpcUrl })
  }

  /**
   * The epoch-change duties of a committee member, checked on a timer: signal ChangeEpoch once the
   * epoch's time is up; then, when the chain runs the commit–reveal beacon, commit to a random value
   * (saved durably first: losing it means being slashed), reveal it, and send a timeout transaction when
   * a phase's deadline passes on an idle chain. A duty not reflected in the chain after a while is sent
   * again.
   */
  #startEpochDriver(): void {
    const tick = (): void => {
      if (this.#abort.signal.aborted || !this.isCommitteeMember) return
      try {
        this.#epochDuties(Date.now())
      } catch (err) {
        this.#logger.warn({ err }, 'epoch duty failed')
      }
    }
    const info = this.app.epochInfo()
    const periodMs = Math.max(100, Math.min(1000, Math.floor((info.epochEndMs - info.epochStartMs) / 20)))
    this.#epochTimer = setInterval(tick, periodMs)
    this.#epochTimer.unref()
  }

  /** Sends `call` unless the same duty was sent less than DUTY_RETRY_MS ago. */
  #duty(key: string, nowMs: number, call: MethodCall): void {
    const sent = this.#duties.get(key)
    if (sent !== undefined && nowMs - sent < DUTY_RETRY_MS) return
    this.#duties.set(key, nowMs)
    this.submitOwn(call)
    this.#logger.info({ duty: key }, 'epoch duty sent')
  }

  #epochDuties(nowMs: number): void {
    const info = this.app.epochInfo()
    const epoch = info.epoch
    const me = toHex(this.nodeKey)
    const isMe = (k: Uint8Array): boolean => toHex(k) === me
    if (info.phase === 'running' || info.phase === 'signalling') {
      if (nowMs >= info.epochEndMs && !info.readyToChange.some(isMe))
        this.#duty(`change:${epoch}`, nowMs, { method: 'ChangeEpoch', args: { epoch } })
      return
    }
    const beacon = this.app.beacon(epoch)
    if (beacon === undefined || beacon.phase === 'done') return
    const round = beacon.round
    if (beacon.phaseEndsMs !== undefined && nowMs >= beacon.phaseEndsMs)
      this.#duty(`timeout:${epoch}:${round}:${beacon.phase}`, nowMs, {
        method: 'CommitteeBeaconTimeout',
        args: { epoch, round },
      })
    if (beacon.excluded.some(isMe)) return
    const mine = beacon.entries.find((e) => isMe(e.node))
    if (beacon.phase === 'commit' && mine === undefined) {
      const reveal = this.#beaconSecret(epoch, round)
      this.#duty(`commit:${epoch}:${round}`, nowMs, {
        method: 'CommitteeBeaconCommit',
        args: { epoch, round, commit: computeBeaconCommit(epoch, round, reveal) },
      })
    } else if (
      beacon.phase === 'reveal' &&
      mine !== undefined &&
      mine.reveal === undefined &&
      !this.#options.config.consensus.faultWithholdReveal
    ) {
      this.#duty(`reveal:${epoch}:${round}`, nowMs, {
        method: 'CommitteeBeaconReveal',
        args: { epoch, round, reveal: this.#beaconSecret(epoch, round) },
      })
    }
  }

  /** This member's random value for a beacon round, created once and saved before any commit is sent. */
  #beaconSecret(epoch: number, round: number): Uint8Array {
    const { config, home } = this.#options
    const path = join(home.path(config.consensus.dir), 'beacon-secret.json')
    try {
      const saved = JSON.parse(readFileSync(path, 'utf8')) as { epoch: number; round: number; reveal: string }
      if (saved.epoch === epoch && saved.round === round && /^[0-9a-f]{64}$/.test(saved.reveal))
        return Uint8Array.from(Buffer.from(saved.reveal, 'hex'))
    } catch {
      // none saved yet (or unreadable): draw a new one
    }
    const reveal = new Uint8Array(randomBytes(32))
    writeFileAtomic(path, JSON.stringify({ epoch, round, reveal: toHex(reveal) }), { mode: 0o600 })
    return reveal
  }

  /** Signs a transaction with the node key and submits it. */
  submitOwn(call: MethodCall): string {
    // The next nonce counts this node's own transactions still waiting: one that is never executed
    // (lost with a crash) stops counting once it leaves the pending set, so no gap stays forever.
    for (const h of this.#ownPending) if (!this.#pending.has(h)) this.#ownPending.delete(h)
    const nonce = (this.app.node(this.nodeKey)?.nonce ?? 0) + 1 + this.#ownPending.size
    const tx = signTransaction(
      { sender: { node: this.nodeKey }, nonce, chainId: this.app.chainId(), ...call },
      { kind: 'node', secret: this.#nodeSecret },
    )
    const { txHash } = this.submit(encodeTransaction(tx))
    this.#ownPending.add(txHash)
    return txHash
  }

  /**
   * Admits an encoded, signed transaction: it must decode, name this chain and carry a valid
   * signature. Resubmitting a known transaction is harmless (its hash comes back).
   */
  submit(bytes: Uint8Array): { txHash: string; known: boolean } {
    let tx: Transaction
    try {
      tx = decodeTransaction(bytes)
    } catch (err) {
      throw err instanceof FleekError
        ? err
        : new FleekError('INVALID_INPUT', 'the transaction does not decode')
    }
    if (tx.payload.chainId !== this.app.chainId())
      throw new FleekError(
        'INVALID_INPUT',
        `wrong chain id ${tx.payload.chainId} (this chain is ${this.app.chainId()})`,
      )
    const digest = computeTransactionDigest(tx.payload)
    if (!verifyTransaction(tx, digest))
      throw new FleekError('INVALID_INPUT', 'the transaction signature does not verify')
    const txHash = toHex(digest)
    if (this.app.receipt(digest) !== undefined || this.#pending.has(txHash)) return { txHash, known: true }
    if (this.#pending.size >= MAX_PENDING)
      throw new FleekError('UNAVAILABLE', 'the mempool is full; retry in a moment')
    if (!this.isCommitteeMember) {
      // Not on the committee: hand it to the members (they check it again on admission), and keep it
      // until it is executed, to hand it on again if it gets lost (a member leaving at an epoch change).
      this.#pending.set(txHash, bytes)
      this.#forwarded.set(txHash, Date.now())
      this.#forward(bytes, tx)
      return { txHash, known: false }
    }
    if (this.#verified.size >= MAX_VERIFIED) this.#verified.clear()
    this.#verified.add(bytesKey(bytes))
    this.#pending.set(txHash, bytes)
    // Between epochs (consensus restarting) the pending set carries it over.
    this.#consensus?.consensus.submit(bytes)
    return { txHash, known: false }
  }

  /** Resolves with the receipt of `txHash` once executed, or undefined after `timeoutMs`. */
  waitForReceipt(txHash: string, timeoutMs: number, signal?: AbortSignal): Promise<Receipt | undefined> {
    const existing = this.app.receipt(txHash)
    if (existing !== undefined) return Promise.resolve(existing)
    return new Promise((resolve) => {
      const set = this.#waiters.get(txHash) ?? new Set()
      this.#waiters.set(txHash, set)
      // Every listener and the timer go when the wait ends (long-lived signals must not collect them).
      const onAbort = (): void => done(undefined)
      const timer = setTimeout(onAbort, timeoutMs)
      timer.unref()
      const done = (r: Receipt | undefined): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#abort.signal.removeEventListener('abort', onAbort)
        set.delete(done)
        if (set.size === 0 && this.#waiters.get(txHash) === set) this.#waiters.delete(txHash)
        resolve(r)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#abort.signal.addEventListener('abort', onAbort, { once: true })
      set.add(done)
    })
  }

  status(): NodeStatus {
    const info = this.app.epochInfo()
    const now = Date.now()
    const windowed = this.#executedAt.filter((e) => now - e.atMs <= 5000)
    const count = windowed.reduce((a, e) => a + e.count, 0)
    const blobs = this.blockstore.list()
    const latest = this.#checkpoints.latest()
    return {
      nodeId: base58btc.baseEncode(this.nodeKey),
      peerId: this.#network.peerId,
      chainId: this.app.chainId(),
      rpcUrl: this.rpcUrl,
      epoch: info.epoch,
      epochEndMs: info.epochEndMs,
      height: this.app.height(),
      stateRoot: toHex(this.app.stateRoot()),
      committee: info.committee.map((k) => base58btc.baseEncode(k)),
      isCommitteeMember: this.isCommitteeMember,
      peers: this.peerCount(),
      txPerSecond: count / 5,
      recentReceipts: this.#recent.map((r) => ({
        txHash: r.txHash ? toHex(r.txHash) : '',
        method: r.method ?? '?',
        status: r.status,
        ...(r.reason !== undefined ? { reason: r.reason } : {}),
        height: r.height,
      })),
      content: { blobs: blobs.length, bytes: blobs.reduce((a, b) => a + b.sizeBytes, 0) },
      startedAtMs: this.#startedAtMs,
      sync: {
        mode: this.#options.config.sync.mode as 'checkpoint' | 'full',
        ...(latest !== undefined && { checkpoint: { epoch: latest.epoch, height: latest.height } }),
        ...(this.#restored !== undefined && { restored: this.#restored }),
      },
    }
  }

  /** Stops everything in reverse order; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort()
      if (this.#epochTimer) clearInterval(this.#epochTimer)
      await this.#rpc?.close()
      await this.#switching
      const running = this.#consensus
      this.#consensus = undefined
      await running?.consensus.close()
      await running?.store.close()
      await this.#network.close()
      await this.blockstore.close()
      await this.#storage.close()
      this.#lock.release()
      this.#logger.info({}, 'node stopped')
    })()
    return this.#closing
  }
}
