/**
 * The default parameters, in Node and Chromium: every parameter set, the revenue shares summing
 * to 100 %, a boost that never penalises, and a real network's epochs filling a year.
 */
import { describe, expect, test } from 'vitest'
import { FIXED_ONE, ONE_TOKEN } from './model.ts'
import { DEFAULT_PARAMS, DEVNET_PARAMS } from './params.ts'

describe('default parameters', () => {
  for (const [name, params] of [
    ['real network', DEFAULT_PARAMS],
    ['devnet', DEVNET_PARAMS],
  ] as const) {
    test(`${name}: consistent values`, () => {
      for (const value of Object.values(params)) expect(typeof value).toBe('bigint')
      expect(params.nodeShare + params.protocolShare + params.serviceBuilderShare).toBe(FIXED_ONE)
      expect(params.maxBoost >= FIXED_ONE).toBe(true)
      expect(params.epochsPerYear > 0n && params.committeeSize > 0n).toBe(true)
      expect(params.beaconNonRevealSlash <= params.minimumNodeStake).toBe(true)
    })
  }

  test('Lightning genesis values, converted', () => {
    expect(DEFAULT_PARAMS.minimumNodeStake).toBe(1000n * ONE_TOKEN)
    expect(DEFAULT_PARAMS.maxInflation).toBe(FIXED_ONE / 10n)
    expect(DEFAULT_PARAMS.nodeShare).toBe((FIXED_ONE * 8n) / 10n)
    expect(DEFAULT_PARAMS.maxStakeLockEpochs).toBe(1460n)
    // A real network's day-long epochs make a 365-day year.
    expect(DEFAULT_PARAMS.epochTimeMs * DEFAULT_PARAMS.epochsPerYear).toBe(365n * 86_400_000n)
    expect(DEVNET_PARAMS.epochTimeMs).toBe(120_000n)
  })
})
