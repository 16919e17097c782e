import { keyedHash } from '../../lib/b3/index.ts'
import { toHex, type State } from './records.ts'
import type { NodeInfo, Participation, ProtocolParams } from './types.ts'

const FLK_UNIT = 10n ** 18n
/** Fixed-point scale of reward boosts. */
const BOOST_SCALE = 10n ** 18n

/**
 * Votes needed to change the epoch: ⌊2n/3⌋ + 1 of a committee of n (= 2f + 1 when n = 3f + 1, and never
 * fewer than n − f otherwise).
 */
export function computeQuorum(committeeSize: number): number {
  return Math.floor((2 * committeeSize) / 3) + 1
}

/**
 * The epoch change (reference §3.4), run when the quorum of ChangeEpoch votes is reached:
 * 1. opt-ins and opt-outs take effect (a node that leaves is removed from the content registry); 2. rewards of the ending epoch are distributed; 3. the executed
 * digests, reputation measurements and submission counters are cleared; 4. the next committee is
 * chosen (a shuffle seeded by the commit–reveal beacon when `seed` is given, else the top stakers); 5. the
 * epoch advances. Returns the new epoch.
 */
export function changeEpoch(state: State, timestampMs: number, seed?: Uint8Array): number {
  const epoch = state.getMetaNumber('epoch')
  const params = state.getParams()
  const committee = state.getCommittee(epoch)

  for (const node of state.listNodes()) {
    if (node.participation === 'optedIn') state.putNode({ ...node, participation: 'true' })
    else if (node.participation === 'optedOut') {
      state.putNode({ ...node, participation: 'false' })
      // A node that left no longer serves content.
      state.clearNodeContent(toHex(node.publicKey))
    }
  }

  distributeRewards(state, epoch, params)

  state.clearTable('executedDigests')
  state.clearTable('measurements')
  state.clearTable('submissions')

  const newEpoch = epoch + 1
  const members =
    seed === undefined
      ? chooseCommittee(state.listNodes(), params)
      : chooseShuffledCommittee(state.listNodes(), params, seed)
  // Keep the old committee if nobody is eligible: a chain without a committee could never move again.
  const nextMembers = members.length > 0 ? members : (committee?.members ?? [])
  const previousEnd = committee?.epochEndMs ?? timestampMs
  let epochEndMs = previousEnd + params.epochTimeMs
  if (epochEndMs <= timestampMs) {
    // The chain was idle for whole epochs: stay on the genesis grid, next boundary after now.
    const behind = Math.floor((timestampMs - previousEnd) / params.epochTimeMs) + 1
    epochEndMs = previousEnd + behind * params.epochTimeMs
  }
  state.putCommittee({
    epoch: newEpoch,
    members: nextMembers,
    readyToChange: [],
    epochStartMs: previousEnd,
    epochEndMs,
  })
  state.putMetaNumber('epoch', newEpoch)
  if (newEpoch % params.epochsPerYear === 0) {
    state.putMetaAmount('supplyYearStart', state.getMetaAmount('totalSupply'))
  }
  return newEpoch
}

/**
 * The next committee, deterministically: participating nodes with at least the minimum stake, the
 * top `nodeCount` by stake (ties by public key) form the active set, and its first `committeeSize`
 * are the committee (the epoch change without the beacon; see chooseShuffledCommittee).
 */
export function chooseCommittee(nodes: NodeInfo[], params: ProtocolParams): Uint8Array[] {
  return listActiveNodes(nodes, params)
    .slice(0, params.committeeSize)
    .map((n) => n.publicKey)
}

/**
 * The next committee drawn by the beacon: the active set (as in chooseCommittee: participating, staked,
 * top `nodeCount` by stake, ties by public key) shuffled by Fisher–Yates with randomness from `seed`,
 * then its first `committeeSize`. For i = n−1 down to 1, j is uniform in [0, i] by rejection sampling
 * (32-bit words, refused at or above 2^32 − 2^32 mod (i+1)), and items i and j swap. The words are
 * little-endian u32s of BLAKE3-keyed(seed, u64le(counter)) blocks, counter = 0, 1, …, 8 words a block.
 */
export function chooseShuffledCommittee(
  nodes: NodeInfo[],
  params: ProtocolParams,
  seed: Uint8Array,
): Uint8Array[] {
  return shuffleWithSeed(listActiveNodes(nodes, params), seed)
    .slice(0, params.committeeSize)
    .map((n) => n.publicKey)
}

/** A Fisher–Yates shuffle of a copy of `items` driven by `seed` (32 bytes); see chooseShuffledCommittee. */
export function shuffleWithSeed<T>(items: readonly T[], seed: Uint8Array): T[] {
  const out = [...items]
  const counter = new Uint8Array(8)
  const counterView = new DataView(counter.buffer)
  let block = 0
  let words: DataView | undefined
  let next = 8
  const nextWord = (): number => {
    if (next === 8 || words === undefined) {
      counterView.setBigUint64(0, BigInt(block++), true)
      const bytes = keyedHash(seed, counter)
      words = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      next = 0
    }
    return words.getUint32(4 * next++, true)
  }
  for (let i = out.length - 1; i > 0; i--) {
    const bound = i + 1
    const limit = 2 ** 32 - (2 ** 32 % bound)
    let x = nextWord()
    while (x >= limit) x = nextWord()
    const j = x % bound
    const t = out[i]
    out[i] = out[j]
    out[j] = t
  }
  return out
}

