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

export interface RestoredCheckpoint {
  epoch: number
  height: number
  /** The peer that served the snapshot (node key, hex). */
  peer: string
  snapshotBytes: number
  /** From asking for checkpoints to the imported state. */
  durationMs: number
}
