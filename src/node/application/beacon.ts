import * as dagCbor from '@ipld/dag-cbor'
import { hash } from '../../lib/b3/index.ts'
import { FleekError } from '../../lib/errors.ts'
import { changeEpoch, computeQuorum, participationAfterStake } from './epoch.ts'
import { toHex, type State } from './records.ts'
import type { BeaconState, FailReason, NodeInfo } from './types.ts'
import { equalBytes } from '../../lib/bytes.ts'

/**
 * The commit–reveal beacon that draws the next committee (reference §3.4), run when params.beaconEnabled
 * is 1. Phases, all on block timestamps:
 *
 * 1. running → signalling: committee members send ChangeEpoch{epoch} once the epoch has ended. The
 *    ⌊2n/3⌋+1-th vote starts the beacon: round 0, commit phase, deadline = block time +
 *    beaconCommitTimeoutMs.
 * 2. commit: each eligible member (the committee minus members excluded for withholding a reveal)
 *    picks 32 random bytes `reveal`, keeps them, and sends CommitteeBeaconCommit{epoch, round,
 *    commit = computeBeaconCommit(epoch, round, reveal)}. One commit per member and round. When the
 *    quorum of the eligible members has committed, the reveal phase starts (deadline = block time +
 *    beaconRevealTimeoutMs); later commits of the round are refused (BEACON_WRONG_PHASE).
 * 3. reveal: each committer sends CommitteeBeaconReveal{epoch, round, reveal}; it must hash to its
 *    commit. When every committer has revealed, the epoch changes; the next committee is a shuffle of
 *    the active set seeded by computeBeaconSeed(reveals) (see chooseShuffledCommittee).
 * 4. Timeouts: the first block whose timestamp is at or past the phase deadline closes the phase
 *    before its transactions execute (closeExpiredBeaconPhase). A commit phase that closes this way
 *    (short of the quorum) starts round + 1; a reveal phase slashes every committer that did not
 *    reveal (beaconNonRevealSlash whole FLK, staked first then locked, to the protocol fund; recorded
 *    in the beacon state), excludes them from the later rounds, and starts a commit phase of round + 1.
 *    Consensus delivers no empty blocks, so a member whose clock has passed a deadline while the chain
 *    is idle sends CommitteeBeaconTimeout{epoch, round}: its only effect is to be in a block, whose
 *    timestamp closes the phase.
 */

export type BeaconOutcome = { reason?: FailReason; newEpoch?: number }

const FLK_UNIT = 10n ** 18n

/**
 * The commitment to a reveal: BLAKE3(dagcbor({epoch, round, reveal})). DAG-CBOR sorts map keys by
 * length then bytes, so the hashed bytes are exactly
 * `a3 65 "epoch" uint(epoch) 65 "round" uint(round) 66 "reveal" 58 20 reveal[32]` with each uint in
 * its shortest CBOR form (major type 0).
 */
export function computeBeaconCommit(epoch: number, round: number, reveal: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(epoch) || epoch < 0 || !Number.isSafeInteger(round) || round < 0) {
    throw new FleekError('INVALID_INPUT', 'beacon epoch and round must be non-negative integers')
  }
  if (!(reveal instanceof Uint8Array) || reveal.length !== 32) {
    throw new FleekError('INVALID_INPUT', 'a beacon reveal is 32 bytes')
  }
  return hash(dagCbor.encode({ epoch, round, reveal }))
}

/** The seed of the committee shuffle: BLAKE3 of the reveals sorted bytewise, concatenated. */
export function computeBeaconSeed(reveals: readonly Uint8Array[]): Uint8Array {
  const sorted = [...reveals].sort(compareBytes)
  const joined = new Uint8Array(sorted.length * 32)
  sorted.forEach((r, i) => joined.set(r, i * 32))
  return hash(joined)
}

/** The members that may commit in the current round (all of them again if every one was excluded). */
export function listEligibleMembers(members: readonly Uint8Array[], beacon: BeaconState): Uint8Array[] {
  const excluded = new Set(beacon.excluded.map(toHex))
  const eligible = members.filter((m) => !excluded.has(toHex(m)))
  return eligible.length > 0 ? eligible : [...members]
}

/** Starts the beacon of `epoch` (round 0, commit phase) at the block time `timestampMs`. */
export function startBeacon(state: State, epoch: number, timestampMs: number): void {
  const params = state.getParams()
  state.putBeacon({
    epoch,
    round: 0,
    phase: 'commit',
    phaseStartMs: timestampMs,
    phaseEndsMs: timestampMs + params.beaconCommitTimeoutMs,
    entries: [],
    excluded: [],
    slashed: [],
  })
}

/** Run at the start of every block: closes a beacon phase whose deadline the block time has reached. */
export function closeExpiredBeaconPhase(state: State, timestampMs: number): void {
  const epoch = state.getMetaNumber('epoch')
  const beacon = state.getBeacon(epoch)
  if (beacon === undefined || beacon.phase === 'done' || timestampMs < beacon.phaseEndsMs) return
  const params = state.getParams()
  const excluded = [...beacon.excluded]
  const slashed = [...beacon.slashed]
  if (beacon.phase === 'reveal') {
    for (const entry of beacon.entries) {
      if (entry.reveal !== undefined) continue
      slashed.push({ node: entry.node, round: beacon.round, amount: slashNode(state, entry.node) })
      excluded.push(entry.node)
    }
  }
  state.putBeacon({
    epoch,
    round: beacon.round + 1,
    phase: 'commit',
    phaseStartMs: timestampMs,
    phaseEndsMs: timestampMs + params.beaconCommitTimeoutMs,
    entries: [],
    excluded,
    slashed,
  })
}

interface BeaconArgs {
  epoch: number
  round: number
}

