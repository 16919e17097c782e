import type { ParamName } from '../../lib/tx/index.ts'
import type { ProtocolParams } from './types.ts'

/** Lower and upper bounds of each protocol parameter. */
const PARAM_BOUNDS: Record<ParamName, [number, number]> = {
  epochTimeMs: [1000, 366 * 24 * 3_600_000],
  committeeSize: [1, 1000],
  nodeCount: [1, 100_000],
  minStake: [0, 1e12],
  lockTime: [0, 10_000],
  maxStakeLockTime: [1, 100_000],
  protocolShare: [0, 100],
  nodeShare: [0, 100],
  serviceBuilderShare: [0, 100],
  maxInflation: [0, 100],
  maxBoost: [1, 100],
  epochsPerYear: [1, 1_000_000],
  minNumMeasurements: [0, 1_000_000],
  bandwidthPrice: [0, 1e12],
  computePrice: [0, 1e12],
  gpuPrice: [0, 1e12],
  beaconEnabled: [0, 1],
  beaconCommitTimeoutMs: [100, 24 * 3_600_000],
  beaconRevealTimeoutMs: [100, 24 * 3_600_000],
  beaconNonRevealSlash: [0, 1e12],
}

/** One line describing what is wrong with `params`, or undefined when they are valid. */
export function checkParams(params: ProtocolParams): string | undefined {
  for (const [name, [low, high]] of Object.entries(PARAM_BOUNDS) as Array<[ParamName, [number, number]]>) {
    const value = params[name]
    if (!Number.isSafeInteger(value) || value < low || value > high) {
      return `${name} must be an integer from ${low} to ${high}`
    }
  }
  if (params.protocolShare + params.nodeShare + params.serviceBuilderShare > 100) {
    return 'protocolShare + nodeShare + serviceBuilderShare must be at most 100'
  }
  if (params.committeeSize > params.nodeCount) return 'committeeSize must be at most nodeCount'
  return undefined
}
