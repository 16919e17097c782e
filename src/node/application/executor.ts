import { isFleekError } from '../../lib/errors.ts'
import { verifyConsensusKeyProof } from '../../lib/keys/index.ts'
import {
  checkTransactionSignature,
  computeDigestOfEncodedPayload,
  decodeTransactionParts,
  type AccountKeyCache,
  type MethodCall,
  type Transaction,
  type TransactionPayload,
} from '../../lib/tx/index.ts'
import { executeBeaconCommit, executeBeaconReveal, executeBeaconTimeout, startBeacon } from './beacon.ts'
import { changeEpoch, computeQuorum, participationAfterStake } from './epoch.ts'
import { checkParams } from './params.ts'
import { toHex, type State } from './records.ts'
import type { FailReason, NodeInfo, Receipt, RejectReason } from './types.ts'

export const FLK_UNIT = 10n ** 18n
/** Largest Faucet mint per transaction, in whole tokens. */
export const FAUCET_MAX_TOKENS = 1_000_000n
/** Reputation submissions a node may make per epoch (reference: MAX_MEASUREMENTS_SUBMIT). */
export const MAX_SUBMISSIONS_PER_EPOCH = 2

export interface ExecutionContext {
  chainId: number
  height: number
  index: number
  timestampMs: number
  /**
   * True for exact transaction bytes whose signature this node has already checked (admission). Not
   * used for an account whose key the state does not hold yet: its recovery gives the key to record.
   */
  isVerified?: (bytes: Uint8Array) => boolean
  /** Key objects of the accounts' recorded keys (work saved only: the key read is the state's). */
  accountKeys?: AccountKeyCache
}

type Outcome = { reason?: FailReason; newEpoch?: number }

/**
 * Executes one encoded transaction against the block's state. Rejected transactions (see
 * REJECT_REASONS) change nothing; every other one consumes the sender's nonce and records its digest,
 * and its method's effects apply only when it succeeds (a failed method's writes are rolled back).
 */
export function executeTransaction(state: State, ctx: ExecutionContext, bytes: Uint8Array): Receipt {
  const base = { height: ctx.height, index: ctx.index }
  let tx: Transaction
  let payloadBytes: Uint8Array
  try {
    ;({ tx, payloadBytes } = decodeTransactionParts(bytes))
  } catch (err) {
    if (!isFleekError(err, 'INVALID_INPUT')) throw err
    return { ...base, status: 'rejected', reason: 'MALFORMED' }
  }
  const payload = tx.payload
  const txHash = computeDigestOfEncodedPayload(payloadBytes)
  const head = { ...base, txHash, sender: payload.sender, method: payload.method }
  const reject = (reason: RejectReason): Receipt => ({ ...head, status: 'rejected', reason })

  if (payload.chainId !== ctx.chainId) return reject('WRONG_CHAIN_ID')
  // An account's signatures are checked against its recorded key once it has one, by recovery before
  // (docs/protocol/transactions.md §4.1); the recovered key is recorded below with the nonce.
  const knownKey = 'account' in payload.sender ? state.getAccountKey(payload.sender.account) : undefined
  let recoveredKey: Uint8Array | undefined
  const mayTrustAdmission = !('account' in payload.sender) || knownKey !== undefined
  if (!(mayTrustAdmission && (ctx.isVerified?.(bytes) ?? false))) {
    const check = checkTransactionSignature(tx, txHash, {
      accountKey: () => knownKey,
      ...(ctx.accountKeys !== undefined && { keyCache: ctx.accountKeys }),
    })
    if (!check.valid) return reject('INVALID_SIGNATURE')
    recoveredKey = check.recoveredKey
  }
  const digestHex = toHex(txHash)
  if (state.hasExecutedDigest(digestHex)) return reject('DUPLICATE')

  let senderNode: NodeInfo | undefined
  let storedNonce: number
  if ('account' in payload.sender) {
    storedNonce = state.getAccount(payload.sender.account).nonce
  } else {
    senderNode = state.getNode(toHex(payload.sender.node))
    if (senderNode === undefined) return reject('UNKNOWN_NODE')
    storedNonce = senderNode.nonce
  }
  if (payload.nonce !== storedNonce + 1) return reject('INVALID_NONCE')

  state.overlay.beginTransaction()
  let outcome: Outcome
  try {
    outcome = executeMethod(state, ctx, payload, senderNode)
  } catch (err) {
    state.overlay.rollbackTransaction()
    throw err
  }
  if (outcome.reason !== undefined) state.overlay.rollbackTransaction()
  else state.overlay.commitTransaction()

  // The nonce is consumed and the digest recorded whatever the outcome.
  if ('account' in payload.sender) {
    const account = state.getAccount(payload.sender.account)
    state.putAccount(payload.sender.account, { ...account, nonce: payload.nonce })
    if (recoveredKey !== undefined) state.putAccountKey(payload.sender.account, recoveredKey)
  } else {
    const node = state.getNode(toHex(payload.sender.node)) as NodeInfo
    state.putNode({ ...node, nonce: payload.nonce })
  }
  state.putExecutedDigest(digestHex)

  if (outcome.reason !== undefined) return { ...head, status: 'failed', reason: outcome.reason }
  return { ...head, status: 'success', ...(outcome.newEpoch !== undefined && { newEpoch: outcome.newEpoch }) }
}

