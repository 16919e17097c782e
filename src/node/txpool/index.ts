/**
 * The transaction pool: where every transaction enters the node (RPC, forwarded by peers, the node's
 * own epoch duties). It admits a transaction once it decodes, names this chain and its signature
 * verifies; keeps the exact bytes it verified (execution skips the re-check for them); holds what it
 * admitted until it sees it executed — to hand it to the next epoch's consensus, or to forward it to
 * the committee again when it got lost — and resolves receipt waiters.
 *
 * On the committee an admitted transaction goes to the running consensus (`order`); off it, to the
 * committee (`forward`), one sender's transactions all to the same member.
 */
import { setMaxListeners } from 'node:events'

import { Counter, Gauge, type Registry } from 'prom-client'

import { toHex } from '../../lib/bytes.ts'
import { FleekError } from '../../lib/errors.ts'
import {
  type MethodCall,
  type Transaction,
  computeDigestOfEncodedPayload,
  decodeTransaction,
  decodeTransactionParts,
  encodeTransaction,
  signTransaction,
  verifyTransaction,
} from '../../lib/tx/index.ts'
import type { Application, Receipt } from '../application/index.ts'
import type { Logger } from '../logger.ts'

export interface TxPoolOptions {
  /** Transactions admitted and not seen executed yet. */
  maxPending: number
  /** Exact bytes whose signature was checked at admission (execution skips the re-check). */
  maxVerified: number
  /** Off the committee, a forwarded transaction not executed after this long is forwarded again. */
  reforwardMs: number
}

export const defaultTxPoolOptions: TxPoolOptions = {
  maxPending: 100_000,
  maxVerified: 100_000,
  reforwardMs: 30_000,
}

export interface TxPoolDeps {
  chain: Pick<Application, 'chainId' | 'receipt' | 'node' | 'accountPublicKey' | 'accountKeyCache'>
  /** True while this node is on the committee (it orders transactions itself). */
  isCommitteeMember(): boolean
  /** Hands an admitted transaction to the running consensus (dropped between epochs: `pending` carries it). */
  order(bytes: Uint8Array): void
  /** Sends a transaction to the committee; `affinity` keeps one sender's transactions on one member. */
  forward(bytes: Uint8Array, affinity: string): Promise<unknown>
  /** Signs this node's own transactions (epoch duties). */
  nodeKey: { secret: Uint8Array; publicKey: Uint8Array }
  logger: Logger
  registry?: Registry
}

const bytesKey = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')

export class TxPool {
  readonly #options: TxPoolOptions
  readonly #deps: TxPoolDeps
  readonly #verified = new Set<string>()
  /** Admitted and not seen executed: tx hash → bytes. */
  readonly #pending = new Map<string, Uint8Array>()
  /** Off the committee: when each pending transaction was last forwarded. */
  readonly #forwarded = new Map<string, number>()
  /** This node's own transactions not executed yet, for the next nonce. */
  readonly #own = new Set<string>()
  readonly #waiters = new Map<string, Set<(r: Receipt | undefined) => void>>()
  readonly #admitted: Counter<'path'> | undefined
  readonly #refused: Counter<'reason'> | undefined
  #signal: AbortSignal = new AbortController().signal

