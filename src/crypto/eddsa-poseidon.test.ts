import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { BASE8, Point, packPoint, SUBGROUP_ORDER } from './babyjub.ts'
import {
  decodePublicKey,
  PUBLIC_KEY_LEN,
  publicKeyOf,
  randomPrivateKey,
  SIGNATURE_LEN,
  sign,
  verify,
} from './eddsa-poseidon.ts'
import { FIELD_ORDER } from './field.ts'
import { poseidon } from './poseidon.ts'
import { fieldArb, privateKeyArb } from './testing/arbitraries.ts'
import { FULL_GENERATOR, le32, ORDER8 } from './testing/points.ts'
import vectors from './vectors/eddsa-poseidon.json' with { type: 'json' }

const p = FIELD_ORDER
const invalidKey = expect.objectContaining({ name: 'CryptoError', code: 'CRYPTO_INVALID_KEY' })
const invalidField = expect.objectContaining({ name: 'CryptoError', code: 'CRYPTO_INVALID_FIELD' })

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice()
  out[bit >> 3]! ^= 1 << (bit & 7)
  return out
}

// A fixed valid triple for the tampering properties.
const fixedKey = hexToBytes(vectors.eddsa[0]!.privateKey)
const fixedPublic = publicKeyOf(fixedKey)
const fixedMessage = 123456789n
const fixedSignature = sign(fixedKey, fixedMessage)

// circomlib's full-group generator (order 8l) and a point of order 8: outside the subgroup.
const G = FULL_GENERATOR
const order8 = ORDER8

describe('circomlibjs vectors', () => {
  test.each(vectors.eddsa.map((v, i) => [i, v] as const))('signature %i', (_, v) => {
    const privateKey = hexToBytes(v.privateKey)
    const message = BigInt(v.message)
    expect(bytesToHex(publicKeyOf(privateKey))).toBe(v.publicKey)
    expect(bytesToHex(sign(privateKey, message))).toBe(v.signature)
    expect(verify(hexToBytes(v.publicKey), message, hexToBytes(v.signature))).toBe(true)
    const other = message === 0n ? 1n : message - 1n
    expect(verify(hexToBytes(v.publicKey), other, hexToBytes(v.signature))).toBe(false)
  })
})

describe('sign and verify', () => {
  test('round trip for any key and message', () => {
    fc.assert(
      fc.property(privateKeyArb, fieldArb, (privateKey, message) => {
        const signature = sign(privateKey, message)
        expect(signature.length).toBe(SIGNATURE_LEN)
        expect(verify(publicKeyOf(privateKey), message, signature)).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  test('signing is deterministic', () => {
    expect(sign(fixedKey, fixedMessage)).toEqual(fixedSignature)
  })

  test('random private keys are 32 fresh bytes', () => {
    const a = randomPrivateKey()
    expect(a.length).toBe(32)
    expect(a).not.toEqual(randomPrivateKey())
    expect(publicKeyOf(a).length).toBe(PUBLIC_KEY_LEN)
  })

  test('any flipped signature bit fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 * SIGNATURE_LEN - 1 }), (bit) => {
        expect(verify(fixedPublic, fixedMessage, flipBit(fixedSignature, bit))).toBe(false)
      }),
    )
  })

  test('any flipped public key bit fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8 * PUBLIC_KEY_LEN - 1 }), (bit) => {
        expect(verify(flipBit(fixedPublic, bit), fixedMessage, fixedSignature)).toBe(false)
      }),
    )
  })

  test('any flipped message bit fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), (bit) => {
        const message = fixedMessage ^ (1n << BigInt(bit))
        expect(verify(fixedPublic, message, fixedSignature)).toBe(false)
      }),
    )
  })

  test('random keys and signatures are rejected, never thrown on', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        fieldArb,
        (publicKey, signature, message) => {
          expect(verify(publicKey, message, signature)).toBe(false)
          expect(verify(fixedPublic, message, signature)).toBe(false)
        },
      ),
    )
  })

  test('malformed arguments are rejected, never thrown on', () => {
    const bad: [unknown, unknown, unknown][] = [
      [fixedPublic.subarray(1), fixedMessage, fixedSignature],
      [new Uint8Array(33), fixedMessage, fixedSignature],
      [fixedPublic, fixedMessage, fixedSignature.subarray(1)],
      [fixedPublic, fixedMessage, new Uint8Array(65)],
      [fixedPublic, -1n, fixedSignature],
      [fixedPublic, p, fixedSignature],
      [fixedPublic, fixedMessage + p, fixedSignature],
      [fixedPublic, 123456789, fixedSignature],
      [fixedPublic, '123456789', fixedSignature],
      [Array.from(fixedPublic), fixedMessage, fixedSignature],
      [fixedPublic, fixedMessage, Array.from(fixedSignature)],
      [undefined, fixedMessage, fixedSignature],
      [fixedPublic, fixedMessage, null],
    ]
    for (const [publicKey, message, signature] of bad) {
      expect(verify(publicKey as Uint8Array, message as bigint, signature as Uint8Array)).toBe(
        false,
      )
    }
  })

  test('S + l (the malleable twin) is rejected, as circomlib does', () => {
    const S = fixedSignature.subarray(32).reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n)
    const twin = fixedSignature.slice()
    twin.set(le32(S + SUBGROUP_ORDER), 32)
    expect(verify(fixedPublic, fixedMessage, twin)).toBe(false)
  })

  test('a non-canonical R8 (y + p) is rejected', () => {
    const packed = fixedSignature.subarray(0, 32)
    const sign = packed[31]! & 0x80
    const y = le32(0n).map((_, i) => (i === 31 ? packed[i]! & 0x7f : packed[i]!))
    const yValue = y.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n)
    const alias = le32(yValue + p)
    alias[31]! |= sign
    const forged = fixedSignature.slice()
    forged.set(alias, 0)
    expect(verify(fixedPublic, fixedMessage, forged)).toBe(false)
  })

  test('the identity key with an identity R8 and S = 0 is rejected', () => {
    // Base8 * 0 == identity + identity * h: valid for every message under a zero key.
    const identity = le32(1n)
    const forged = new Uint8Array(64)
    forged.set(identity, 0)
    expect(verify(identity, fixedMessage, forged)).toBe(false)
  })

  test('sign refuses messages outside the field', () => {
    for (const message of [-1n, p, p + 1n, 2n ** 256n]) {
      expect(() => sign(fixedKey, message)).toThrow(invalidField)
    }
    expect(() => sign(fixedKey, 1 as unknown as bigint)).toThrow(invalidField)
  })

  test('keys of the wrong length are refused with a typed error', () => {
    expect(() => publicKeyOf(new Uint8Array(31))).toThrow(invalidKey)
    expect(() => sign(new Uint8Array(33), 1n)).toThrow(invalidKey)
  })
})

