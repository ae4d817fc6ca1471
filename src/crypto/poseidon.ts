/**
 * Poseidon over BN254, bit-for-bit circomlib's (circomlibjs `buildPoseidon`, the circom
 * `Poseidon(n)` template): x^5 S-box, 8 full rounds, width t = inputs + 1, capacity element 0
 * first, output the first state element. Constants come from noble's Grain LFSR generator,
 * which yields circomlib's constants for these parameters (checked against circomlibjs).
 */
import { grainGenConstants, poseidon as permutation } from '@noble/curves/abstract/poseidon.js'
import { CryptoError } from './errors.ts'
import { assertFieldElement, Fp } from './field.ts'

/** circomlib supports 1..16 inputs (widths 2..17). */
export const POSEIDON_MAX_INPUTS = 16

const ROUNDS_FULL = 8
// circomlib's N_ROUNDS_P, indexed by t - 2.
const ROUNDS_PARTIAL = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68] as const

type Permutation = (state: bigint[]) => bigint[]

// Generating constants costs milliseconds per width: build each width on first use.
const permutations: (Permutation | undefined)[] = []

function permutationFor(t: number): Permutation {
  let fn = permutations[t]
  if (fn === undefined) {
    const shape = {
      Fp,
      t,
      roundsFull: ROUNDS_FULL,
      roundsPartial: ROUNDS_PARTIAL[t - 2]!,
      sboxPower: 5,
    }
    fn = permutation({ ...shape, ...grainGenConstants(shape) })
    permutations[t] = fn
  }
  return fn
}

/** Poseidon hash of 1..16 field elements; throws CryptoError on anything else. */
export function poseidon(inputs: readonly bigint[]): bigint {
  if (!Array.isArray(inputs) || inputs.length < 1 || inputs.length > POSEIDON_MAX_INPUTS) {
    throw new CryptoError(
      'CRYPTO_INVALID_ARGUMENT',
      `poseidon takes 1..${POSEIDON_MAX_INPUTS} inputs, got ${Array.isArray(inputs) ? inputs.length : typeof inputs}`,
    )
  }
  for (let i = 0; i < inputs.length; i++) assertFieldElement(inputs[i], `poseidon input ${i}`)
  return permutationFor(inputs.length + 1)([0n, ...inputs])[0]!
}
