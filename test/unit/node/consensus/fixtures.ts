/** Shared test fixtures for consensus: fixed keys, committees, and a commit recorder with bounded waits. */
import type { KeyObject } from 'node:crypto'

import type { Committee } from '../../../../src/node/consensus/committee.ts'
import type { ConsensusClock } from '../../../../src/node/consensus/interface.ts'
import type { CommittedSubDag, DagCertificate } from '../../../../src/node/consensus/index.ts'
import { exportEd25519PublicKey, importEd25519SecretKey } from '../../../../src/node/consensus/messages.ts'

export interface TestMember {
  seed: Uint8Array
  secretKey: KeyObject
  publicKey: Uint8Array
}

/** Member i has the seed [i+1, i+1, …] (fixed, so runs are reproducible). */
export function makeMembers(count: number): TestMember[] {
  return Array.from({ length: count }, (_, i) => {
    const seed = new Uint8Array(32).fill(i + 1)
    const secretKey = importEd25519SecretKey(seed)
    return { seed, secretKey, publicKey: exportEd25519PublicKey(secretKey) }
  })
}

export function makeCommittee(members: TestMember[], epoch = 0): Committee {
  return { epoch, members: members.map((m) => ({ publicKey: m.publicKey })) }
}

export interface RecordedCommit {
  sub: CommittedSubDag<DagCertificate>
  transactions: Uint8Array[]
}

/** Records commits; `waitFor` resolves when a condition holds, or rejects after `timeoutMs`. */
export class CommitRecorder {
  readonly commits: RecordedCommit[] = []
  #waiters: { check: () => boolean; resolve: () => void }[] = []

  readonly handler = async (
    sub: CommittedSubDag<DagCertificate>,
    transactions: Uint8Array[],
  ): Promise<void> => {
    this.commits.push({ sub, transactions })
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.check()) return true
      w.resolve()
      return false
    })
  }

  get transactions(): string[] {
    return this.commits.flatMap((c) => c.transactions.map((t) => Buffer.from(t).toString()))
  }

  async waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      await new Promise<void>((resolve, reject) => {
        this.#waiters.push({ check, resolve })
        timer = setTimeout(
          () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
          timeoutMs,
        )
      })
    } finally {
      clearTimeout(timer)
    }
  }
}

/** A clock standing at 5000 ms whose timers fire only when the test fires them, by their delay. */
export class ManualClock implements ConsensusClock {
  readonly #timers = new Map<number, { fn: () => void; delayMs: number }>()
  #nextId = 1
  now(): number {
    return 5000
  }
  setTimeout(fn: () => void, delayMs: number): unknown {
    this.#timers.set(this.#nextId, { fn, delayMs })
    return this.#nextId++
  }
  clearTimeout(id: unknown): void {
    this.#timers.delete(id as number)
  }
  /** Fires the timers armed with `delayMs`; returns how many. */
  fire(delayMs: number): number {
    let fired = 0
    for (const [id, t] of [...this.#timers]) {
      if (t.delayMs !== delayMs) continue
      this.#timers.delete(id)
      t.fn()
      fired++
    }
    return fired
  }
}
