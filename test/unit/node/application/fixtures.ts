import { createHash } from 'node:crypto'
import { derivePublicKey, proveConsensusKey, type SecretKey } from '../../../../src/lib/keys/index.ts'
import {
  computeAccountAddress,
  encodeTransaction,
  getAccountPublicKey,
  getNodePublicKey,
  signTransaction,
  type MethodCall,
  type TransactionPayload,
} from '../../../../src/lib/tx/index.ts'
import {
  Application,
  STATE_TABLES,
  createDevnetGenesis,
  type Genesis,
} from '../../../../src/node/application/index.ts'
import { MemoryStorage, type Storage } from '../../../../src/node/storage/index.ts'

export const CHAIN_ID = 1337
export const EPOCH_MS = 60_000
export const START_MS = 1_000_000
export const FLK = 10n ** 18n
export const USD = 10n ** 6n

/** Deterministic 32-byte secret from a label (fixed seeds for tests). */
export function secretFrom(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label).digest())
}

export interface TestAccount {
  secret: Uint8Array
  address: string
  nonce: number
}

export interface TestNode {
  secret: Uint8Array
  publicKey: Uint8Array
  /** BLS12-381 consensus key: a real one, so that registrations can prove possession of it. */
  consensusSecret: SecretKey
  consensusKey: Uint8Array
  /** proveConsensusKey(consensusSecret). */
  consensusKeyProof: Uint8Array
  nonce: number
}

export function makeAccount(label: string): TestAccount {
  const secret = secretFrom(`account ${label}`)
  return { secret, address: computeAccountAddress(getAccountPublicKey(secret)), nonce: 0 }
}

export function makeNode(label: string): TestNode {
  const secret = secretFrom(`node ${label}`)
  const consensusSecret = makeConsensusSecret(`consensus ${label}`)
  return {
    secret,
    publicKey: getNodePublicKey(secret),
    consensusSecret,
    consensusKey: derivePublicKey(consensusSecret),
    consensusKeyProof: proveConsensusKey(consensusSecret),
    nonce: 0,
  }
}

/** A deterministic BLS12-381 secret key from a label (the scalar is kept below 2^254 < r). */
export function makeConsensusSecret(label: string): SecretKey {
  const secret = secretFrom(label)
  secret[0] &= 0x3f
  return { kind: 'consensus', secret }
}

/** Signs and encodes a transaction from an account, taking the next nonce (unless given). */
export function accountTx(
  a: TestAccount,
  call: MethodCall,
  opts: { nonce?: number; chainId?: number } = {},
): Uint8Array {
  const nonce = opts.nonce ?? ++a.nonce
  const payload = {
    sender: { account: a.address },
    nonce,
    chainId: opts.chainId ?? CHAIN_ID,
    ...call,
  } as TransactionPayload
  return encodeTransaction(signTransaction(payload, { kind: 'account', secret: a.secret }))
}

export function nodeTx(
  n: TestNode,
  call: MethodCall,
  opts: { nonce?: number; chainId?: number } = {},
): Uint8Array {
  const nonce = opts.nonce ?? ++n.nonce
  const payload = {
    sender: { node: n.publicKey },
    nonce,
    chainId: opts.chainId ?? CHAIN_ID,
    ...call,
  } as TransactionPayload
  return encodeTransaction(signTransaction(payload, { kind: 'node', secret: n.secret }))
}

export interface Network {
  app: Application
  storage: Storage
  genesis: Genesis
  owner: TestAccount
  nodes: TestNode[]
  /** Executes one block at `timestampMs` (default: the start time). */
  run(txs: Uint8Array[], timestampMs?: number): ReturnType<Application['executeBlock']>
}

/** A devnet of `count` nodes owned by one account (governance, protocol fund, funded with 10 000 FLK). */
export function createNetwork(
  count = 1,
  options: { faucet?: boolean; storage?: Storage; params?: Partial<Genesis['params']> } = {},
): Network {
  const owner = makeAccount('owner')
  const nodes = Array.from({ length: count }, (_, i) => makeNode(String(i)))
  const genesis = createDevnetGenesis({
    nodes: nodes.map((n) => ({ owner: owner.address, publicKey: n.publicKey, consensusKey: n.consensusKey })),
    chainId: CHAIN_ID,
    epochTimeMs: EPOCH_MS,
    epochStartMs: START_MS,
    faucet: options.faucet ?? true,
    ...(options.params !== undefined && { params: options.params }),
  })
  const storage = options.storage ?? new MemoryStorage()
  const app = Application.open(storage, genesis)
  return {
    app,
    storage,
    genesis,
    owner,
    nodes,
    run: (txs, timestampMs = START_MS) => app.executeBlock({ transactions: txs, timestampMs }),
  }
}

/** Every state entry as "table/key" → hex of its bytes. */
export function dumpState(storage: Storage): Map<string, string> {
  const out = new Map<string, string>()
  for (const table of STATE_TABLES) {
    for (const [key] of storage.table(table).entries()) {
      out.set(
        `${table}/${String(key)}`,
        Buffer.from(storage.table(table).getBytes(key) as Uint8Array).toString('hex'),
      )
    }
  }
  return out
}

/** The keys whose values differ between two dumps. */
export function diffState(before: Map<string, string>, after: Map<string, string>): string[] {
  const keys = new Set([...before.keys(), ...after.keys()])
  return [...keys].filter((k) => before.get(k) !== after.get(k)).sort()
}
