/**
 * The full node's composition root (STYLE habit 3): the one place that builds the components from
 * their options and the modules they need, in dependency order, starts them, and closes them in
 * reverse on one AbortSignal. No component sees the node; each gets the narrow interfaces it uses.
 *
 *   keystore → genesis → storage → application → blockstore → network → checkpoint
 *     → epoch-consensus → txpool → parcels → execution → sync → duties → rpc
 *
 * docs/architecture.md draws the graph and says how a new component plugs in.
 */
import { join } from 'node:path'

import { base58btc } from 'multiformats/bases/base58'
import { Registry } from 'prom-client'

import { FleekError } from '../lib/errors.ts'
import { Application } from './application/index.ts'
import { Blockstore } from './blockstore/index.ts'
import { BlockExecution, committeeAddresses, loadOrCreateGenesis, registryRecords } from './chain/index.ts'
import { CHECKPOINT_TOPIC, CheckpointService } from './checkpoint/index.ts'
import type { Config } from './config.ts'
import { createConsensusMetrics } from './consensus/index.ts'
import { EpochDuties } from './duties/index.ts'
import { EpochConsensus } from './epoch-consensus/index.ts'
import type { NodeHome } from './home.ts'
import { Keystore } from './keystore/index.ts'
import type { Logger } from './logger.ts'
import { NodeMetrics } from './metrics.ts'
import { Network, createNetworkMetrics } from './network/index.ts'
import { OffenderLog } from './offenders.ts'
import { ParcelService } from './parcels/index.ts'
import type { NodeApi } from './rpc/api.ts'
import { createRpcMethods } from './rpc/methods.ts'
import { RpcServer } from './rpc/server.ts'
import { type NodeStatus, describeNode } from './status.ts'
import { type Storage, openLmdbStorage } from './storage/index.ts'
import { CatchUp } from './sync/index.ts'
import { TxPool } from './txpool/index.ts'

export interface NodeStartOptions {
  home: NodeHome
  config: Config
  /** Passphrase of encrypted keys. */
  passphrase?: string
  logger: Logger
  /** Called when the node stops by itself (a fatal error in a component). */
  onFatal?: (err: unknown) => void
}

/** A started node: the components, and what the CLI and the RPC read of them. */
export class FleekNode implements NodeApi {
  readonly startedAtMs = Date.now()
  rpcUrl = ''
  #closing: Promise<void> | undefined
  readonly #abort = new AbortController()
  readonly #closers: Array<() => unknown> = []

  private constructor(
    readonly app: Application,
    readonly nodeKey: Uint8Array,
    private readonly parts: {
      options: NodeStartOptions
      storage: Storage
      blockstore: Blockstore
      network: Network
      offenders: OffenderLog
      metrics: NodeMetrics
      checkpoints: CheckpointService
      txpool: TxPool
      parcels: ParcelService
      execution: BlockExecution
      consensus: EpochConsensus
      catchUp: CatchUp
    },
  ) {}

  /** Opens everything and starts consensus and the RPC server. */
  static async start(options: NodeStartOptions): Promise<FleekNode> {
    options.home.ensure()
    const lock = options.home.lock()
    const closers: Array<() => unknown> = [() => lock.release()]
    try {
      const node = await FleekNode.#init(options, closers)
      node.#closers.push(...closers)
      closers.length = 0
      lock.update({ rpcUrl: node.rpcUrl })
      return node
    } catch (err) {
      for (const close of closers.reverse()) await close()
      throw err
    }
  }

  /** Builds the components in dependency order; each one's closer is pushed as soon as it is open. */
  static async #init(options: NodeStartOptions, closers: Array<() => unknown>): Promise<FleekNode> {
    const { home, config, logger } = options
    const keystore = new Keystore({ dir: home.path(config.keystore.dir) })
    const pass = options.passphrase !== undefined ? { passphrase: options.passphrase } : {}
    const nodeKey = { secret: keystore.load('node', pass).secret, publicKey: keystore.publicKey('node') }
    // Loaded now so that a wrong passphrase fails at start, not at the first checkpoint.
    const consensusKey = {
      secret: keystore.load('consensus', pass).secret,
      publicKey: keystore.publicKey('consensus'),
    }
    const { genesis, path: genesisPath, created } = loadOrCreateGenesis(home, config, keystore)
    if (created)
      logger.info({ path: genesisPath, chainId: genesis.chainId }, 'created a single-node devnet genesis')

