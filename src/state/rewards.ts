/**
 * Rewards at the epoch change (Lightning: `distribute_rewards` and `calculate_emissions` in
 * core/application/src/state/executor/epoch_change.rs, `get_boost` in executor.rs), in exact
 * integer arithmetic: every division is a floor, and what the floors leave is accounted for.
 *
 * Stables: the epoch's revenue is split. Each node gets nodeShare of the revenue it earned;
 * the service builder gets serviceBuilderShare of the whole; the protocol gets the rest, which
 * is its protocolShare plus the floors' dust plus the node share of revenue no listed node
 * earned (so the three always sum to `revenue`).
 *
 * FLK: emissions = supplyYearStart × maxInflation / FIXED_ONE / epochsPerYear (one floor).
 * Nodes share them in proportion to revenue × lock boost, where
 * boost = 1 + (maxBoost − 1) × min(locked, maxStakeLockEpochs) / maxStakeLockEpochs.
 * Where Lightning differs: it mints only nodeShare of the emissions to nodes and the rest to
 * the protocol and service builders (in FLK); here the emissions go to the nodes that served,
 * as issue 15 asks, and `RewardOutcome` has no FLK for others. Lightning does not weight
 * rewards by reputation, and neither does this (reputation gates who is active, elsewhere).
 */
import { StateError } from './errors.ts'
import { FIXED_ONE, type ProtocolParam } from './model.ts'

export interface RewardNode {
  readonly key: Uint8Array
  /** The account that receives the node's rewards. */
  readonly owner: Uint8Array
  /** Units served per commodity (index = Commodity); recorded, not used to share rewards:
   * revenue already prices them. */
  readonly served: readonly bigint[]
  /** Stables its clients paid for what it served this epoch. */
  readonly revenue: bigint
  /** Epochs its stake stays locked (Lightning: stake_locked_until − current epoch, ≥ 0). */
  readonly lockedEpochsRemaining: number
  /** Its reputation score 0..100, if it has one; not used (Lightning does not either). */
  readonly reputation: number | undefined
}

export interface RewardInput {
  readonly params: Readonly<Record<ProtocolParam, bigint>>
  /** FLK supply at the start of the year (ChainMetadata.supplyYearStart). */
  readonly supplyYearStart: bigint
  /** Stables collected this epoch (EpochTotals.revenue): at least the nodes' revenues' sum. */
  readonly revenue: bigint
  readonly nodes: readonly RewardNode[]
}

export interface NodeReward {
  readonly key: Uint8Array
  readonly owner: Uint8Array
  readonly flk: bigint
  readonly stables: bigint
}

export interface RewardOutcome {
  /** FLK minted: the sum of the nodes' `flk`. */
  readonly emissions: bigint
  /** One entry per input node, in input order (zeros for a node that earned nothing). */
  readonly nodes: NodeReward[]
  readonly protocolStables: bigint
  readonly serviceBuilderStables: bigint
  /** FLK the epoch could have minted and did not: the floors' dust (fewer than one unit per
   * node), or all of it when no node earned revenue. Not minted. */
  readonly undistributedFlk: bigint
}

function invalid(message: string): never {
  throw new StateError('STATE_INVALID_ARGUMENT', message)
}

function nonNegative(value: bigint, what: string): bigint {
  if (typeof value !== 'bigint' || value < 0n) invalid(`${what} must be a non-negative bigint`)
  return value
}

/** FLK the epoch may mint: supplyYearStart × maxInflation / FIXED_ONE / epochsPerYear. */
export function epochEmissions(
  params: Readonly<Record<ProtocolParam, bigint>>,
  supplyYearStart: bigint,
): bigint {
  const epochsPerYear = nonNegative(params.epochsPerYear, 'epochsPerYear')
  if (epochsPerYear === 0n) invalid('epochsPerYear must be positive')
  const inflation = nonNegative(params.maxInflation, 'maxInflation')
  return (nonNegative(supplyYearStart, 'supplyYearStart') * inflation) / (FIXED_ONE * epochsPerYear)
}

/**
 * The lock boost, fixed-point of FIXED_ONE: 1 with no lock, maxBoost at maxStakeLockEpochs or
 * more, linear between (floored). A maxBoost below 1 counts as 1 (a lock never penalises) and
 * maxStakeLockEpochs = 0 means no boost at all.
 */
export function lockBoost(
  params: Readonly<Record<ProtocolParam, bigint>>,
  lockedEpochsRemaining: number,
): bigint {
  if (!Number.isSafeInteger(lockedEpochsRemaining) || lockedEpochsRemaining < 0) {
    invalid(`lockedEpochsRemaining must be a non-negative integer, got ${lockedEpochsRemaining}`)
  }
  const maxLock = nonNegative(params.maxStakeLockEpochs, 'maxStakeLockEpochs')
  if (maxLock === 0n) return FIXED_ONE
  let maxBoost = params.maxBoost
  if (maxBoost < FIXED_ONE) maxBoost = FIXED_ONE
  let locked = BigInt(lockedEpochsRemaining)
  if (locked > maxLock) locked = maxLock
  return FIXED_ONE + ((maxBoost - FIXED_ONE) * locked) / maxLock
}

/**
 * The epoch's rewards. Exact: Σ node stables + protocolStables + serviceBuilderStables =
 * revenue, and Σ node flk = emissions = epochEmissions − undistributedFlk. Throws
 * STATE_INVALID_ARGUMENT for negative amounts, shares outside [0, FIXED_ONE] or whose node and
 * service-builder parts exceed FIXED_ONE, or nodes' revenues that sum past `revenue`.
 */
export function epochRewards(input: RewardInput): RewardOutcome {
  const { params, nodes } = input
  const revenue = nonNegative(input.revenue, 'revenue')
  const nodeShare = nonNegative(params.nodeShare, 'nodeShare')
  const serviceBuilderShare = nonNegative(params.serviceBuilderShare, 'serviceBuilderShare')
  nonNegative(params.protocolShare, 'protocolShare')
  if (nodeShare + serviceBuilderShare > FIXED_ONE) {
    invalid('nodeShare + serviceBuilderShare must not exceed FIXED_ONE')
  }

  let nodesRevenue = 0n
  for (const node of nodes) nodesRevenue += nonNegative(node.revenue, 'a node revenue')
  if (nodesRevenue > revenue) invalid('the nodes earned more revenue than the epoch collected')

  const available = epochEmissions(params, input.supplyYearStart)
  const weights = nodes.map((node) => node.revenue * lockBoost(params, node.lockedEpochsRemaining))
  const totalWeight = weights.reduce((sum, w) => sum + w, 0n)

  let nodesStables = 0n
  let emissions = 0n
  const rewards = nodes.map((node, i) => {
    const stables = (node.revenue * nodeShare) / FIXED_ONE
    const flk = totalWeight === 0n ? 0n : (available * (weights[i] as bigint)) / totalWeight
    nodesStables += stables
    emissions += flk
    return { key: node.key, owner: node.owner, flk, stables }
  })
  const serviceBuilderStables = (revenue * serviceBuilderShare) / FIXED_ONE
  return {
    emissions,
    nodes: rewards,
    protocolStables: revenue - nodesStables - serviceBuilderStables,
    serviceBuilderStables,
    undistributedFlk: available - emissions,
  }
}
