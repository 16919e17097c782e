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
}
