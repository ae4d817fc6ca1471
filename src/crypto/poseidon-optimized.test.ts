import { grainGenConstants } from '@noble/curves/abstract/poseidon.js'
import fc from 'fast-check'
import { expect, test } from 'vitest'
import { FIELD_ORDER } from './field.ts'
import { poseidon, poseidonPermutationPlain } from './poseidon.ts'
import {
  deriveOptimizedPoseidonConstants,
  optimizedPoseidonConstants,
  POSEIDON_MAX_WIDTH,
  POSEIDON_MIN_WIDTH,
  POSEIDON_ROUNDS_PARTIAL,
  poseidonPermutationOptimized,
  poseidonShape,
} from './poseidon-optimized.ts'
import { fieldArb } from './testing/arbitraries.ts'
import vectors from './vectors/eddsa-poseidon.json' with { type: 'json' }

const widths = Array.from(
  { length: POSEIDON_MAX_WIDTH - POSEIDON_MIN_WIDTH + 1 },
  (_, i) => i + POSEIDON_MIN_WIDTH,
)

test.each(widths)('width %i: the optimized permutation is the plain one', (t) => {
  const optimized = poseidonPermutationOptimized(t)
  const plain = poseidonPermutationPlain(t)
  fc.assert(
    fc.property(fc.array(fieldArb, { minLength: t, maxLength: t }), (state) => {
      const before = state.slice()
      expect(optimized(state)).toEqual(plain(state))
      expect(state).toEqual(before)
    }),
    // The plain permutation costs ~0.1 ms per width unit: fewer runs for the wide ones.
    { numRuns: t <= 7 ? 40 : 8 },
  )
})

test('outputs are reduced field elements, also from the edges of the field', () => {
  for (const t of [2, 6, 7, 17]) {
    for (const fill of [0n, 1n, FIELD_ORDER - 1n]) {
      const state = Array<bigint>(t).fill(fill)
      const out = poseidonPermutationOptimized(t)(state)
      expect(out).toEqual(poseidonPermutationPlain(t)(state))
      for (const x of out) expect(x >= 0n && x < FIELD_ORDER).toBe(true)
    }
  }
})

test.each(vectors.poseidon.map((v) => [v.inputs.length, v] as const))(
  'circomlibjs vector with %i inputs, through the optimized permutation',
  (_, v) => {
    const inputs = v.inputs.map(BigInt)
    expect(poseidonPermutationOptimized(inputs.length + 1)([0n, ...inputs])[0]).toBe(
      BigInt(v.output),
    )
    expect(poseidon(inputs)).toBe(BigInt(v.output))
  },
)

test('the constants have circomlibjs layout sizes and are field elements', () => {
  for (const t of widths) {
    const k = optimizedPoseidonConstants(t)
    const roundsPartial = POSEIDON_ROUNDS_PARTIAL[t - 2]!
    expect({ t: k.t, roundsFull: k.roundsFull, roundsPartial: k.roundsPartial }).toEqual({
      t,
      roundsFull: 8,
      roundsPartial,
    })
    expect(k.C).toHaveLength(8 * t + roundsPartial)
    expect(k.S).toHaveLength((2 * t - 1) * roundsPartial)
    for (const m of [k.M, k.P]) {
      expect(m).toHaveLength(t)
      for (const row of m) expect(row).toHaveLength(t)
    }
    for (const x of [...k.C, ...k.S, ...k.M.flat(), ...k.P.flat()]) {
      expect(typeof x === 'bigint' && x >= 0n && x < FIELD_ORDER).toBe(true)
    }
    expect(optimizedPoseidonConstants(t)).toBe(k)
  }
})

test('refuses widths outside 2..17 and states of the wrong length with typed errors', () => {
  const error = (code: string) => expect.objectContaining({ name: 'CryptoError', code })
  for (const t of [0, 1, 18, 2.5, Number.NaN]) {
    expect(() => optimizedPoseidonConstants(t)).toThrow(error('CRYPTO_INVALID_ARGUMENT'))
    expect(() => poseidonPermutationOptimized(t)).toThrow(error('CRYPTO_INVALID_ARGUMENT'))
  }
  const { roundConstants, mds } = grainGenConstants(poseidonShape(3))
  expect(() => deriveOptimizedPoseidonConstants(4, roundConstants, mds)).toThrow(
    error('CRYPTO_INVALID_ARGUMENT'),
  )
  expect(() => deriveOptimizedPoseidonConstants(3, roundConstants.slice(1), mds)).toThrow(
    error('CRYPTO_INVALID_ARGUMENT'),
  )
  expect(deriveOptimizedPoseidonConstants(3, roundConstants, mds)).toEqual(
    optimizedPoseidonConstants(3),
  )
  expect(() => poseidonPermutationOptimized(3)([1n, 2n])).toThrow(error('CRYPTO_INVALID_ARGUMENT'))
  expect(() => poseidonPermutationOptimized(3)([1n, 2n, 3n, 4n])).toThrow(
    error('CRYPTO_INVALID_ARGUMENT'),
  )
})