/** Participating nodes with the minimum stake, the top `nodeCount` by stake (ties by public key). */
export function listActiveNodes(nodes: NodeInfo[], params: ProtocolParams): NodeInfo[] {
  const min = BigInt(params.minStake) * FLK_UNIT
  return nodes
    .filter((n) => n.participation === 'true' && n.stake.staked >= min)
    .sort((a, b) => {
      if (a.stake.staked !== b.stake.staked) return a.stake.staked > b.stake.staked ? -1 : 1
      const ka = toHex(a.publicKey)
      const kb = toHex(b.publicKey)
      return ka < kb ? -1 : ka > kb ? 1 : 0
    })
    .slice(0, params.nodeCount)
}

/** The reward boost of a stake locked until `stakeLockedUntil`, scaled by 10^18 (reference §3.7). */
export function computeBoost(stakeLockedUntil: number, epoch: number, params: ProtocolParams): bigint {
  const remaining = BigInt(Math.max(0, stakeLockedUntil - epoch))
  const boost =
    BOOST_SCALE + (BigInt(params.maxBoost - 1) * BOOST_SCALE * remaining) / BigInt(params.maxStakeLockTime)
  const cap = BigInt(params.maxBoost) * BOOST_SCALE
  return boost < cap ? boost : cap
}

/**
 * Rewards of `epoch` (reference §3.7). The stablecoin pool is the epoch's revenue (Σ commodity × price
 * of its delivery acknowledgements); FLK emissions are maxInflation% of the supply at the start of the
 * year over epochsPerYear. Nodes get nodeShare% of their own revenue in stablecoins and nodeShare% of
 * the emissions split by revenue × boost; service owners serviceBuilderShare% of both pools by service
 * revenue; the protocol fund protocolShare% of both. Nothing is paid for an epoch without revenue.
 * All divisions round down; minted FLK is added to the total supply.
 */
export function distributeRewards(state: State, epoch: number, params: ProtocolParams): void {
  const pool = state.getTotalServed(epoch).rewardPool
  if (pool === 0n) return
  const emissions =
    (state.getMetaAmount('supplyYearStart') * BigInt(params.maxInflation)) /
    100n /
    BigInt(params.epochsPerYear)
  let minted = 0n
  const credit = (address: string, flk: bigint, usd: bigint): void => {
    if (flk === 0n && usd === 0n) return
    const a = state.getAccount(address)
    state.putAccount(address, { ...a, flk: a.flk + flk, usd: usd + a.usd })
    minted += flk
  }

  // Nodes.
  const served = state.listServed(epoch).filter(([, s]) => s.revenue > 0n)
  const shares = served.map(([pkHex, s]) => {
    const node = state.getNode(pkHex)
    const boost = node === undefined ? BOOST_SCALE : computeBoost(node.stake.stakeLockedUntil, epoch, params)
    return { node, revenue: s.revenue, share: s.revenue * boost }
  })
  const totalShare = shares.reduce((sum, s) => sum + s.share, 0n)
  const nodeEmissions = (emissions * BigInt(params.nodeShare)) / 100n
  for (const { node, revenue, share } of shares) {
    if (node === undefined) continue
    credit(node.owner, (nodeEmissions * share) / totalShare, (revenue * BigInt(params.nodeShare)) / 100n)
  }

  // Service builders.
  const builderEmissions = (emissions * BigInt(params.serviceBuilderShare)) / 100n
  for (const [serviceId, revenue] of state.listServiceRevenue(epoch)) {
    const service = state.getService(serviceId)
    if (service === undefined || revenue === 0n) continue
    credit(
      service.owner,
      (builderEmissions * revenue) / pool,
      (revenue * BigInt(params.serviceBuilderShare)) / 100n,
    )
  }

  // Protocol fund.
  credit(
    state.getMetaString('protocolFundAddress'),
    (emissions * BigInt(params.protocolShare)) / 100n,
    (pool * BigInt(params.protocolShare)) / 100n,
  )

  state.putMetaAmount('totalSupply', state.getMetaAmount('totalSupply') + minted)
}

/** Below the minimum stake a node cannot stay in: it leaves (or does not join) at the next epoch change. */
export function participationAfterStake(
  participation: Participation,
  staked: bigint,
  params: ProtocolParams,
): Participation {
  if (staked >= BigInt(params.minStake) * FLK_UNIT) return participation
  if (participation === 'true') return 'optedOut'
  if (participation === 'optedIn') return 'false'
  return participation
}
