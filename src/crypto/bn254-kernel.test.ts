import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { BASE8, Point, packPoint, SUBGROUP_ORDER, unpackPoint } from './babyjub.ts'
import { curveOf, isIdentity, preparePoint, unpackInKernel, writeAffine } from './babyjub-kernel.ts'
import { type Bn254Kernel, bn254Kernel, ELEMENT, loadBn254Kernel, POINT } from './bn254-kernel.ts'
import { FIELD_ORDER, Fp } from './field.ts'
import { poseidon } from './poseidon.ts'
import { poseidonWithKernel } from './poseidon-kernel.ts'
import { fieldArb } from './testing/arbitraries.ts'
import { le32, ORDER8 } from './testing/points.ts'

const p = FIELD_ORDER
// A page's main thread may not compile a module this size synchronously: load it first.
const k = (await loadBn254Kernel()) as Bn254Kernel
const [a, b, out, scratch, exponent] = Array.from({ length: 5 }, () => k.alloc(ELEMENT)) as [
  number,
  number,
  number,
  number,
  number,
]
const points = k.alloc(4 * POINT)
const scalars = k.alloc(4 * ELEMENT)

function affineOf(at: number): { x: bigint; y: bigint } {
  const z = k.read(at + 2 * ELEMENT, scratch)
  return { x: Fp.div(k.read(at, scratch), z), y: Fp.div(k.read(at + ELEMENT, scratch), z) }
}

const scalarArb = fc.bigInt({ min: 1n, max: SUBGROUP_ORDER - 1n })
const pointArb = scalarArb.map((s) => BASE8.multiplyUnsafe(s))

