/**
 * The derived optimized constants equal circomlibjs' precomputed `poseidon_constants_opt.json`
 * (read from the devDependency as a test oracle only: GPL, never copied into src). Its entries
 * are hex or decimal strings.
 */
import { expect, test } from 'vitest'
// The package's `exports` map hides src/ from a bare import: reach the file by path.
import json from '../../node_modules/circomlibjs/src/poseidon_constants_opt.json' with {
  type: 'json',
}
import { optimizedPoseidonConstants } from './poseidon-optimized.ts'

interface CircomlibOptimized {
  C: string[][]
  S: string[][]
  M: string[][][]
  P: string[][][]
}

const oracle: CircomlibOptimized = json

const toBigInts = (xs: string[]) => xs.map((x) => BigInt(x))

test('circomlibjs has the 16 widths', () => {
  for (const key of ['C', 'S', 'M', 'P'] as const) expect(oracle[key]).toHaveLength(16)
})

test.each(Array.from({ length: 16 }, (_, i) => i + 2))(
  'width %i: C, S, M and P equal circomlibjs',
  (t) => {
    const ours = optimizedPoseidonConstants(t)
    expect(ours.C).toEqual(toBigInts(oracle.C[t - 2]!))
    expect(ours.S).toEqual(toBigInts(oracle.S[t - 2]!))
    expect(ours.M).toEqual(oracle.M[t - 2]!.map(toBigInts))
    expect(ours.P).toEqual(oracle.P[t - 2]!.map(toBigInts))
  },
)
