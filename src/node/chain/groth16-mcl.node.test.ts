/**
 * Groth16 on mcl (src/acks/groth16-mcl.ts) in a module instance of its own (mcl-bn254.ts):
 * the same answers as noble's kernel, and the checkpoint kernel's instance stays on BLS12-381.
 */
import { bn254 } from '@noble/curves/bn254.js'
import fc from 'fast-check'
import * as sharedMcl from 'mcl-wasm'
import { beforeAll, describe, expect, test } from 'vitest'
import {
  encodeProof,
  type Groth16Kernel,
  nobleGroth16Kernel,
  PROOF_BYTES,
  parseProof,
  parseVerificationKey,
  readProof,
  verifyGroth16,
} from '../../acks/groth16.ts'
import { createMclGroth16Kernel } from '../../acks/groth16-mcl.ts'
import fixture from '../../acks/testing/groth16-fixture.json' with { type: 'json' }
import { loadMclBn254 } from './mcl-bn254.ts'

const key = parseVerificationKey(fixture.verificationKey)
const proof = parseProof(fixture.proof)
const signals = fixture.publicSignals.map(BigInt)
let mclKernel: Groth16Kernel

beforeAll(async () => {
  await sharedMcl.init(sharedMcl.BLS12_381)
  mclKernel = createMclGroth16Kernel(await loadMclBn254())
})

describe('Groth16 on mcl', () => {
  test('verifies the fixture, and only for its signal; the shared instance stays on BLS12-381', async () => {
    expect(verifyGroth16(mclKernel, key, signals, proof)).toBe(true)
    expect(verifyGroth16(mclKernel, key, [(signals[0] as bigint) + 1n], proof)).toBe(false)
    expect(sharedMcl.curveType).toBe(sharedMcl.BLS12_381)
    expect(await loadMclBn254()).toBe(await loadMclBn254())
  })

  test('refuses an instance on another curve', () => {
    expect(() => createMclGroth16Kernel(sharedMcl)).toThrow(
      expect.objectContaining({ code: 'ACK_PROOF_MALFORMED' }),
    )
  })

  test('agrees with noble on proofs with a bit flipped (unchecked points included) and on other signals', () => {
    const bytes = encodeProof(proof)
    const outcome = (kernel: Groth16Kernel, flipped: Uint8Array) => {
      try {
        return verifyGroth16(kernel, key, signals, readProof(flipped))
      } catch (e) {
        return (e as { code?: string }).code
      }
    }
    let malformed = 0
    fc.assert(
      fc.property(fc.nat(PROOF_BYTES * 8 - 1), fc.bigInt(0n, 2n ** 64n), (bit, other) => {
        const flipped = bytes.slice()
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7))
        const mine = outcome(mclKernel, flipped)
        expect(mine).toBe(outcome(nobleGroth16Kernel, flipped))
        expect(mine).not.toBe(true)
        if (mine === 'ACK_PROOF_MALFORMED') malformed++
        expect(verifyGroth16(mclKernel, key, [other], proof)).toBe(
          verifyGroth16(nobleGroth16Kernel, key, [other], proof),
        )
      }),
      { numRuns: 10 },
    )
    // A flipped bit almost always leaves the curve: the kernels' own point checks ran.
    expect(malformed).toBeGreaterThan(0)
  })

  test('refuses a B on the twist but outside its order-r subgroup, as noble does', () => {
    // The twist has cofactor ≠ 1: a point of it found by trying x = 1, 2, … is not in G2.
    const Fp2 = bn254.fields.Fp2
    const b = Fp2.div(Fp2.create({ c0: 3n, c1: 0n }), Fp2.create({ c0: 9n, c1: 1n }))
    for (let i = 1n; ; i++) {
      const x = Fp2.create({ c0: i, c1: 0n })
      const rhs = Fp2.add(Fp2.mul(Fp2.sqr(x), x), b)
      let y: ReturnType<typeof Fp2.sqrt>
      try {
        y = Fp2.sqrt(rhs)
      } catch {
        continue
      }
      const outside = {
        ...proof,
        b: { x: [x.c0, x.c1] as const, y: [y.c0, y.c1] as const },
      }
      for (const kernel of [mclKernel, nobleGroth16Kernel]) {
        expect(() => verifyGroth16(kernel, key, signals, outside)).toThrow(
          expect.objectContaining({ code: 'ACK_PROOF_MALFORMED' }),
        )
      }
      break
    }
  })
})