/** The checks every beacon transaction shares; the beacon state when they pass. */
function checkBeaconTx(state: State, node: NodeInfo, args: BeaconArgs): BeaconState | FailReason {
  const epoch = state.getMetaNumber('epoch')
  const committee = state.getCommittee(epoch)
  const pkHex = toHex(node.publicKey)
  if (committee === undefined || !committee.members.some((m) => toHex(m) === pkHex)) {
    return 'NOT_COMMITTEE_MEMBER'
  }
  if (args.epoch !== epoch) return 'EPOCH_MISMATCH'
  const beacon = state.getBeacon(epoch)
  if (beacon === undefined || beacon.phase === 'done') return 'BEACON_NOT_RUNNING'
  if (args.round > beacon.round) return 'ROUND_MISMATCH'
  return beacon
}

export function executeBeaconCommit(
  state: State,
  timestampMs: number,
  node: NodeInfo,
  args: BeaconArgs & { commit: Uint8Array },
): BeaconOutcome {
  const beacon = checkBeaconTx(state, node, args)
  if (typeof beacon === 'string') return { reason: beacon }
  if (args.round !== beacon.round) return { reason: 'ROUND_MISMATCH' }
  if (beacon.phase !== 'commit') return { reason: 'BEACON_WRONG_PHASE' }
  const pkHex = toHex(node.publicKey)
  const members = (state.getCommittee(beacon.epoch) as { members: Uint8Array[] }).members
  const eligible = listEligibleMembers(members, beacon)
  if (!eligible.some((m) => toHex(m) === pkHex)) return { reason: 'EXCLUDED_FROM_BEACON' }
  if (beacon.entries.some((e) => toHex(e.node) === pkHex)) return { reason: 'ALREADY_COMMITTED' }
  const entries = [...beacon.entries, { node: node.publicKey, commit: args.commit }]
  if (entries.length >= computeQuorum(eligible.length)) {
    const params = state.getParams()
    state.putBeacon({
      ...beacon,
      entries,
      phase: 'reveal',
      phaseStartMs: timestampMs,
      phaseEndsMs: timestampMs + params.beaconRevealTimeoutMs,
    })
  } else {
    state.putBeacon({ ...beacon, entries })
  }
  return {}
}

export function executeBeaconReveal(
  state: State,
  timestampMs: number,
  node: NodeInfo,
  args: BeaconArgs & { reveal: Uint8Array },
): BeaconOutcome {
  const beacon = checkBeaconTx(state, node, args)
  if (typeof beacon === 'string') return { reason: beacon }
  if (args.round !== beacon.round) return { reason: 'ROUND_MISMATCH' }
  if (beacon.phase !== 'reveal') return { reason: 'BEACON_WRONG_PHASE' }
  const pkHex = toHex(node.publicKey)
  const index = beacon.entries.findIndex((e) => toHex(e.node) === pkHex)
  if (index < 0) return { reason: 'NOT_COMMITTED' }
  const entry = beacon.entries[index]
  if (entry.reveal !== undefined) return { reason: 'ALREADY_REVEALED' }
  if (!equalBytes(computeBeaconCommit(beacon.epoch, beacon.round, args.reveal), entry.commit)) {
    return { reason: 'REVEAL_MISMATCH' }
  }
  const entries = beacon.entries.map((e, i) => (i === index ? { ...e, reveal: args.reveal } : e))
  const reveals = entries.flatMap((e) => (e.reveal === undefined ? [] : [e.reveal]))
  if (reveals.length < entries.length) {
    state.putBeacon({ ...beacon, entries })
    return {}
  }
  const seed = computeBeaconSeed(reveals)
  state.putBeacon({ ...beacon, entries, phase: 'done', phaseEndsMs: timestampMs, seed })
  return { newEpoch: changeEpoch(state, timestampMs, seed) }
}

/**
 * CommitteeBeaconTimeout: succeeds when the named round is over (an earlier round) or when this block
 * opened the current phase of that round (its timestamp closed the previous one, or a commit of the
 * block completed the quorum); refused while the named round's phase is still open.
 */
export function executeBeaconTimeout(
  state: State,
  timestampMs: number,
  node: NodeInfo,
  args: BeaconArgs,
): BeaconOutcome {
  const beacon = checkBeaconTx(state, node, args)
  if (typeof beacon === 'string') return { reason: beacon }
  if (args.round === beacon.round && beacon.phaseStartMs !== timestampMs) {
    return { reason: 'BEACON_TIMEOUT_NOT_REACHED' }
  }
  return {}
}

/**
 * Takes beaconNonRevealSlash FLK (or what there is) from the node, staked first then locked, and pays it
 * to the protocol fund. A node left below the minimum stake leaves at the epoch change, as after an
 * Unstake. Returns the amount taken.
 */
function slashNode(state: State, publicKey: Uint8Array): bigint {
  const params = state.getParams()
  const node = state.getNode(toHex(publicKey))
  if (node === undefined) return 0n
  let remaining = BigInt(params.beaconNonRevealSlash) * FLK_UNIT
  const fromStaked = remaining < node.stake.staked ? remaining : node.stake.staked
  remaining -= fromStaked
  const fromLocked = remaining < node.stake.locked ? remaining : node.stake.locked
  const staked = node.stake.staked - fromStaked
  const participation = participationAfterStake(node.participation, staked, params)
  state.putNode({
    ...node,
    participation,
    stake: { ...node.stake, staked, locked: node.stake.locked - fromLocked },
  })
  const amount = fromStaked + fromLocked
  const fund = state.getMetaString('protocolFundAddress')
  const account = state.getAccount(fund)
  state.putAccount(fund, { ...account, flk: account.flk + amount })
  return amount
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}
