/**
 * Live cross-check against circomlibjs, both ways: what we sign it verifies, what it signs we
 * verify and produce byte for byte. circomlibjs is slow (~30 ms a signature): few runs.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { beforeAll, expect, test } from 'vitest'
import { BASE8, packPoint, SUBGROUP_ORDER, unpackPoint } from './babyjub.ts'
import { publicKeyOf, sign, verify } from './eddsa-poseidon.ts'
import { poseidon } from './poseidon.ts'
import { fieldArb, privateKeyArb } from './testing/arbitraries.ts'
import { type Circomlib, loadCircomlib } from './testing/circomlib.ts'
import { le32, ORDER8 } from './testing/points.ts'

let circomlib: Circomlib
beforeAll(async () => {
  circomlib = await loadCircomlib()
})

test('keys and signatures agree both ways', () => {
  fc.assert(
    fc.property(privateKeyArb, fieldArb, (privateKey, message) => {
      const ours = sign(privateKey, message)
      const theirs = circomlib.sign(privateKey, message)
      const publicKey = publicKeyOf(privateKey)
      expect(bytesToHex(publicKey)).toBe(bytesToHex(circomlib.publicKeyOf(privateKey)))
      expect(bytesToHex(ours)).toBe(bytesToHex(theirs))
      expect(circomlib.verify(publicKey, message, ours)).toBe(true)
      expect(verify(publicKey, message, theirs)).toBe(true)
    }),
    { numRuns: 20 },
  )
})

test('tampered signatures fail in both', () => {
  fc.assert(
    fc.property(privateKeyArb, fieldArb, fc.integer({ min: 0, max: 511 }), (key, message, bit) => {
      const signature = sign(key, message)
      signature[bit >> 3]! ^= 1 << (bit & 7)
      const publicKey = publicKeyOf(key)
      expect(verify(publicKey, message, signature)).toBe(false)
      expect(circomlib.verify(publicKey, message, signature)).toBe(false)
    }),
    { numRuns: 20 },
  )
})

test('points pack and unpack as in circomlibjs', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n }), (k) => {
      const point = BASE8.multiply(k)
      const packed = packPoint(point)
      expect(circomlib.unpackPoint(packed)).toEqual(point.toAffine())
      expect(unpackPoint(packed)?.toAffine()).toEqual(point.toAffine())
    }),
    { numRuns: 50 },
  )
})

test('whatever encoding we accept, circomlibjs reads as the same point', () => {
  // The converse does not hold: circomlibjs also takes y >= p (reduced) and x = 0 with a sign.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.boolean(), (bytes, small) => {
      if (small) bytes[31]! &= 0x8f // keep y < p most of the time
      const ours = unpackPoint(bytes)
      if (ours !== undefined) expect(circomlib.unpackPoint(bytes)).toEqual(ours.toAffine())
    }),
    { numRuns: 200 },
  )
})

test('Poseidon agrees for 1..6 inputs', () => {
  fc.assert(
    fc.property(fc.array(fieldArb, { minLength: 1, maxLength: 6 }), (inputs) => {
      expect(poseidon(inputs)).toBe(circomlib.poseidon(inputs))
    }),
    { numRuns: 60 },
  )
})

test('a key with a torsion component: we verify exactly when circomlibjs does', () => {
  fc.assert(
    fc.property(
      fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n }),
      fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n }),
      fieldArb,
      fc.integer({ min: 1, max: 7 }),
      (a, r, message, t) => {
        const key = BASE8.multiply(a).add(ORDER8.multiplyUnsafe(BigInt(t)))
        const R8 = BASE8.multiply(r)
        const K = key.toAffine()
        const R = R8.toAffine()
        const hm = poseidon([R.x, R.y, K.x, K.y, message])
        const signature = new Uint8Array(64)
        signature.set(packPoint(R8), 0)
        const S = (r + 8n * a * hm) % SUBGROUP_ORDER
        for (const s of [S, (S + 1n) % SUBGROUP_ORDER]) {
          signature.set(le32(s), 32)
          const ours = verify(packPoint(key), message, signature)
          expect(ours).toBe(circomlib.verify(packPoint(key), message, signature))
          expect(ours).toBe(s === S)
        }
      },
    ),
    { numRuns: 10 },
  )
})
