/**
 * The epoch-change duties of a committee member, checked on a timer: signal ChangeEpoch once the
 * epoch's time is up; then, when the chain runs the commit–reveal beacon, commit to a random value
 * (saved durably first: losing it means being slashed), reveal it, and send a timeout transaction when
 * a phase's deadline passes on an idle chain. A duty not reflected in the chain after a while is sent
 * again.
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'

import { toHex } from '../../lib/bytes.ts'
import { writeFileAtomic } from '../../lib/fs/atomic-write.ts'
import type { MethodCall } from '../../lib/tx/index.ts'
import { type Application, computeBeaconCommit } from '../application/index.ts'
import type { Logger } from '../logger.ts'

export interface EpochDutiesOptions {
  /** A duty not reflected in the chain after this long is sent again. */
  retryMs: number
  /** Fault injection for tests: commit to beacons but never reveal (the member gets slashed). */
  faultWithholdReveal: boolean
}

export const defaultEpochDutiesOptions: EpochDutiesOptions = { retryMs: 10_000, faultWithholdReveal: false }

export interface EpochDutiesDeps {
  chain: Pick<Application, 'epochInfo' | 'beacon'>
  isCommitteeMember(): boolean
  /** Signs a transaction with the node key and submits it (returns its hash). */
  submitOwn(call: MethodCall): string
  nodeKey: Uint8Array
  /** Where this member's beacon value is kept between its commit and its reveal (0600). */
  beaconSecretPath: string
  logger: Logger
}

export class EpochDuties {
  readonly #options: EpochDutiesOptions
  readonly #deps: EpochDutiesDeps
  readonly #me: string
  /** When each duty was last sent. */
  readonly #sent = new Map<string, number>()

  constructor(options: Partial<EpochDutiesOptions>, deps: EpochDutiesDeps) {
    this.#options = { ...defaultEpochDutiesOptions, ...options }
    this.#deps = deps
    this.#me = toHex(deps.nodeKey)
    if (this.#options.faultWithholdReveal)
      deps.logger.warn(
        {},
        'fault injection: this node commits to epoch beacons but never reveals (it will be slashed)',
      )
  }

  /** Checks the duties at a twentieth of the epoch (0.1–1 s) until `signal` aborts. */
  start(signal: AbortSignal): void {
    const info = this.#deps.chain.epochInfo()
    const periodMs = Math.max(100, Math.min(1000, Math.floor((info.epochEndMs - info.epochStartMs) / 20)))
    const timer = setInterval(() => {
      if (signal.aborted || !this.#deps.isCommitteeMember()) return
      try {
        this.check(Date.now())
      } catch (err) {
        this.#deps.logger.warn({ err }, 'epoch duty failed')
      }
    }, periodMs)
    timer.unref()
    signal.addEventListener('abort', () => clearInterval(timer), { once: true })
  }

  /** Sends whatever duty is due at `nowMs`. */
  check(nowMs: number): void {
    const info = this.#deps.chain.epochInfo()
    const epoch = info.epoch
    const isMe = (k: Uint8Array): boolean => toHex(k) === this.#me
    if (info.phase === 'running' || info.phase === 'signalling') {
      if (nowMs >= info.epochEndMs && !info.readyToChange.some(isMe))
        this.#send(`change:${epoch}`, nowMs, { method: 'ChangeEpoch', args: { epoch } })
      return
    }
    const beacon = this.#deps.chain.beacon(epoch)
    if (beacon === undefined || beacon.phase === 'done') return
    const round = beacon.round
    if (beacon.phaseEndsMs !== undefined && nowMs >= beacon.phaseEndsMs)
      this.#send(`timeout:${epoch}:${round}:${beacon.phase}`, nowMs, {
        method: 'CommitteeBeaconTimeout',
        args: { epoch, round },
      })
    if (beacon.excluded.some(isMe)) return
    const mine = beacon.entries.find((e) => isMe(e.node))
    if (beacon.phase === 'commit' && mine === undefined) {
      const reveal = this.#beaconSecret(epoch, round)
      this.#send(`commit:${epoch}:${round}`, nowMs, {
        method: 'CommitteeBeaconCommit',
        args: { epoch, round, commit: computeBeaconCommit(epoch, round, reveal) },
      })
    } else if (
      beacon.phase === 'reveal' &&
      mine !== undefined &&
      mine.reveal === undefined &&
      !this.#options.faultWithholdReveal
    ) {
      this.#send(`reveal:${epoch}:${round}`, nowMs, {
        method: 'CommitteeBeaconReveal',
        args: { epoch, round, reveal: this.#beaconSecret(epoch, round) },
      })
    }
  }

  /** Sends `call` unless the same duty was sent less than `retryMs` ago. */
  #send(key: string, nowMs: number, call: MethodCall): void {
    const sent = this.#sent.get(key)
    if (sent !== undefined && nowMs - sent < this.#options.retryMs) return
    this.#sent.set(key, nowMs)
    this.#deps.submitOwn(call)
    this.#deps.logger.info({ duty: key }, 'epoch duty sent')
  }

  /** This member's random value for a beacon round, created once and saved before any commit is sent. */
  #beaconSecret(epoch: number, round: number): Uint8Array {
    const path = this.#deps.beaconSecretPath
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
}