  constructor(options: Partial<TxPoolOptions>, deps: TxPoolDeps) {
    this.#options = { ...defaultTxPoolOptions, ...options }
    this.#deps = deps
    const registers = deps.registry !== undefined ? [deps.registry] : []
    if (registers.length > 0) {
      const pending = this.#pending
      new Gauge({
        name: 'fleek_txpool_pending_transactions',
        help: 'Transactions admitted and not seen executed yet.',
        registers,
        collect() {
          this.set(pending.size)
        },
      })
      this.#admitted = new Counter({
        name: 'fleek_txpool_admitted_total',
        help: 'Transactions admitted, by path (ordered here, forwarded to the committee).',
        labelNames: ['path'],
        registers,
      })
      this.#refused = new Counter({
        name: 'fleek_txpool_refused_total',
        help: 'Transactions refused at admission, by reason.',
        labelNames: ['reason'],
        registers,
      })
    }
  }

  /** Starts forwarding stale transactions again while off the committee; stops with `signal`. */
  start(signal: AbortSignal): void {
    // Every receipt waiter listens for the node stopping: any number of them, on a signal of our own.
    const lifetime = new AbortController()
    setMaxListeners(0, lifetime.signal)
    signal.addEventListener('abort', () => lifetime.abort(), { once: true })
    this.#signal = lifetime.signal
    const timer = setInterval(
      () => {
        if (!signal.aborted && !this.#deps.isCommitteeMember())
          this.forwardStale(Date.now(), this.#options.reforwardMs)
      },
      Math.max(250, Math.floor(this.#options.reforwardMs / 15)),
    )
    timer.unref()
    signal.addEventListener('abort', () => clearInterval(timer), { once: true })
  }

  get size(): number {
    return this.#pending.size
  }

  /**
   * Admits an encoded, signed transaction: it must decode, name this chain and carry a valid
   * signature. Resubmitting a known transaction is harmless (its hash comes back).
   */
  submit(bytes: Uint8Array): { txHash: string; known: boolean } {
    let tx: Transaction
    let payloadBytes: Uint8Array
    try {
      ;({ tx, payloadBytes } = decodeTransactionParts(bytes))
    } catch (err) {
      this.#refused?.inc({ reason: 'decode' })
      throw err instanceof FleekError
        ? err
        : new FleekError('INVALID_INPUT', 'the transaction does not decode')
    }
    const chainId = this.#deps.chain.chainId()
    if (tx.payload.chainId !== chainId) {
      this.#refused?.inc({ reason: 'chain_id' })
      throw new FleekError('INVALID_INPUT', `wrong chain id ${tx.payload.chainId} (this chain is ${chainId})`)
    }
    const digest = computeDigestOfEncodedPayload(payloadBytes)
    // An account with a key recorded in the chain state is checked against it, others by recovery.
    const verified = verifyTransaction(tx, digest, {
      accountKey: (address) => this.#deps.chain.accountPublicKey(address),
      keyCache: this.#deps.chain.accountKeyCache,
    })
    if (!verified) {
      this.#refused?.inc({ reason: 'signature' })
      throw new FleekError('INVALID_INPUT', 'the transaction signature does not verify')
    }
    const txHash = toHex(digest)
    if (this.#deps.chain.receipt(digest) !== undefined || this.#pending.has(txHash))
      return { txHash, known: true }
    if (this.#pending.size >= this.#options.maxPending) {
      this.#refused?.inc({ reason: 'full' })
      throw new FleekError('UNAVAILABLE', 'the mempool is full; retry in a moment')
    }
    this.#pending.set(txHash, bytes)
    if (!this.#deps.isCommitteeMember()) {
      // Kept until executed, to hand it on again if it gets lost (a member leaving at an epoch change).
      this.#forwarded.set(txHash, Date.now())
      this.#forward(bytes, tx)
      this.#admitted?.inc({ path: 'forwarded' })
      return { txHash, known: false }
    }
    if (this.#verified.size >= this.#options.maxVerified) this.#verified.clear()
    this.#verified.add(bytesKey(bytes))
    this.#deps.order(bytes)
    this.#admitted?.inc({ path: 'ordered' })
    return { txHash, known: false }
  }

  /** Signs a transaction with the node key and submits it. */
  submitOwn(call: MethodCall): string {
    // The next nonce counts this node's own transactions still waiting: one that is never executed
    // (lost with a crash) stops counting once it leaves the pending set, so no gap stays forever.
    for (const h of this.#own) if (!this.#pending.has(h)) this.#own.delete(h)
    const { nodeKey, chain } = this.#deps
    const nonce = (chain.node(nodeKey.publicKey)?.nonce ?? 0) + 1 + this.#own.size
    const tx = signTransaction(
      { sender: { node: nodeKey.publicKey }, nonce, chainId: chain.chainId(), ...call },
      { kind: 'node', secret: nodeKey.secret },
    )
    const { txHash } = this.submit(encodeTransaction(tx))
    this.#own.add(txHash)
    return txHash
  }

  /** True for bytes whose signature this pool checked (execution skips the re-check). */
  isVerified(bytes: Uint8Array): boolean {
    return this.#verified.has(bytesKey(bytes))
  }

  /** The transactions admitted and not executed yet (resubmitted to a new epoch's consensus). */
  pending(): IterableIterator<Uint8Array> {
    return this.#pending.values()
  }

  /** After a block: what it held leaves the pool, and whoever waited for a receipt gets it. */
  onExecuted(transactions: readonly Uint8Array[], receipts: readonly Receipt[]): void {
    for (const bytes of transactions) this.#verified.delete(bytesKey(bytes))
    for (const receipt of receipts) {
      if (receipt.txHash === undefined) continue
      const key = toHex(receipt.txHash)
      this.#pending.delete(key)
      this.#forwarded.delete(key)
      const waiting = this.#waiters.get(key)
      if (waiting === undefined) continue
      this.#waiters.delete(key)
      for (const resolve of waiting) resolve(receipt)
    }
  }

  /** Resolves with the receipt of `txHash` once executed, or undefined after `timeoutMs`. */
  waitForReceipt(txHash: string, timeoutMs: number, signal?: AbortSignal): Promise<Receipt | undefined> {
    const existing = this.#deps.chain.receipt(txHash)
    if (existing !== undefined) return Promise.resolve(existing)
    return new Promise((resolve) => {
      const set = this.#waiters.get(txHash) ?? new Set()
      this.#waiters.set(txHash, set)
      // Every listener and the timer go when the wait ends (long-lived signals must not collect them).
      const onAbort = (): void => done(undefined)
      const timer = setTimeout(onAbort, timeoutMs)
      timer.unref()
      const lifetime = this.#signal
      const done = (r: Receipt | undefined): void => {
        clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        lifetime.removeEventListener('abort', onAbort)
        set.delete(done)
        if (set.size === 0 && this.#waiters.get(txHash) === set) this.#waiters.delete(txHash)
        resolve(r)
      }
      signal?.addEventListener('abort', onAbort, { once: true })
      lifetime.addEventListener('abort', onAbort, { once: true })
      set.add(done)
    })
  }

  /** Off the committee: forwards again what is still not executed after `olderThanMs` (0: everything). */
  forwardStale(nowMs: number, olderThanMs: number): void {
    for (const [txHash, bytes] of this.#pending) {
      const at = this.#forwarded.get(txHash) ?? 0
      if (nowMs - at < olderThanMs) continue
      this.#forwarded.set(txHash, nowMs)
      this.#forward(bytes)
    }
  }

  #forward(bytes: Uint8Array, tx: Transaction = decodeTransaction(bytes)): void {
    const sender = tx.payload.sender
    const affinity = 'account' in sender ? sender.account : toHex(sender.node)
    void this.#deps
      .forward(bytes, affinity)
      .catch((err: unknown) => this.#deps.logger.warn({ err }, 'forwarding failed'))
  }
}