describe('decodePublicKey', () => {
  test('returns the point of a valid key', () => {
    const point = BASE8.multiply(987654321n).toAffine()
    expect(decodePublicKey(packPoint(BASE8.multiply(987654321n)))).toEqual(point)
    fc.assert(
      fc.property(privateKeyArb, (privateKey) => {
        const { x, y } = decodePublicKey(publicKeyOf(privateKey))
        expect(packPoint(Point.fromAffine({ x, y }))).toEqual(publicKeyOf(privateKey))
      }),
      { numRuns: 20 },
    )
  })

  test('rejects wrong lengths and types', () => {
    expect(() => decodePublicKey(new Uint8Array(31))).toThrow(invalidKey)
    expect(() => decodePublicKey(new Uint8Array(33))).toThrow(invalidKey)
    expect(() => decodePublicKey(Array(32).fill(0) as unknown as Uint8Array)).toThrow(invalidKey)
  })

  test('rejects y >= p and non-canonical aliases of valid keys', () => {
    expect(() => decodePublicKey(le32(p))).toThrow(invalidKey)
    expect(() => decodePublicKey(le32(2n ** 255n - 1n))).toThrow(invalidKey)
    const { x, y } = BASE8.toAffine()
    const alias = le32(y + p)
    if (x > (p - 1n) / 2n) alias[31]! |= 0x80
    expect(() => decodePublicKey(alias)).toThrow(invalidKey)
  })

  test('rejects y with no point on the curve', () => {
    let misses = 0
    for (let y = 2n; misses < 5; y++) {
      let onCurve = true
      try {
        decodePublicKey(le32(y))
      } catch (error) {
        expect(error).toEqual(invalidKey)
        onCurve = false
      }
      if (!onCurve) misses++
    }
  })

  test('rejects the identity and the other points with x = 0', () => {
    for (const y of [1n, p - 1n]) {
      expect(() => decodePublicKey(le32(y))).toThrow(invalidKey)
      const signed = le32(y)
      signed[31]! |= 0x80
      expect(() => decodePublicKey(signed)).toThrow(invalidKey)
    }
  })

  test('rejects points of small order; accepts keys with a torsion component, as circomlib', () => {
    for (const point of [order8, order8.double(), order8.double().double()]) {
      expect(point.isSmallOrder()).toBe(true)
      expect(() => decodePublicKey(packPoint(point))).toThrow(invalidKey)
    }
    const valid = BASE8.multiply(424242n)
    for (const point of [G, valid.add(order8), valid.add(order8.double())]) {
      expect(point.isTorsionFree()).toBe(false)
      expect(decodePublicKey(packPoint(point))).toEqual(point.toAffine())
    }
  })

  test('a key with a torsion component verifies exactly when circomlib does', async () => {
    // A' = A + T, T of order 8: circomlib's equation Base8*S == R8 + A'*(8hm) only sees
    // 8A' = 8A, so whoever knows a (A = Base8*a) signs for A' too, and only they can.
    const a = 5n
    const r = 77n
    const keyPoint = BASE8.multiply(a).add(order8)
    const R8 = BASE8.multiply(r)
    const K = keyPoint.toAffine()
    const R = R8.toAffine()
    const hm = poseidon([R.x, R.y, K.x, K.y, fixedMessage])
    const S = (r + 8n * a * hm) % SUBGROUP_ORDER
    const signature = new Uint8Array(64)
    signature.set(packPoint(R8), 0)
    signature.set(le32(S), 32)
    expect(verify(packPoint(keyPoint), fixedMessage, signature)).toBe(true)
    // One unit off in S, or the torsion-free key with this signature: refused.
    const off = signature.slice()
    off.set(le32((S + 1n) % SUBGROUP_ORDER), 32)
    expect(verify(packPoint(keyPoint), fixedMessage, off)).toBe(false)
    expect(verify(packPoint(BASE8.multiply(a)), fixedMessage, signature)).toBe(false)
  })
})
