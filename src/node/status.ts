import { base58btc } from 'multiformats/bases/base58'

import { toHex } from '../lib/bytes.ts'
import type { Application, Receipt } from './application/index.ts'
import type { BlobInfo } from './blockstore/index.ts'
import type { Checkpoint, RestoredCheckpoint } from './checkpoint/index.ts'

export type { RestoredCheckpoint }

/** A snapshot of a running node, for `fleek node status`, the dashboard and `fleek devnet status`. */
export interface NodeStatus {
  nodeId: string
  peerId: string
  chainId: number
  rpcUrl: string
  epoch: number
  epochEndMs: number
  height: number
  stateRoot: string
  committee: string[]
  isCommitteeMember: boolean
  /** The consensus round this member last proposed in (committee members only). */
  consensusRound?: number
  peers: number
  /** Transactions executed per second over the last few seconds. */
  txPerSecond: number
  recentReceipts: Array<{ txHash: string; method: string; status: string; reason?: string; height: number }>
  content: { blobs: number; bytes: number }
  startedAtMs: number
  sync: {
    mode: 'checkpoint' | 'full'
    /** The latest checkpoint this node holds. */
    checkpoint?: { epoch: number; height: number }
    /** The checkpoint restored at start, when the node started behind. */
    restored?: RestoredCheckpoint
  }
}

/** A node's status from what its components report. */
export function describeNode(parts: {
  chain: Pick<Application, 'epochInfo' | 'chainId' | 'height' | 'stateRoot'>
  nodeKey: Uint8Array
  peerId: string
  rpcUrl: string
  isCommitteeMember: boolean
  consensusRound: number | undefined
  peers: number
  execution: { txPerSecond(): number; recentReceipts(): readonly Receipt[] }
  blobs: readonly Pick<BlobInfo, 'sizeBytes'>[]
  startedAtMs: number
  sync: { mode: string; checkpoint: Checkpoint | undefined; restored: RestoredCheckpoint | undefined }
}): NodeStatus {
  const { chain, execution, sync } = parts
  const info = chain.epochInfo()
  return {
    nodeId: base58btc.baseEncode(parts.nodeKey),
    peerId: parts.peerId,
    chainId: chain.chainId(),
    rpcUrl: parts.rpcUrl,
    epoch: info.epoch,
    epochEndMs: info.epochEndMs,
    height: chain.height(),
    stateRoot: toHex(chain.stateRoot()),
    committee: info.committee.map((k) => base58btc.baseEncode(k)),
    isCommitteeMember: parts.isCommitteeMember,
    ...(parts.consensusRound !== undefined && { consensusRound: parts.consensusRound }),
    peers: parts.peers,
    txPerSecond: execution.txPerSecond(),
    recentReceipts: execution.recentReceipts().map((r) => ({
      txHash: r.txHash ? toHex(r.txHash) : '',
      method: r.method ?? '?',
      status: r.status,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      height: r.height,
    })),
    content: { blobs: parts.blobs.length, bytes: parts.blobs.reduce((a, b) => a + b.sizeBytes, 0) },
    startedAtMs: parts.startedAtMs,
    sync: {
      mode: sync.mode as 'checkpoint' | 'full',
      ...(sync.checkpoint !== undefined && {
        checkpoint: { epoch: sync.checkpoint.epoch, height: sync.checkpoint.height },
      }),
      ...(sync.restored !== undefined && { restored: sync.restored }),
    },
  }
}
