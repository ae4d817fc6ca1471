/**
 * Groth16 on mcl (src/acks/groth16-mcl.ts) in a module instance of its own (mcl-bn254.ts):
 * the same answers as noble's kernel, and the checkpoint kernel's instance stays on BLS12-381.
 */
import fc from 'fast-check'
import * as sharedMcl from 'mcl-wasm'
import { beforeAll, describe, expect, test } from 'vitest'
import {
  decodeProof,
  encodeProof,
  type Groth16Kernel,
  nobleGroth16Kernel,
  PROOF_BYTES,
  parseProof,
  parseVerificationKey,
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

  test('agrees with noble on proofs with a bit flipped and on other signals', () => {
    const bytes = encodeProof(proof)
    fc.assert(
      fc.property(fc.nat(PROOF_BYTES * 8 - 1), fc.bigInt(0n, 2n ** 64n), (bit, other) => {
        const flipped = bytes.slice()
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7))
        let decoded: ReturnType<typeof decodeProof> | undefined
        try {
          decoded = decodeProof(flipped)
        } catch {
          decoded = undefined
        }
        if (decoded !== undefined) {
          expect(verifyGroth16(mclKernel, key, signals, decoded)).toBe(
            verifyGroth16(nobleGroth16Kernel, key, signals, decoded),
          )
        }
        expect(verifyGroth16(mclKernel, key, [other], proof)).toBe(
          verifyGroth16(nobleGroth16Kernel, key, [other], proof),
        )
      }),
      { numRuns: 10 },
    )
  })
})
