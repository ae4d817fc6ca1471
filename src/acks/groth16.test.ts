/**
 * Groth16 verification (groth16.ts) against a real proof of circuits/da_batch.circom made by
 * snarkjs (testing/groth16-fixture.json): it verifies, and only for its own public signal; the
 * key and proof parsers and the 256-byte form refuse what is not a point of the right group.
 */
import { bn254 } from '@noble/curves/bn254.js'
import { hexToBytes } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { batchDigest } from './batch-binding.ts'
import { verifyCommitment } from './commitment.ts'
import {
  BN254_P,
  BN254_R,
  decodeProof,
  encodeProof,
  nobleGroth16Kernel,
  PROOF_BYTES,
  parseProof,
  parseVerificationKey,
  verifyGroth16,
} from './groth16.ts'
import fixture from './testing/groth16-fixture.json' with { type: 'json' }

const key = parseVerificationKey(fixture.verificationKey)
const proof = parseProof(fixture.proof)
const signals = fixture.publicSignals.map(BigInt)
const codeOf = (f: () => unknown) => {
  try {
    f()
  } catch (e) {
    return (e as { code?: string }).code
  }
  return 'no error'
}

describe('Groth16 (noble)', () => {
  test('the fixture verifies, for the digest of its signed commitment', () => {
    const commitment = hexToBytes(fixture.commitment)
    verifyCommitment(commitment, hexToBytes(fixture.signature))
    expect(signals).toEqual([batchDigest([commitment])])
    expect(verifyGroth16(nobleGroth16Kernel, key, signals, proof)).toBe(true)
  })

  test('another public signal is false; one not below r or of the wrong count is refused', () => {
    expect(verifyGroth16(nobleGroth16Kernel, key, [(signals[0] as bigint) + 1n], proof)).toBe(false)
    // s + r would be the same scalar: refused before the pairing.
    expect(
      codeOf(() =>
        verifyGroth16(nobleGroth16Kernel, key, [(signals[0] as bigint) + BN254_R], proof),
      ),
    ).toBe('ACK_PROOF_MALFORMED')
    expect(codeOf(() => verifyGroth16(nobleGroth16Kernel, key, [], proof))).toBe(
      'ACK_PROOF_MALFORMED',
    )
    expect(codeOf(() => verifyGroth16(nobleGroth16Kernel, key, [1n, 2n], proof))).toBe(
      'ACK_PROOF_MALFORMED',
    )
  })

  test('a proof with its points swapped or negated does not verify', () => {
    const negA = { ...proof, a: { x: proof.a.x, y: BN254_P - proof.a.y } }
    expect(verifyGroth16(nobleGroth16Kernel, key, signals, negA)).toBe(false)
    const swapped = { ...proof, a: proof.c, c: proof.a }
    expect(verifyGroth16(nobleGroth16Kernel, key, signals, swapped)).toBe(false)
  })

  test('the 256-byte form round-trips and refuses length, coordinates and non-points', () => {
    const bytes = encodeProof(proof)
    expect(bytes.length).toBe(PROOF_BYTES)
    expect(decodeProof(bytes)).toEqual(proof)
    expect(codeOf(() => decodeProof(bytes.slice(1)))).toBe('ACK_PROOF_MALFORMED')
    const big = bytes.slice()
    big.fill(0xff, 0, 32) // A.x ≥ p
    expect(codeOf(() => decodeProof(big))).toBe('ACK_PROOF_MALFORMED')
    const off = bytes.slice()
    off[63] = (off[63] as number) ^ 1 // A.y: off the curve
    expect(codeOf(() => decodeProof(off))).toBe('ACK_PROOF_MALFORMED')
  })

  test('B on the twist but outside the order-r subgroup is refused', () => {
    const { Fp2 } = bn254.fields
    const b = bn254.G2.Point.CURVE().b
    // The first x (from 1) whose x³ + b' is a square: a twist point, of the large cofactor's
    // order almost surely.
    for (let i = 1n; ; i++) {
      const x = Fp2.fromBigTuple([i, 0n])
      let y: ReturnType<typeof Fp2.sqrt>
      try {
        y = Fp2.sqrt(Fp2.add(Fp2.mul(Fp2.sqr(x), x), b))
      } catch {
        continue
      }
      const point = bn254.G2.Point.fromAffine({ x, y })
      if (point.isTorsionFree()) continue
      const bytes = encodeProof({
        ...proof,
        b: { x: [x.c0, x.c1], y: [y.c0, y.c1] },
      })
      expect(codeOf(() => decodeProof(bytes))).toBe('ACK_PROOF_MALFORMED')
      return
    }
  })

  test('any bit flipped in the proof: refused or false, never true', () => {
    const bytes = encodeProof(proof)
    fc.assert(
      fc.property(fc.nat(PROOF_BYTES * 8 - 1), (bit) => {
        const flipped = bytes.slice()
        flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7))
        let decoded: ReturnType<typeof decodeProof>
        try {
          decoded = decodeProof(flipped)
        } catch (e) {
          expect((e as { code?: string }).code).toBe('ACK_PROOF_MALFORMED')
          return
        }
        expect(verifyGroth16(nobleGroth16Kernel, key, signals, decoded)).toBe(false)
      }),
      { numRuns: 12 },
    )
  })

  test('the key parser refuses other protocols, counts and encodings', () => {
    const vk = fixture.verificationKey
    expect(codeOf(() => parseVerificationKey({ ...vk, protocol: 'plonk' }))).toBe(
      'ACK_PROOF_MALFORMED',
    )
    expect(codeOf(() => parseVerificationKey({ ...vk, nPublic: 2 }))).toBe('ACK_PROOF_MALFORMED')
    expect(codeOf(() => parseVerificationKey({ ...vk, vk_alpha_1: ['1', '2', '0'] }))).toBe(
      'ACK_PROOF_MALFORMED',
    )
    expect(
      codeOf(() => parseVerificationKey({ ...vk, vk_alpha_1: ['0x1', vk.vk_alpha_1[1], '1'] })),
    ).toBe('ACK_PROOF_MALFORMED')
    expect(codeOf(() => parseVerificationKey(null))).toBe('ACK_PROOF_MALFORMED')
    expect(codeOf(() => parseProof({ ...fixture.proof, pi_a: [] }))).toBe('ACK_PROOF_MALFORMED')
  })
})
