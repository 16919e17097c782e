import type {
  CommodityType,
  MethodName,
  NodePorts,
  ParamName,
  ReputationMeasurement,
  Sender,
} from '../../lib/tx/index.ts'

/** Protocol parameters (all safe non-negative integers). */
export type ProtocolParams = Record<ParamName, number>
/*
 * epochTimeMs        length of an epoch
 * committeeSize      members of each epoch's committee
 * nodeCount          size of the active node set (top stakers among participating nodes)
 * minStake           whole FLK a node needs staked to participate
 * lockTime           epochs unstaked FLK stays locked before it can be withdrawn
 * maxStakeLockTime   longest stake lock (boost), in epochs
 * protocolShare, nodeShare, serviceBuilderShare   percent of rewards (sum ≤ 100)
 * maxInflation       percent of the supply at the start of the year minted per year
 * maxBoost           reward multiplier for the longest stake lock
 * epochsPerYear      epochs per year (emissions are spread over them)
 * minNumMeasurements reputation measurements needed to score a node
 * bandwidthPrice, computePrice, gpuPrice   stablecoin base units (micro-USD) per unit of commodity
 * beaconEnabled      1: the ChangeEpoch quorum starts the commit–reveal beacon and the next committee is
 *                    a shuffle seeded by it; 0: the quorum changes the epoch at once (top stakers)
 * beaconCommitTimeoutMs, beaconRevealTimeoutMs   length of a beacon phase, on block timestamps
 * beaconNonRevealSlash   whole FLK slashed from a member that committed but did not reveal in time
 */

export const defaultProtocolParams: ProtocolParams = {
  epochTimeMs: 3_600_000,
  committeeSize: 4,
  nodeCount: 100,
  minStake: 1000,
  lockTime: 5,
  maxStakeLockTime: 1460,
  protocolShare: 0,
  nodeShare: 80,
  serviceBuilderShare: 20,
  maxInflation: 10,
  maxBoost: 4,
  epochsPerYear: 8760,
  minNumMeasurements: 2,
  bandwidthPrice: 1,
  computePrice: 10,
  gpuPrice: 100,
  // Off until the node drives the beacon (commit and reveal transactions of its committee members).
  beaconEnabled: 0,
  beaconCommitTimeoutMs: 30_000,
  beaconRevealTimeoutMs: 30_000,
  beaconNonRevealSlash: 100,
}

export type Participation = 'true' | 'false' | 'optedIn' | 'optedOut'

export interface AccountInfo {
  flk: bigint
  usd: bigint
  nonce: number
}

export interface Stake {
  /** Active stake. */
  staked: bigint
  /** Unstaked, waiting for `lockedUntil` to be withdrawn. */
  locked: bigint
  /** Epoch from which `locked` can be withdrawn. */
  lockedUntil: number
  /** Epoch until which `staked` is locked for a reward boost (no unstaking before). */
  stakeLockedUntil: number
}

export interface NodeInfo {
  publicKey: Uint8Array
  owner: string
  consensusKey: Uint8Array
  host: string
  ports: NodePorts
  stake: Stake
  /** Epoch of the first stake. */
  stakedSince: number
  participation: Participation
  nonce: number
}

export interface Committee {
  epoch: number
  members: Uint8Array[]
  /** Members that have sent ChangeEpoch for this epoch. */
  readyToChange: Uint8Array[]
  epochStartMs: number
  epochEndMs: number
}

/**
 * Where the epoch change stands: `running` (no ChangeEpoch yet), `signalling` (some, short of the
 * quorum), `commit` and `reveal` (the beacon's phases, see beacon.ts).
 */
export type EpochPhase = 'running' | 'signalling' | 'commit' | 'reveal'

export interface EpochInfo {
  epoch: number
  epochStartMs: number
  epochEndMs: number
  committee: Uint8Array[]
  readyToChange: Uint8Array[]
  height: number
  phase: EpochPhase
  /** The beacon round (0 until the beacon has started; counts rounds restarted after a timeout). */
  beaconRound: number
  /**
   * Block time at which the current phase ends: the epoch end while running, the phase deadline in the
   * beacon's phases; absent while signalling (it waits for votes, not for a time).
   */
  phaseEndsMs?: number
}

/** A member's part in one beacon round. */
export interface BeaconEntry {
  node: Uint8Array
  commit: Uint8Array
  /** Set once revealed (it hashes to `commit`). */
  reveal?: Uint8Array
}

export interface BeaconSlash {
  node: Uint8Array
  round: number
  /** Base units of FLK taken (staked first, then locked) and paid to the protocol fund. */
  amount: bigint
}

/**
 * The commit–reveal beacon of the change away from `epoch` (table `beacon`, by epoch; kept as history).
 * `phase` is `done` once the epoch has changed, with the `seed` that drew the next committee.
 */
export interface BeaconState {
  epoch: number
  round: number
  phase: 'commit' | 'reveal' | 'done'
  phaseStartMs: number
  phaseEndsMs: number
  /** This round's commits in arrival order. */
  entries: BeaconEntry[]
  /** Members that withheld a reveal in an earlier round: slashed, and out of the later rounds. */
  excluded: Uint8Array[]
  slashed: BeaconSlash[]
  seed?: Uint8Array
}

export interface Service {
  id: number
  owner: string
  commodityType: CommodityType
}