function executeMethod(
  state: State,
  ctx: ExecutionContext,
  payload: TransactionPayload,
  senderNode: NodeInfo | undefined,
): Outcome {
  const call = payload as MethodCall
  const account = 'account' in payload.sender ? payload.sender.account : undefined
  switch (call.method) {
    case 'IncrementNonce':
      return {}
    case 'Transfer':
    case 'Stake':
    case 'StakeLock':
    case 'Unstake':
    case 'WithdrawUnstaked':
    case 'AddService':
    case 'ChangeProtocolParam':
    case 'Faucet':
      if (account === undefined) return { reason: 'WRONG_SENDER_TYPE' }
      return executeAccountMethod(state, account, call)
    default:
      if (senderNode === undefined) return { reason: 'WRONG_SENDER_TYPE' }
      return executeNodeMethod(state, ctx, senderNode, call)
  }
}

function executeAccountMethod(state: State, sender: string, call: MethodCall): Outcome {
  // The commonest transaction reads neither the parameters (20 entries) nor the epoch.
  if (call.method === 'Transfer') {
    const { to, token, amount } = call.args
    if (amount === 0n) return { reason: 'INVALID_AMOUNT' }
    const from = state.getAccount(sender)
    if (from[token] < amount) return { reason: 'INSUFFICIENT_BALANCE' }
    state.putAccount(sender, { ...from, [token]: from[token] - amount })
    const dest = state.getAccount(to)
    state.putAccount(to, { ...dest, [token]: dest[token] + amount })
    return {}
  }
  const params = state.getParams()
  const epoch = state.getMetaNumber('epoch')
  switch (call.method) {
    case 'Stake': {
      const { amount, node: publicKey, consensusKey, consensusKeyProof, host, ports } = call.args
      if (amount === 0n) return { reason: 'INVALID_AMOUNT' }
      const owner = state.getAccount(sender)
      if (owner.flk < amount) return { reason: 'INSUFFICIENT_BALANCE' }
      const pkHex = toHex(publicKey)
      const existing = state.getNode(pkHex)
      if (existing === undefined) {
        if (
          consensusKey === undefined ||
          consensusKeyProof === undefined ||
          host === undefined ||
          ports === undefined
        ) {
          return { reason: 'MISSING_NODE_INFO' }
        }
        // Checkpoints aggregate the committee's keys: only a key its registrant holds may join them.
        if (!verifyConsensusKeyProof(consensusKey, consensusKeyProof)) {
          return { reason: 'INVALID_CONSENSUS_KEY_PROOF' }
        }
        const ckHex = toHex(consensusKey)
        if (state.getNodeByConsensusKey(ckHex) !== undefined) return { reason: 'CONSENSUS_KEY_IN_USE' }
        state.putConsensusKey(ckHex, pkHex)
        state.putNode({
          publicKey,
          owner: sender,
          consensusKey,
          host,
          ports,
          stake: { staked: amount, locked: 0n, lockedUntil: 0, stakeLockedUntil: 0 },
          stakedSince: epoch,
          participation: 'false',
          nonce: 0,
        })
      } else {
        if (existing.owner !== sender) return { reason: 'NOT_NODE_OWNER' }
        // Later stakes may update the announced address and ports, never the keys.
        state.putNode({
          ...existing,
          ...(host !== undefined && { host }),
          ...(ports !== undefined && { ports }),
          stake: { ...existing.stake, staked: existing.stake.staked + amount },
        })
      }
      state.putAccount(sender, { ...state.getAccount(sender), flk: owner.flk - amount })
      return {}
    }
    case 'StakeLock': {
      const node = state.getNode(toHex(call.args.node))
      if (node === undefined) return { reason: 'NODE_NOT_FOUND' }
      if (node.owner !== sender) return { reason: 'NOT_NODE_OWNER' }
      if (call.args.lockedForEpochs === 0) return { reason: 'INVALID_AMOUNT' }
      if (node.stake.staked === 0n) return { reason: 'INSUFFICIENT_STAKE' }
      const until = Math.max(node.stake.stakeLockedUntil, epoch) + call.args.lockedForEpochs
      if (until - epoch > params.maxStakeLockTime) return { reason: 'LOCK_TOO_LONG' }
      state.putNode({ ...node, stake: { ...node.stake, stakeLockedUntil: until } })
      return {}
    }
    case 'Unstake': {
      const node = state.getNode(toHex(call.args.node))
      if (node === undefined) return { reason: 'NODE_NOT_FOUND' }
      if (node.owner !== sender) return { reason: 'NOT_NODE_OWNER' }
      const { amount } = call.args
      if (amount === 0n) return { reason: 'INVALID_AMOUNT' }
      if (node.stake.staked < amount) return { reason: 'INSUFFICIENT_STAKE' }
      if (node.stake.stakeLockedUntil > epoch) return { reason: 'STAKE_LOCKED' }
      const staked = node.stake.staked - amount
      const participation = participationAfterStake(node.participation, staked, params)
      state.putNode({
        ...node,
        participation,
        stake: {
          ...node.stake,
          staked,
          locked: node.stake.locked + amount,
          lockedUntil: epoch + params.lockTime,
        },
      })
      return {}
    }
    case 'WithdrawUnstaked': {
      const node = state.getNode(toHex(call.args.node))
      if (node === undefined) return { reason: 'NODE_NOT_FOUND' }
      if (node.owner !== sender) return { reason: 'NOT_NODE_OWNER' }
      if (node.stake.locked === 0n) return { reason: 'NOTHING_TO_WITHDRAW' }
      if (epoch < node.stake.lockedUntil) return { reason: 'WITHDRAW_LOCKED' }
      const recipient = call.args.recipient ?? sender
      state.putNode({ ...node, stake: { ...node.stake, locked: 0n } })
      const dest = state.getAccount(recipient)
      state.putAccount(recipient, { ...dest, flk: dest.flk + node.stake.locked })
      return {}
    }
    case 'AddService': {
      if (sender !== state.getMetaString('governanceAddress')) return { reason: 'NOT_GOVERNANCE' }
      if (state.getService(call.args.serviceId) !== undefined) return { reason: 'SERVICE_EXISTS' }
      state.putService({
        id: call.args.serviceId,
        owner: call.args.owner,
        commodityType: call.args.commodityType,
      })
      return {}
    }
    case 'ChangeProtocolParam': {
      if (sender !== state.getMetaString('governanceAddress')) return { reason: 'NOT_GOVERNANCE' }
      const next = { ...params, [call.args.param]: call.args.value }
      if (checkParams(next) !== undefined) return { reason: 'INVALID_PARAM_VALUE' }
      state.putParam(call.args.param, call.args.value)
      return {}
    }
    case 'Faucet': {
      if (!state.getFaucet()) return { reason: 'FAUCET_DISABLED' }
      const { token, amount } = call.args
      const unit = token === 'flk' ? FLK_UNIT : 10n ** 6n
      if (amount === 0n || amount > FAUCET_MAX_TOKENS * unit) return { reason: 'INVALID_AMOUNT' }
      const a = state.getAccount(sender)
      state.putAccount(sender, { ...a, [token]: a[token] + amount })
      if (token === 'flk') state.putMetaAmount('totalSupply', state.getMetaAmount('totalSupply') + amount)
      return {}
    }
    default:
      return { reason: 'WRONG_SENDER_TYPE' }
  }
}