describe('the BN254 kernel', () => {
  test('loads, and is then the process kernel', () => {
    expect(k).toBeDefined()
    expect(bn254Kernel()).toBe(k)
  })

  test('field operations agree with BigInt arithmetic mod p', () => {
    fc.assert(
      fc.property(fieldArb, fieldArb, (x, y) => {
        k.write(a, x)
        k.write(b, y)
        k.mul(out, a, b)
        expect(k.read(out, scratch)).toBe((x * y) % p)
        k.add(out, a, b)
        expect(k.read(out, scratch)).toBe((x + y) % p)
        k.sub(out, a, b)
        expect(k.read(out, scratch)).toBe((((x - y) % p) + p) % p)
        // In place, as the point formulas use them.
        k.mul(a, a, a)
        expect(k.read(a, scratch)).toBe((x * x) % p)
      }),
      { numRuns: 300 },
    )
  })

  test('pow computes x^e for any exponent (an inverse: e = p - 2)', () => {
    fc.assert(
      fc.property(fieldArb, fc.bigInt({ min: 0n, max: 2n ** 254n - 1n }), (x, e) => {
        k.write(a, x)
        k.writeRaw(exponent, e)
        k.exports.pow(out, a, exponent, 254)
        expect(k.read(out, scratch)).toBe(Fp.pow(x, e))
      }),
      { numRuns: 40 },
    )
    k.write(a, 12345n)
    k.writeRaw(exponent, p - 2n)
    k.exports.pow(out, a, exponent, 254)
    expect(k.read(out, scratch)).toBe(Fp.inv(12345n))
  })

  test('point addition and doubling agree with @noble/curves, the identity included', () => {
    fc.assert(
      fc.property(pointArb, pointArb, (P, Q) => {
        writeAffine(k, points, P.toAffine().x, P.toAffine().y)
        writeAffine(k, points + POINT, Q.toAffine().x, Q.toAffine().y)
        k.exports.padd(points + 2 * POINT, points, points + POINT)
        expect(affineOf(points + 2 * POINT)).toEqual(P.add(Q).toAffine())
        k.exports.pdbl(points + 2 * POINT, points)
        expect(affineOf(points + 2 * POINT)).toEqual(P.double().toAffine())
        // P + (-P) = 0: complete formulas, no special case.
        const minus = P.negate().toAffine()
        writeAffine(k, points + POINT, minus.x, minus.y)
        k.exports.padd(points + 2 * POINT, points, points + POINT)
        expect(isIdentity(k, points + 2 * POINT)).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  test('msm is Σ scalar_i·point_i over prepared points, torsion points included', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(pointArb, fc.bigInt({ min: 0n, max: SUBGROUP_ORDER - 1n })), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.boolean(),
        (terms, torsion) => {
          let expected = Point.ZERO
          terms.forEach(([P0, s], i) => {
            const P = torsion && i === 0 ? P0.add(ORDER8) : P0
            const { x, y } = P.toAffine()
            writeAffine(k, points + i * POINT, x, y)
            preparePoint(curveOf(k), points + i * POINT, true)
            k.writeRaw(scalars + i * ELEMENT, s)
            expected = expected.add(P.multiplyUnsafe(s))
          })
          k.exports.msm(points + 3 * POINT, points, scalars, terms.length, 252)
          const result = points + 3 * POINT
          if (expected.is0()) expect(isIdentity(k, result)).toBe(true)
          else expect(affineOf(result)).toEqual(expected.toAffine())
        },
      ),
      { numRuns: 20 },
    )
  })

  test('unpacking agrees with babyjub.ts on valid and invalid encodings', () => {
    const curve = curveOf(k)
    const check = (bytes: Uint8Array) => {
      const expected = unpackPoint(bytes)
      const ok = unpackInKernel(curve, bytes, a, b)
      expect(ok).toBe(expected !== undefined)
      if (expected !== undefined) {
        expect(k.read(a, scratch)).toBe(expected.toAffine().x)
        expect(k.read(b, scratch)).toBe(expected.toAffine().y)
      }
    }
    fc.assert(
      fc.property(pointArb, fc.boolean(), (P, torsion) => {
        check(packPoint(torsion ? P.add(ORDER8) : P))
      }),
      { numRuns: 60 },
    )
    // Random bytes: about half are no point at all (x² not a square), some have y >= p.
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), check), {
      numRuns: 200,
    })
    check(le32(p)) // y = p: not canonical
    check(le32(1n)) // y = 1: x = 0, the identity
    check(le32(p - 1n)) // y = -1: x = 0, the point of order 2
    check(le32(0n))
    expect(unpackInKernel(curve, new Uint8Array(31), a, b)).toBe(false)
  })

  test('Poseidon on the kernel equals poseidon() for every width', () => {
    for (let inputs = 1; inputs <= 16; inputs++) {
      fc.assert(
        fc.property(fc.array(fieldArb, { minLength: inputs, maxLength: inputs }), (xs) => {
          expect(poseidonWithKernel(k, xs)).toBe(poseidon(xs))
        }),
        { numRuns: inputs <= 6 ? 20 : 3 },
      )
    }
  })
})

describe('the kernel dot product', () => {
  test('is Σ x_i·y_i mod p for 1..17 terms and any stride (carried every 7 products)', () => {
    const xs = k.alloc(17 * ELEMENT)
    const ys = k.alloc(17 * 3 * ELEMENT)
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fieldArb, fieldArb), { minLength: 1, maxLength: 17 }),
        fc.constantFrom(1, 3),
        (pairs, stride) => {
          let expected = 0n
          pairs.forEach(([x, y], i) => {
            k.write(xs + i * ELEMENT, x)
            k.write(ys + i * stride * ELEMENT, y)
            expected = (expected + x * y) % p
          })
          k.exports.dot(out, xs, ys, pairs.length, stride * ELEMENT)
          expect(k.read(out, scratch)).toBe(expected)
        },
      ),
      { numRuns: 200 },
    )
    // The largest values in every term: the columns' worst case.
    for (let i = 0; i < 17; i++) {
      k.write(xs + i * ELEMENT, p - 1n)
      k.write(ys + i * ELEMENT, p - 1n)
    }
    k.exports.dot(out, xs, ys, 17, ELEMENT)
    expect(k.read(out, scratch)).toBe((17n * (p - 1n) * (p - 1n)) % p)
  })
})