/** Commodities served by one node in one epoch, indexed like COMMODITY_TYPES, and its revenue. */
export interface NodeServed {
  served: bigint[]
  revenue: bigint
}

export interface TotalServed {
  served: bigint[]
  rewardPool: bigint
}

export interface ReportedMeasurement extends Omit<ReputationMeasurement, 'node'> {
  reporter: Uint8Array
}

export interface ReputationInfo {
  score?: number
  measurements: ReportedMeasurement[]
}

export interface Latency {
  a: Uint8Array
  b: Uint8Array
  latencyMs: number
}

/**
 * Reason codes of receipts (stable: scripts match on them).
 * Rejected — nothing changes, not even the nonce: MALFORMED, WRONG_CHAIN_ID, INVALID_SIGNATURE,
 * DUPLICATE (digest already executed this epoch), INVALID_NONCE, UNKNOWN_NODE (node sender not registered).
 * Failed — the nonce is consumed and the digest recorded, nothing else changes: all the others.
 */
export const REJECT_REASONS = [
  'MALFORMED',
  'WRONG_CHAIN_ID',
  'INVALID_SIGNATURE',
  'DUPLICATE',
  'INVALID_NONCE',
  'UNKNOWN_NODE',
] as const
export const FAIL_REASONS = [
  'WRONG_SENDER_TYPE',
  'INVALID_AMOUNT',
  'INSUFFICIENT_BALANCE',
  'NODE_NOT_FOUND',
  'NOT_NODE_OWNER',
  'MISSING_NODE_INFO',
  'CONSENSUS_KEY_IN_USE',
  /** A registering Stake whose consensusKeyProof is not its consensus key's proof of possession. */
  'INVALID_CONSENSUS_KEY_PROOF',
  'INSUFFICIENT_STAKE',
  'STAKE_LOCKED',
  'LOCK_TOO_LONG',
  'NOTHING_TO_WITHDRAW',
  'WITHDRAW_LOCKED',
  'ALREADY_PARTICIPATING',
  'NOT_PARTICIPATING',
  'NOT_COMMITTEE_MEMBER',
  'EPOCH_MISMATCH',
  'EPOCH_NOT_ENDED',
  'ALREADY_SIGNALLED',
  'TOO_MANY_SUBMISSIONS',
  'INVALID_MEASUREMENT',
  'SERVICE_NOT_FOUND',
  'SERVICE_EXISTS',
  'NOT_GOVERNANCE',
  'INVALID_PARAM_VALUE',
  'FAUCET_DISABLED',
  'BEACON_NOT_RUNNING',
  'BEACON_WRONG_PHASE',
  'ROUND_MISMATCH',
  'EXCLUDED_FROM_BEACON',
  'ALREADY_COMMITTED',
  'NOT_COMMITTED',
  'ALREADY_REVEALED',
  'REVEAL_MISMATCH',
  'BEACON_TIMEOUT_NOT_REACHED',
  /**
   * SubmitDeliveryAcknowledgmentAggregation: the client acknowledgements it carries are not verified
   * yet, so every claim is refused and credits nothing.
   */
  'DELIVERY_ACKNOWLEDGMENTS_UNVERIFIED',
] as const
export type RejectReason = (typeof REJECT_REASONS)[number]
export type FailReason = (typeof FAIL_REASONS)[number]
export type ReceiptReason = RejectReason | FailReason

export interface Receipt {
  /** Transaction digest (absent only when the bytes did not decode). */
  txHash?: Uint8Array
  height: number
  /** Position in the block. */
  index: number
  sender?: Sender
  method?: MethodName
  status: 'success' | 'failed' | 'rejected'
  reason?: ReceiptReason
  /**
   * Set on the transaction that completed the epoch change (the quorum's ChangeEpoch without the
   * beacon, the last CommitteeBeaconReveal with it): the new epoch.
   */
  newEpoch?: number
}

export interface BlockRecord {
  height: number
  timestampMs: number
  digest?: Uint8Array
  /** Hashes of the transactions that decoded, in order (receipts name the others by index). */
  txHashes: Uint8Array[]
  /** The block's encoded transactions as consensus ordered them, so the chain can be replayed. */
  transactions: Uint8Array[]
  prevStateRoot: Uint8Array
  stateRoot: Uint8Array
}

export interface ExecuteBlockInput {
  /** Encoded signed transactions, in consensus order. */
  transactions: Uint8Array[]
  /** Deterministic block time, from consensus. */
  timestampMs: number
  digest?: Uint8Array
  /**
   * Position of the block in consensus output (the committee's epoch and the sub-DAG index). Stored in
   * the block's own database transaction, so a block delivered again after a crash is recognised by
   * `hasExecuted` and never executed twice.
   */
  sequence?: BlockSequence
  /**
   * A cache of signature checks already made on these exact bytes (say at admission to the mempool).
   * Keyed by the whole encoded transaction, signature included, so the outcome is the same as checking
   * again: only the work is saved.
   */
  isVerified?: (bytes: Uint8Array) => boolean
}

export interface BlockSequence {
  epoch: number
  index: number
}

export interface ExecuteBlockResult {
  height: number
  prevStateRoot: Uint8Array
  stateRoot: Uint8Array
  receipts: Receipt[]
  /** Set when an epoch change happened in this block. */
  newEpoch?: number
}