    const storage = openLmdbStorage(home.path(config.storage.dir))
    closers.push(() => storage.close())
    const app = Application.open(storage, genesis)
    const registry = new Registry()
    const blockstore = Blockstore.open(
      { dir: home.path(config.blockstore.dir), maxSizeBytes: config.blockstore.maxSizeBytes },
      { registry },
    )
    closers.push(() => blockstore.close())
    const offenders = new OffenderLog()
    // The network's lifetime is its own signal: it closes last but one, after everything that uses it.
    const networkAbort = new AbortController()
    const network = await Network.start(
      config.network,
      {
        nodeKey: { secret: nodeKey.secret },
        registry: registryRecords(app),
        committee: app.epochInfo().committee,
        logger: logger.child({ component: 'network' }),
        metrics: createNetworkMetrics(registry),
        onMisbehaviour: (peer, reason, detail) => {
          // Consensus traffic from a member of another epoch's committee is routine around a change;
          // an offence another component reported (`penalize`) is on record already.
          if (reason !== 'not-committee' && reason !== 'reported')
            offenders.record(peer, 'network', detail === undefined ? reason : `${reason}: ${detail}`)
        },
      },
      networkAbort.signal,
    )
    closers.push(() => network.close())

    // Nodes registered (or moved) since: dialled by their new addresses.
    const updateRegistry = (): void =>
      void network
        .setRegistry(registryRecords(app))
        .catch((err: unknown) => logger.warn({ err }, 'could not update the node registry'))
    // Callbacks of the components reach the node once it exists.
    const late: { node?: FleekNode } = {}
    const fatal = (err: unknown): void => {
      options.onFatal?.(err)
      void late.node?.close()
    }
    const checkpoints = new CheckpointService(
      { snapshotDir: home.path(config.sync.dir), snapshotsKept: config.sync.snapshotsKept },
      {
        storage,
        chain: app,
        network,
        nodeKey: nodeKey.publicKey,
        consensusKey,
        onMisbehaviour: (peer, reason) => {
          offenders.record(peer, 'checkpoint', reason)
          network.penalize(peer, `checkpoint: ${reason}`)
        },
        logger: logger.child({ component: 'checkpoint' }),
        registry,
      },
    )
    const consensus: EpochConsensus = new EpochConsensus(
      {
        dir: home.path(config.consensus.dir),
        consensus: (({ dir: _, faultWithholdReveal: __, ...o }) => o)(config.consensus),
      },
      {
        chain: app,
        network,
        nodeKey,
        execute: (block) => execution.execute(block),
        pending: () => txpool.pending(),
        // A member leaving the committee hands what it admitted but did not see executed to the members.
        onLeftCommittee: () => txpool.forwardStale(Date.now(), 0),
        onFatal: fatal,
        logger: logger.child({ component: 'consensus' }),
        metrics: createConsensusMetrics(registry),
      },
    )
    const isMember = (): boolean => consensus.isMember()
    const txpool = new TxPool(
      {},
      {
        chain: app,
        isCommitteeMember: isMember,
        order: (bytes) => consensus.submit(bytes),
        forward: (bytes, affinity) => network.forward(bytes, affinity),
        nodeKey,
        logger: logger.child({ component: 'txpool' }),
        registry,
      },
    )
    const parcels: ParcelService = new ParcelService(
      {},
      {
        storage,
        chain: app,
        network,
        nodeKey,
        isCommitteeMember: isMember,
        execute: (parcel, digest) => {
          // Held until a restore under way ends (the follower tries again; older parcels go stale).
          if (catchUp.restoring) throw new FleekError('UNAVAILABLE', 'restoring a checkpoint')
          execution.execute(
            {
              sequence: { epoch: parcel.epoch, index: parcel.index },
              timestampMs: parcel.timestampMs,
              transactions: parcel.transactions,
            },
            digest,
          )
        },
        onMisbehaviour: (peer, reason) => {
          offenders.record(peer, 'parcel', reason)
          network.penalize(peer, `parcel: ${reason}`)
          logger.warn({ peer, reason }, 'peer sent a bad parcel')
        },
        committeeAddresses: () => committeeAddresses(app),
        onFarBehind: (epoch) => catchUp.onFarBehind(epoch),
        logger: logger.child({ component: 'parcels' }),
      },
    )
    const execution: BlockExecution = new BlockExecution({
      chain: app,
      storage,
      parcels,
      txpool,
      onEpochEnded: (ended) => {
        checkpoints.onEpochEnded(ended)
        consensus.switchEpoch()
        updateRegistry()
      },
      onFatal: fatal,
      logger: logger.child({ component: 'execution' }),
      registry,
    })
    const catchUp = new CatchUp(
      { mode: config.sync.mode as 'checkpoint' | 'full' },
      {
        storage,
        checkpoints,
        parcels,
        onRestored: () => {
          consensus.switchEpoch()
          updateRegistry()
        },
        logger: logger.child({ component: 'sync' }),
      },
    )
    const metrics = new NodeMetrics(registry, { height: () => app.height() })
    const node = new FleekNode(app, nodeKey.publicKey, {
      options,
      storage,
      blockstore,
      network,
      offenders,
      metrics,
      checkpoints,
      txpool,
      parcels,
      execution,
      consensus,
      catchUp,
    })
    late.node = node
    closers.push(
      () => networkAbort.abort(),
      () => node.#closeComponents(),
    )

