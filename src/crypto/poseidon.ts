/**
 * Poseidon over BN254, bit-for-bit circomlib's (circomlibjs `buildPoseidon`, the circom
 * `Poseidon(n)` template): x^5 S-box, 8 full rounds, width t = inputs + 1, capacity element 0
 * first, output the first state element. Constants come from noble's Grain LFSR generator,
 * which yields circomlib's constants for these parameters (checked against circomlibjs).
 *
 * `poseidon` runs the optimized ("sparse matrix") permutation of poseidon-optimized.ts, the
 * same function at less than half the cost (measured, medians on 2 shared cores at load 4: Node
 * 24 CPU time 5 inputs 0.44 → 0.21 ms, 6 inputs 0.55 → 0.24 ms; Chromium 5 inputs 0.32 → 0.11
 * ms). noble's plain permutation stays as `poseidonPermutationPlain`, the reference the tests
 * compare it with. Where the WebAssembly kernel has loaded (bn254-kernel.ts: always in Node and
 * workers, after `loadBn254Kernel()` on a page's main thread) the same permutation runs there:
 * 5 inputs 84 µs, 6 inputs 96 µs of CPU in Node.
 */
import { grainGenConstants, poseidon as permutation } from '@noble/curves/abstract/poseidon.js'
import { bn254Kernel } from './bn254-kernel.ts'
import { CryptoError } from './errors.ts'
import { assertFieldElement } from './field.ts'
import { poseidonWithKernel } from './poseidon-kernel.ts'
import {
  type PoseidonPermutation,
  poseidonPermutationOptimized,
  poseidonShape,
} from './poseidon-optimized.ts'

/** circomlib supports 1..16 inputs (widths 2..17). */
export const POSEIDON_MAX_INPUTS = 16

// Generating constants costs milliseconds per width: build each width on first use.
const plainPermutations: (PoseidonPermutation | undefined)[] = []

/** noble's generic permutation for width t (2..17), with the full MDS matrix in every round. */
export function poseidonPermutationPlain(t: number): PoseidonPermutation {
  const cached = plainPermutations[t]
  if (cached !== undefined) return cached
  const shape = poseidonShape(t)
  const noble = permutation({ ...shape, ...grainGenConstants(shape) })
  // noble copies its input before permuting: a read-only state is safe to pass.
  const fn: PoseidonPermutation = (state) => noble(state as bigint[])
  plainPermutations[t] = fn
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
  // The WebAssembly kernel where it has loaded (~3× faster again), else BigInts.
  const kernel = bn254Kernel()
  if (kernel !== undefined) return poseidonWithKernel(kernel, inputs)
  return poseidonPermutationOptimized(inputs.length + 1)([0n, ...inputs])[0]!
}
