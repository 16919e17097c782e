import type { Token } from '../amount.ts'

/**
 * Transactions (DESIGN §3.4). A transaction is `{payload, signature}`; the payload is
 * `{sender, nonce, chainId, method, args}`. The sender names its key type explicitly:
 * an account (`{account: '0x…'}`, lowercase hex address, signs with secp256k1, 65-byte r‖s‖v) or a node
 * (`{node: publicKey32}`, signs with ed25519, 64 bytes). Amounts are bigint base units.
 */
export type Sender = { account: string } | { node: Uint8Array }

export type CommodityType = 'bandwidth' | 'compute' | 'gpu'
export const COMMODITY_TYPES: readonly CommodityType[] = ['bandwidth', 'compute', 'gpu']

export const PORT_NAMES = [
  'primary',
  'worker',
  'mempool',
  'rpc',
  'pool',
  'pinger',
  'handshakeHttp',
  'handshakeWebrtc',
  'handshakeWebtransport',
] as const
export type PortName = (typeof PORT_NAMES)[number]
/** The ports a node announces on chain (reference §2.4); 0 means "not served". */
export type NodePorts = Record<PortName, number>

export interface ReputationMeasurement {
  /** The measured node's public key. */
  node: Uint8Array
  latencyMs?: number
  interactions?: number
  inboundBandwidthBps?: number
  outboundBandwidthBps?: number
  bytesReceived?: number
  bytesSent?: number
  uptimePercent?: number
}
export const MEASUREMENT_FIELDS = [
  'latencyMs',
  'interactions',
  'inboundBandwidthBps',
  'outboundBandwidthBps',
  'bytesReceived',
  'bytesSent',
  'uptimePercent',
] as const

export interface ContentRegistryUpdate {
  /** BLAKE3 hash of the content. */
  uri: Uint8Array
  remove: boolean
}

/** Protocol parameters a governance transaction may change (all safe non-negative integers). */
export const PARAM_NAMES = [
  'epochTimeMs',
  'committeeSize',
  'nodeCount',
  'minStake',
  'lockTime',
  'maxStakeLockTime',
  'protocolShare',
  'nodeShare',
  'serviceBuilderShare',
  'maxInflation',
  'maxBoost',
  'epochsPerYear',
  'minNumMeasurements',
  'bandwidthPrice',
  'computePrice',
  'gpuPrice',
  'beaconEnabled',
  'beaconCommitTimeoutMs',
  'beaconRevealTimeoutMs',
  'beaconNonRevealSlash',
] as const
export type ParamName = (typeof PARAM_NAMES)[number]

export interface StakeArgs {
  amount: bigint
  /** The node's ed25519 public key (32 bytes). */
  node: Uint8Array
  /** Required on the first stake of a node, which registers it. */
  consensusKey?: Uint8Array
  /**
   * Proof of possession of `consensusKey` (96-byte BLS signature, `proveConsensusKey`): present exactly
   * when `consensusKey` is. Registration checks it, so no one can register a rogue aggregate key.
   */
  consensusKeyProof?: Uint8Array
  host?: string
  ports?: NodePorts
}

export type MethodCall =
  | { method: 'Transfer'; args: { to: string; token: Token; amount: bigint } }
  | { method: 'Stake'; args: StakeArgs }
  | { method: 'StakeLock'; args: { node: Uint8Array; lockedForEpochs: number } }
  | { method: 'Unstake'; args: { node: Uint8Array; amount: bigint } }
  | { method: 'WithdrawUnstaked'; args: { node: Uint8Array; recipient?: string } }
  | { method: 'OptIn'; args: Record<string, never> }
  | { method: 'OptOut'; args: Record<string, never> }
  | { method: 'ChangeEpoch'; args: { epoch: number } }
  | { method: 'SubmitReputationMeasurements'; args: { measurements: ReputationMeasurement[] } }
  | {
      method: 'SubmitDeliveryAcknowledgmentAggregation'
      args: { serviceId: number; commodity: bigint; proofs: Uint8Array[]; metadata?: Uint8Array }
    }
  | { method: 'UpdateContentRegistry'; args: { updates: ContentRegistryUpdate[] } }
  | { method: 'AddService'; args: { serviceId: number; owner: string; commodityType: CommodityType } }
  | { method: 'ChangeProtocolParam'; args: { param: ParamName; value: number } }
  | { method: 'IncrementNonce'; args: Record<string, never> }
  | { method: 'Faucet'; args: { token: Token; amount: bigint } }
  /** Beacon commit: `commit` is computeBeaconCommit(epoch, round, reveal) of the application (32 bytes). */
  | { method: 'CommitteeBeaconCommit'; args: { epoch: number; round: number; commit: Uint8Array } }
  | { method: 'CommitteeBeaconReveal'; args: { epoch: number; round: number; reveal: Uint8Array } }
  /** Carries a block when the chain is idle past a beacon phase deadline (the block's time closes it). */
  | { method: 'CommitteeBeaconTimeout'; args: { epoch: number; round: number } }

export type MethodName = MethodCall['method']
export const METHOD_NAMES: readonly MethodName[] = [
  'Transfer',
  'Stake',
  'StakeLock',
  'Unstake',
  'WithdrawUnstaked',
  'OptIn',
  'OptOut',
  'ChangeEpoch',
  'SubmitReputationMeasurements',
  'SubmitDeliveryAcknowledgmentAggregation',
  'UpdateContentRegistry',
  'AddService',
  'ChangeProtocolParam',
  'IncrementNonce',
  'Faucet',
  'CommitteeBeaconCommit',
  'CommitteeBeaconReveal',
  'CommitteeBeaconTimeout',
]

export type TransactionPayload = { sender: Sender; nonce: number; chainId: number } & MethodCall

export interface Transaction {
  payload: TransactionPayload
  /** 65 bytes r‖s‖v (secp256k1) for an account sender, 64 bytes (ed25519) for a node sender. */
  signature: Uint8Array
}

/** Size caps checked at decode (reference §3.3). */
export const MAX_TRANSACTION_BYTES = 1 << 20
export const MAX_MEASUREMENTS_PER_TX = 10_000
export const MAX_CONTENT_UPDATES_PER_TX = 100
export const MAX_DELIVERY_PROOFS_PER_TX = 1000
/** Amounts above 2^128 − 1 are refused. */
export const MAX_AMOUNT = (1n << 128n) - 1n
