/**
 * Epoch rewards, in Node and Chromium: a worked example with Lightning's genesis parameters,
 * then properties: conservation of stables and of FLK, monotonicity in revenue and in lock,
 * nothing paid without revenue, the nodes' share to the protocol when no node earned.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { StateError } from './errors.ts'
import { FIXED_ONE, ONE_TOKEN, type ProtocolParam } from './model.ts'
import { DEFAULT_PARAMS } from './params.ts'
import {
  epochEmissions,
  epochRewards,
  lockBoost,
  type RewardInput,
  type RewardNode,
} from './rewards.ts'

const key = (i: number) => new Uint8Array(32).fill(i)
const owner = (i: number) => new Uint8Array(20).fill(i)

function node(i: number, revenue: bigint, lockedEpochsRemaining = 0): RewardNode {
  return {
    key: key(i),
    owner: owner(i),
    served: [revenue],
    revenue,
    lockedEpochsRemaining,
    reputation: 50,
  }
}

const params = fc
  .record({
    nodeShare: fc.bigInt({ min: 0n, max: FIXED_ONE }),
    builderPart: fc.bigInt({ min: 0n, max: FIXED_ONE }),
    maxInflation: fc.bigInt({ min: 0n, max: FIXED_ONE }),
    maxBoost: fc.bigInt({ min: 0n, max: 10n * FIXED_ONE }),
    maxStakeLockEpochs: fc.bigInt({ min: 0n, max: 2000n }),
    epochsPerYear: fc.bigInt({ min: 1n, max: 100_000n }),
  })
  .map((p): Record<ProtocolParam, bigint> => {
    const serviceBuilderShare = ((FIXED_ONE - p.nodeShare) * p.builderPart) / FIXED_ONE
    return {
      ...DEFAULT_PARAMS,
      nodeShare: p.nodeShare,
      serviceBuilderShare,
      protocolShare: FIXED_ONE - p.nodeShare - serviceBuilderShare,
      maxInflation: p.maxInflation,
      maxBoost: p.maxBoost,
      maxStakeLockEpochs: p.maxStakeLockEpochs,
      epochsPerYear: p.epochsPerYear,
    }
  })

const rewardInput = fc
  .record({
    params,
    supplyYearStart: fc.bigInt({ min: 0n, max: 10n ** 9n * ONE_TOKEN }),
    nodes: fc.array(
      fc.record({
        revenue: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 10n ** 24n })),
        locked: fc.integer({ min: 0, max: 3000 }),
      }),
      { maxLength: 12 },
    ),
    unattributed: fc.bigInt({ min: 0n, max: 10n ** 20n }),
  })
  .map(({ params, supplyYearStart, nodes, unattributed }): RewardInput => {
    const list = nodes.map((n, i) => node(i, n.revenue, n.locked))
    const revenue = list.reduce((s, n) => s + n.revenue, unattributed)
    return { params, supplyYearStart, revenue, nodes: list }
  })

describe('epochRewards', () => {
  test('worked example with Lightning genesis values (1M FLK supply, 10 %, 365 epochs, 80/0/20)', () => {
    const outcome = epochRewards({
      params: DEFAULT_PARAMS,
      supplyYearStart: 1_000_000n * ONE_TOKEN,
      revenue: 400n * ONE_TOKEN,
      nodes: [node(1, 300n * ONE_TOKEN, 0), node(2, 100n * ONE_TOKEN, 1460)],
    })
    // 10^24 × 0.1 / 365 = 273.972602739726027397… FLK, floored to the wei.
    const available = 273_972_602_739_726_027_397n
    expect(epochEmissions(DEFAULT_PARAMS, 1_000_000n * ONE_TOKEN)).toBe(available)
    // Weights 300 × 1 and 100 × 4: node 1 gets 3/7, node 2 gets 4/7 of the emissions.
    expect(outcome.nodes.map((n) => n.flk)).toEqual([(available * 3n) / 7n, (available * 4n) / 7n])
    expect(outcome.nodes.map((n) => n.stables)).toEqual([240n * ONE_TOKEN, 80n * ONE_TOKEN])
    expect(outcome.serviceBuilderStables).toBe(80n * ONE_TOKEN)
    expect(outcome.protocolStables).toBe(0n)
    expect(outcome.emissions).toBe((available * 3n) / 7n + (available * 4n) / 7n)
    expect(outcome.undistributedFlk).toBe(available - outcome.emissions)
    expect(outcome.undistributedFlk).toBeLessThan(2n)
  })

  test('conserves stables exactly and never mints more FLK than the epoch allows', () => {
    fc.assert(
      fc.property(rewardInput, (input) => {
        const out = epochRewards(input)
        const stables = out.nodes.reduce((s, n) => s + n.stables, 0n)
        expect(stables + out.protocolStables + out.serviceBuilderStables).toBe(input.revenue)
        expect(out.protocolStables >= 0n && out.serviceBuilderStables >= 0n).toBe(true)
        const flk = out.nodes.reduce((s, n) => s + n.flk, 0n)
        expect(flk).toBe(out.emissions)
        expect(out.emissions + out.undistributedFlk).toBe(
          epochEmissions(input.params, input.supplyYearStart),
        )
        expect(out.undistributedFlk >= 0n).toBe(true)
        const earners = input.nodes.filter((n) => n.revenue > 0n).length
        // The floors lose less than one unit per earning node.
        if (earners > 0) expect(out.undistributedFlk < BigInt(earners)).toBe(true)
        for (const n of out.nodes) expect(n.flk >= 0n && n.stables >= 0n).toBe(true)
        expect(out.nodes.map((n) => n.key)).toEqual(input.nodes.map((n) => n.key))
      }),
      { numRuns: 300 },
    )
  })

  test('more revenue never earns a node less', () => {
    fc.assert(
      fc.property(
        rewardInput.filter((i) => i.nodes.length > 0),
        fc.nat(),
        fc.bigInt({ min: 1n, max: 10n ** 22n }),
        (input, pick, extra) => {
          const i = pick % input.nodes.length
          const before = epochRewards(input).nodes[i]
          const nodes = input.nodes.map((n, j) =>
            j === i ? { ...n, revenue: n.revenue + extra } : n,
          )
          const after = epochRewards({ ...input, nodes, revenue: input.revenue + extra }).nodes[i]
          expect(after && before && after.stables >= before.stables).toBe(true)
          expect(after && before && after.flk >= before.flk).toBe(true)
        },
      ),
      { numRuns: 200 },
    )
  })

  test('a longer lock never earns a node less FLK', () => {
    fc.assert(
      fc.property(
        rewardInput.filter((i) => i.nodes.length > 0),
        fc.nat(),
        fc.integer({ min: 1, max: 2000 }),
        (input, pick, more) => {
          const i = pick % input.nodes.length
          const before = epochRewards(input).nodes[i]
          const nodes = input.nodes.map((n, j) =>
            j === i ? { ...n, lockedEpochsRemaining: n.lockedEpochsRemaining + more } : n,
          )
          const after = epochRewards({ ...input, nodes }).nodes[i]
          expect(after && before && after.flk >= before.flk).toBe(true)
        },
      ),
      { numRuns: 200 },
    )
  })

  test('no revenue: no stables and no FLK for anyone', () => {
    fc.assert(
      fc.property(rewardInput, (input) => {
        const nodes = input.nodes.map((n) => ({ ...n, revenue: 0n }))
        const out = epochRewards({ ...input, nodes, revenue: 0n })
        expect(out.protocolStables).toBe(0n)
        expect(out.serviceBuilderStables).toBe(0n)
        expect(out.emissions).toBe(0n)
        for (const n of out.nodes) expect(n.flk === 0n && n.stables === 0n).toBe(true)
      }),
      { numRuns: 100 },
    )
  })

  test('no nodes: the nodes share goes to the protocol and no FLK is minted', () => {
    fc.assert(
      fc.property(rewardInput, (input) => {
        const out = epochRewards({ ...input, nodes: [] })
        expect(out.nodes).toEqual([])
        expect(out.emissions).toBe(0n)
        expect(out.serviceBuilderStables).toBe(
          (input.revenue * input.params.serviceBuilderShare) / FIXED_ONE,
        )
        expect(out.protocolStables).toBe(input.revenue - out.serviceBuilderStables)
      }),
      { numRuns: 100 },
    )
    const all = epochRewards({
      params: { ...DEFAULT_PARAMS, nodeShare: FIXED_ONE, serviceBuilderShare: 0n },
      supplyYearStart: ONE_TOKEN,
      revenue: 77n,
      nodes: [],
    })
    expect(all.protocolStables).toBe(77n)
  })

  test('refuses negative amounts, shares over FIXED_ONE and nodes that earned more than the epoch', () => {
    const base: RewardInput = {
      params: DEFAULT_PARAMS,
      supplyYearStart: ONE_TOKEN,
      revenue: 10n,
      nodes: [node(1, 10n)],
    }
    const bad: RewardInput[] = [
      { ...base, revenue: -1n },
      { ...base, supplyYearStart: -1n },
      { ...base, revenue: 9n },
      { ...base, nodes: [node(1, -1n)] },
      { ...base, nodes: [node(1, 10n, -1)] },
      { ...base, nodes: [node(1, 10n, 0.5)] },
      { ...base, params: { ...DEFAULT_PARAMS, nodeShare: FIXED_ONE, serviceBuilderShare: 1n } },
      { ...base, params: { ...DEFAULT_PARAMS, epochsPerYear: 0n } },
    ]
    for (const input of bad) expect(() => epochRewards(input)).toThrow(StateError)
  })
})

describe('lockBoost', () => {
  test('is 1 unlocked, linear, maxBoost from maxStakeLockEpochs on (Lightning get_boost)', () => {
    expect(lockBoost(DEFAULT_PARAMS, 0)).toBe(FIXED_ONE)
    expect(lockBoost(DEFAULT_PARAMS, 730)).toBe(2_500_000n)
    expect(lockBoost(DEFAULT_PARAMS, 365)).toBe(1_750_000n)
    expect(lockBoost(DEFAULT_PARAMS, 1460)).toBe(4n * FIXED_ONE)
    expect(lockBoost(DEFAULT_PARAMS, 10_000)).toBe(4n * FIXED_ONE)
    expect(lockBoost({ ...DEFAULT_PARAMS, maxStakeLockEpochs: 0n }, 10)).toBe(FIXED_ONE)
    expect(lockBoost({ ...DEFAULT_PARAMS, maxBoost: 0n }, 10)).toBe(FIXED_ONE)
  })
})
