/**
 * Baby Jubjub (the twisted Edwards curve a = 168700, d = 168696 over the BN254 scalar field) as
 * circomlib uses it: noble's point arithmetic, circomlib's point encoding. noble's `Point.BASE`
 * is circomlib's `Base8`, the generator of the prime-order subgroup; the module checks this on
 * load, since noble once used the full-group generator instead.
 */
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js'
import { babyjubjub } from '@noble/curves/misc.js'
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js'
import { FIELD_BYTES, FIELD_ORDER } from './field.ts'

export const Point = babyjubjub.Point
export type Point = EdwardsPoint

/** circomlib's Base8: generates the subgroup of prime order SUBGROUP_ORDER. */
export const BASE8 = Point.BASE

/** circomlib's `subOrder` (l): the order of Base8. */
export const SUBGROUP_ORDER = Point.Fn.ORDER

/** Bytes of a packed point. */
export const POINT_BYTES = FIELD_BYTES

const CURVE = Point.CURVE()
const CIRCOMLIB = {
  p: FIELD_ORDER,
  n: 2736030358979909402780800718157159386076813972158567259200215660948447373041n,
  a: 168700n,
  d: 168696n,
  Gx: 5299619240641551281634865583518297030282874472190772894086521144482721001553n,
  Gy: 16950150798460657717958625567821834550301663161624707787222815936182638968203n,
} as const
for (const [name, value] of Object.entries(CIRCOMLIB)) {
  if (CURVE[name as keyof typeof CIRCOMLIB] !== value) {
    throw new Error(`@noble/curves babyjubjub ${name} differs from circomlib's: cannot sign`)
  }
}

const Fp = Point.Fp
const HALF_P = (FIELD_ORDER - 1n) / 2n
const SIGN_BIT = 0x80

/**
 * circomlib `packPoint`: y as 32 little-endian bytes, top bit of the last byte set when
 * x > (p - 1) / 2. (Not noble's `toBytes`, which uses the parity of x.)
 */
export function packPoint(point: Point): Uint8Array {
  const { x, y } = point.toAffine()
  const bytes = numberToBytesLE(y, POINT_BYTES)
  if (x > HALF_P) bytes[POINT_BYTES - 1]! |= SIGN_BIT
  return bytes
}

/**
 * circomlib `unpackPoint`, strict: undefined unless `bytes` is the one canonical encoding of a
 * curve point with x != 0. Rejects y >= p (circomlibjs lets y = p through) and x = 0: those
 * points are the identity and the point of order 2, which circomlibjs cannot unpack either.
 * Says nothing about the point's order: see `isValidKeyPoint`.
 */
export function unpackPoint(bytes: Uint8Array): Point | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length !== POINT_BYTES) return undefined
  const negative = (bytes[POINT_BYTES - 1]! & SIGN_BIT) !== 0
  const yBytes = bytes.slice()
  yBytes[POINT_BYTES - 1]! &= ~SIGN_BIT
  const y = bytesToNumberLE(yBytes)
  if (y >= FIELD_ORDER) return undefined
  // a x^2 + y^2 = 1 + d x^2 y^2  =>  x^2 = (1 - y^2) / (a - d y^2); a - d y^2 != 0 since d/a
  // is not a square.
  const y2 = Fp.sqr(y)
  const x2 = Fp.div(Fp.sub(Fp.ONE, y2), Fp.sub(CIRCOMLIB.a, Fp.mul(CIRCOMLIB.d, y2)))
  if (Fp.is0(x2)) return undefined
  let x: bigint
  try {
    x = Fp.sqrt(x2)
  } catch {
    return undefined // not a square: no point has this y
  }
  if (x > HALF_P !== negative) x = Fp.neg(x)
  return Point.fromAffine({ x, y })
}

/**
 * True for valid public keys: points that are not of small order. A key may carry a torsion
 * component (A + T, T of order 2, 4 or 8): circomlib's verifier multiplies the key by 8·hm,
 * which removes it, so such keys verify there and here alike, for the holder of A only. Not
 * checking `l·A = 0` saves a full scalar multiplication (~1.3 ms) on every new key.
 */
export function isValidKeyPoint(point: Point): boolean {
  return !point.isSmallOrder()
}