    // A node that starts behind restores the latest checkpoint its peers prove, before it follows.
    if (await catchUp.start(node.#abort.signal)) {
      await network.setRegistry(registryRecords(app))
      await network.setCommittee(app.epochInfo().committee)
    }
    if (node.#abort.signal.aborted) throw new FleekError('UNAVAILABLE', 'the node stopped while starting')
    node.#startComponents()
    const rpc = new RpcServer(config.rpc, {
      methods: createRpcMethods(node),
      health: () => ({ status: 'ok', height: app.height(), epoch: app.epochInfo().epoch }),
      metrics: () => metrics.render(),
      onRequest: (method, outcome) => metrics.rpcRequest(method, outcome),
      logger: logger.child({ component: 'rpc' }),
    })
    node.rpcUrl = (await rpc.listen()).url
    closers.push(() => rpc.close())
    const nodeId = base58btc.baseEncode(nodeKey.publicKey)
    const where = { rpc: node.rpcUrl, listen: network.addresses() }
    logger.info({ nodeId, ...where, height: app.height(), epoch: app.epochInfo().epoch }, 'node started')
    return node
  }

  #startComponents(): void {
    const { options, network, checkpoints, txpool, parcels, consensus } = this.parts
    const { config, home, logger } = options
    const signal = this.#abort.signal
    network.subscribe(CHECKPOINT_TOPIC, (message, from) => checkpoints.handleVote(message, from))
    network.onSyncRequest(async (_from, request) => checkpoints.answer(request) ?? parcels.answer(request))
    network.onTransaction((_from, bytes) => {
      try {
        txpool.submit(bytes)
      } catch (err) {
        logger.debug({ err: (err as Error).message }, 'forwarded transaction refused')
      }
    })
    checkpoints.start(signal)
    txpool.start(signal)
    parcels.start(signal)
    consensus.start(signal)
    new EpochDuties(
      { faultWithholdReveal: config.consensus.faultWithholdReveal },
      {
        chain: this.app,
        isCommitteeMember: () => consensus.isMember(),
        submitOwn: (call) => txpool.submitOwn(call),
        nodeKey: this.nodeKey,
        beaconSecretPath: join(home.path(config.consensus.dir), 'beacon-secret.json'),
        logger: logger.child({ component: 'duties' }),
      },
    ).start(signal)
    // Restored from a checkpoint: ask for the parcels after it at once.
    if (this.parts.catchUp.restored !== undefined && !consensus.isMember()) parcels.pollHead()
  }

  async #closeComponents(): Promise<void> {
    this.#abort.abort()
    await this.parts.catchUp.close()
    await this.parts.consensus.close()
  }

  get signal(): AbortSignal {
    return this.#abort.signal
  }

  get chain(): Application {
    return this.app
  }

  peerCount(): number {
    return this.parts.network.peers().filter((p) => p.connected).length
  }

  offenders(): ReturnType<OffenderLog['list']> {
    return this.parts.offenders.list()
  }

  checkpoint(epoch?: number): ReturnType<CheckpointService['get']> {
    return this.parts.checkpoints.get(epoch)
  }

  submit(bytes: Uint8Array): { txHash: string; known: boolean } {
    return this.parts.txpool.submit(bytes)
  }

  waitForReceipt(...args: Parameters<TxPool['waitForReceipt']>): ReturnType<TxPool['waitForReceipt']> {
    return this.parts.txpool.waitForReceipt(...args)
  }

  status(): NodeStatus {
    const { execution, blockstore, checkpoints, consensus, catchUp } = this.parts
    return describeNode({
      chain: this.app,
      nodeKey: this.nodeKey,
      peerId: this.parts.network.peerId,
      rpcUrl: this.rpcUrl,
      isCommitteeMember: consensus.isMember(),
      consensusRound: consensus.round(),
      peers: this.peerCount(),
      execution,
      blobs: blockstore.list(),
      startedAtMs: this.startedAtMs,
      sync: { mode: catchUp.mode, checkpoint: checkpoints.get(), restored: catchUp.restored },
    })
  }

  /** Stops everything in reverse order; idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#abort.abort()
      for (const close of this.#closers.reverse()) await close()
      this.parts.options.logger.info({}, 'node stopped')
    })()
    return this.#closing
  }
}
