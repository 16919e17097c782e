/**
 * What the JSON-RPC methods need of a node. The node's composition root implements it; the methods
 * never see the node itself.
 */
import type { Application, Receipt } from '../application/index.ts'
import type { Checkpoint } from '../checkpoint/index.ts'
import type { OffenderRecord } from '../offenders.ts'
import type { NodeStatus } from '../status.ts'

/** The chain queries the RPC answers from. */
export type ChainQueries = Pick<
  Application,
  | 'chainId'
  | 'height'
  | 'stateRoot'
  | 'account'
  | 'node'
  | 'nodes'
  | 'committee'
  | 'epochInfo'
  | 'params'
  | 'supply'
  | 'reputation'
  | 'latencies'
  | 'served'
  | 'services'
  | 'stateProof'
  | 'receipt'
  | 'block'
>

export interface NodeApi {
  readonly chain: ChainQueries
  status(): NodeStatus
  /** Peers that broke a protocol rule. */
  offenders(): OffenderRecord[]
  /** The checkpoint of `epoch` this node holds (the latest when no epoch is given). */
  checkpoint(epoch?: number): Checkpoint | undefined
  /** Admits an encoded signed transaction. */
  submit(bytes: Uint8Array): { txHash: string; known: boolean }
  /** The receipt of `txHash` once executed, or undefined after `timeoutMs`. */
  waitForReceipt(txHash: string, timeoutMs: number, signal?: AbortSignal): Promise<Receipt | undefined>
}
