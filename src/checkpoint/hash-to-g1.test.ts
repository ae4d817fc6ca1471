/**
 * The message on the curve before its cofactor is cleared (hash-to-g1.ts): cleared, it is
 * noble's RFC 9380 hash_to_curve under the same tag, for any message (so the isogeny constants
 * repeated there are right); and clearing commutes with the batch's 64-bit weights and sums,
 * the identity the batch check relies on.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { BLOCK_ATTESTATION_DST } from '../consensus/attestation/block-attestation.ts'
import { CHECKPOINT_DST } from './checkpoint.ts'
import { clearCofactor, messageOnCurve } from './hash-to-g1.ts'

const G1 = bls12_381.G1.Point
const r64 = fc.bigInt({ min: 1n, max: (1n << 64n) - 1n })

describe('messageOnCurve', () => {
  test('cleared, is hash_to_curve of the message (fast-check, two tags)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 80 }),
        fc.constantFrom(CHECKPOINT_DST, BLOCK_ATTESTATION_DST),
        (message, dst) => {
          const expected = bls12_381.shortSignatures.hash(message, dst)
          expect(clearCofactor(messageOnCurve(message, dst)).equals(expected)).toBe(true)
        },
      ),
      { numRuns: 25 },
    )
  })

  test('is on the curve, and (in general) outside G1 until cleared', () => {
    const p = messageOnCurve(new TextEncoder().encode('fulmen'), CHECKPOINT_DST)
    expect(() => G1.fromAffine(p.toAffine())).not.toThrow()
    expect(p.isTorsionFree()).toBe(false)
    expect(clearCofactor(p).isTorsionFree()).toBe(true)
  })

  test('clearing commutes with 64-bit weights and sums (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        r64,
        r64,
        (m1, m2, r1, r2) => {
          const p1 = messageOnCurve(m1, CHECKPOINT_DST)
          const p2 = messageOnCurve(m2, CHECKPOINT_DST)
          const together = clearCofactor(p1.multiplyUnsafe(r1).add(p2.multiplyUnsafe(r2)))
          const apart = clearCofactor(p1).multiply(r1).add(clearCofactor(p2).multiply(r2))
          expect(together.equals(apart)).toBe(true)
        },
      ),
      { numRuns: 10 },
    )
  })
})