function executeNodeMethod(state: State, ctx: ExecutionContext, node: NodeInfo, call: MethodCall): Outcome {
  const params = state.getParams()
  const epoch = state.getMetaNumber('epoch')
  const pkHex = toHex(node.publicKey)
  const staked = node.stake.staked >= BigInt(params.minStake) * FLK_UNIT
  switch (call.method) {
    case 'OptIn': {
      if (!staked) return { reason: 'INSUFFICIENT_STAKE' }
      if (node.participation === 'true' || node.participation === 'optedIn')
        return { reason: 'ALREADY_PARTICIPATING' }
      state.putNode({ ...node, participation: node.participation === 'optedOut' ? 'true' : 'optedIn' })
      return {}
    }
    case 'OptOut': {
      if (node.participation === 'false' || node.participation === 'optedOut')
        return { reason: 'NOT_PARTICIPATING' }
      state.putNode({ ...node, participation: node.participation === 'optedIn' ? 'false' : 'optedOut' })
      return {}
    }
    case 'ChangeEpoch': {
      const committee = state.getCommittee(epoch)
      if (committee === undefined || !committee.members.some((m) => toHex(m) === pkHex)) {
        return { reason: 'NOT_COMMITTEE_MEMBER' }
      }
      if (call.args.epoch !== epoch) return { reason: 'EPOCH_MISMATCH' }
      if (ctx.timestampMs < committee.epochEndMs) return { reason: 'EPOCH_NOT_ENDED' }
      if (committee.readyToChange.some((m) => toHex(m) === pkHex)) return { reason: 'ALREADY_SIGNALLED' }
      const readyToChange = [...committee.readyToChange, node.publicKey]
      state.putCommittee({ ...committee, readyToChange })
      if (readyToChange.length === computeQuorum(committee.members.length)) {
        // With the beacon, the quorum opens its commit phase; the last reveal changes the epoch.
        if (params.beaconEnabled === 1) {
          startBeacon(state, epoch, ctx.timestampMs)
          return {}
        }
        return { newEpoch: changeEpoch(state, ctx.timestampMs) }
      }
      return {}
    }
    case 'CommitteeBeaconCommit':
      return executeBeaconCommit(state, ctx.timestampMs, node, call.args)
    case 'CommitteeBeaconReveal':
      return executeBeaconReveal(state, ctx.timestampMs, node, call.args)
    case 'CommitteeBeaconTimeout':
      return executeBeaconTimeout(state, ctx.timestampMs, node, call.args)
    case 'SubmitReputationMeasurements': {
      if (!staked) return { reason: 'INSUFFICIENT_STAKE' }
      const submissions = state.getSubmissions(pkHex)
      if (submissions >= MAX_SUBMISSIONS_PER_EPOCH) return { reason: 'TOO_MANY_SUBMISSIONS' }
      const seen = new Set<string>()
      for (const m of call.args.measurements) {
        const target = toHex(m.node)
        if (target === pkHex || seen.has(target) || state.getNode(target) === undefined) {
          return { reason: 'INVALID_MEASUREMENT' }
        }
        seen.add(target)
        const { node: _measured, ...values } = m
        state.putMeasurement(target, { ...values, reporter: node.publicKey })
        if (m.latencyMs !== undefined) state.putLatency(pkHex, target, m.latencyMs)
      }
      state.putSubmissions(pkHex, submissions + 1)
      return {}
    }
    case 'SubmitDeliveryAcknowledgmentAggregation':
      // Nothing in the transaction proves that a client received anything yet: until the aggregated
      // client acknowledgements are verified, a claim credits no one (docs/protocol/transactions.md).
      return { reason: 'DELIVERY_ACKNOWLEDGMENTS_UNVERIFIED' }
    case 'UpdateContentRegistry': {
      if (!staked) return { reason: 'INSUFFICIENT_STAKE' }
      for (const u of call.args.updates) state.setContentProvider(toHex(u.uri), pkHex, !u.remove)
      return {}
    }
    default:
      return { reason: 'WRONG_SENDER_TYPE' }
  }
}
