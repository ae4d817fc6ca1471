/**
 * Baby Jubjub on the WebAssembly BN254 kernel: circomlib point decompression (babyjub.ts's
 * `unpackPoint`, same answers: a test compares them) and points in the kernel's extended
 * coordinates. Everything here is public data, so nothing needs to be constant-time.
 */
import { BASE8, POINT_BYTES } from './babyjub.ts'
import { type Bn254Kernel, ELEMENT, KERNEL_LAYOUT, POINT } from './bn254-kernel.ts'
import { FIELD_ORDER } from './field.ts'

const SIGN_BIT = 0x80
const HALF_P = (FIELD_ORDER - 1n) / 2n
// p - 1 = 2^28·Q: Tonelli–Shanks with 5, a generator of F_p*, as the non-residue.
const TWO_ADICITY = 28
const Q = (FIELD_ORDER - 1n) >> BigInt(TWO_ADICITY)
const NON_RESIDUE = 5n
const HALF_Q_BITS = ((Q - 1n) / 2n).toString(2).length

function powBig(base: bigint, exponent: bigint): bigint {
  let result = 1n
  let b = base % FIELD_ORDER
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % FIELD_ORDER
    b = (b * b) % FIELD_ORDER
  }
  return result
}

/** Per-kernel constants and scratch for the functions below. */
interface Curve {
  readonly kernel: Bn254Kernel
  /** Exponents, plain limbs. */
  readonly pMinus2: number
  readonly halfQ: number
  readonly zero: number
  /** Base8, prepared for the MSM (`preparePoint`). */
  readonly base8: number
  /** Scratch elements. */
  readonly t: readonly number[]
}

const curves = new WeakMap<Bn254Kernel, Curve>()

export function curveOf(kernel: Bn254Kernel): Curve {
  let c = curves.get(kernel)
  if (c === undefined) {
    const pMinus2 = kernel.alloc(ELEMENT)
    kernel.writeRaw(pMinus2, FIELD_ORDER - 2n)
    const halfQ = kernel.alloc(ELEMENT)
    kernel.writeRaw(halfQ, (Q - 1n) / 2n)
    const zero = kernel.alloc(ELEMENT)
    const base8 = kernel.alloc(POINT)
    const { x, y } = BASE8.toAffine()
    writeAffine(kernel, base8, x, y)
    const t = Array.from({ length: 8 }, () => kernel.alloc(ELEMENT))
    c = { kernel, pMinus2, halfQ, zero, base8, t }
    preparePoint(c, base8, true)
    curves.set(kernel, c)
  }
  return c
}

/** Writes the affine point (x, y) at `at` as extended coordinates (x, y, 1, x·y). */
export function writeAffine(kernel: Bn254Kernel, at: number, x: bigint, y: bigint): void {
  kernel.write(at, x)
  kernel.write(at + ELEMENT, y)
  kernel.exports.copy(at + 2 * ELEMENT, KERNEL_LAYOUT.ONE)
  kernel.mul(at + 3 * ELEMENT, at, at + ELEMENT)
}

/** Writes the point of Montgomery-form x, y (at kernel addresses) at `at`, extended. */
export function setAffine(kernel: Bn254Kernel, at: number, x: number, y: number): void {
  kernel.exports.copy(at, x)
  kernel.exports.copy(at + ELEMENT, y)
  kernel.exports.copy(at + 2 * ELEMENT, KERNEL_LAYOUT.ONE)
  kernel.mul(at + 3 * ELEMENT, at, at + ELEMENT)
}

/**
 * Puts the point at `at` in the form the MSM adds (`padd_prepared`): affine, Z = 1, and d·x·y
 * in place of T. One inversion unless Z is 1 already (`affine`).
 */
export function preparePoint(curve: Curve, at: number, affine = false): void {
  const k = curve.kernel
  if (!affine) {
    const zInverse = curve.t[7]!
    k.exports.pow(zInverse, at + 2 * ELEMENT, curve.pMinus2, 254)
    k.mul(at, at, zInverse)
    k.mul(at + ELEMENT, at + ELEMENT, zInverse)
    k.exports.copy(at + 2 * ELEMENT, KERNEL_LAYOUT.ONE)
  }
  k.mul(at + 3 * ELEMENT, at, at + ELEMENT)
  k.mul(at + 3 * ELEMENT, at + 3 * ELEMENT, KERNEL_LAYOUT.CURVE_D)
}

/** Negates the point at `from` into `to` (-(x, y) = (-x, y)); keeps a prepared point prepared. */
export function negatePoint(curve: Curve, to: number, from: number): void {
  const k = curve.kernel
  k.sub(to, curve.zero, from)
  k.exports.copy(to + ELEMENT, from + ELEMENT)
  k.exports.copy(to + 2 * ELEMENT, from + 2 * ELEMENT)
  k.sub(to + 3 * ELEMENT, curve.zero, from + 3 * ELEMENT)
}

/** True when the point at `at` is the identity (X = 0, Y = Z). */
export function isIdentity(kernel: Bn254Kernel, at: number): boolean {
  return kernel.isZero(at) && kernel.equal(at + ELEMENT, at + 2 * ELEMENT)
}

/**
 * Tables for square roots by discrete logarithm in the 2^28-torsion (Sarkar's variant of
 * Tonelli–Shanks): with g = 5^Q, `minus[L][k]` = g^(-k·2^(7L)) and the lookup of h^k,
 * h = g^(2^21) of order 2^7. A square root then costs 42 squarings and 7 products after the
 * exponentiation, where Tonelli–Shanks' loop took ~400 (p - 1 = 2^28·Q: a deep 2-torsion).
 */
interface RootTables {
  readonly minus: readonly (readonly number[])[]
  /** h^k by its first limb (a hint: the whole element is compared). */
  readonly logByLimb: Map<number, number>
  readonly h: readonly number[]
}

const WINDOW = 7
const WINDOWS = TWO_ADICITY / WINDOW
const WINDOW_SIZE = 1 << WINDOW
const tables = new WeakMap<Curve, RootTables>()

function rootTables(curve: Curve): RootTables {
  let t = tables.get(curve)
  if (t === undefined) {
    const k = curve.kernel
    const g = powBig(NON_RESIDUE, Q)
    const gInverse = powBig(g, FIELD_ORDER - 2n)
    const minus = Array.from({ length: WINDOWS }, (_, level) => {
      const step = powBig(gInverse, 1n << BigInt(WINDOW * level))
      let value = 1n
      return Array.from({ length: WINDOW_SIZE }, () => {
        const at = k.alloc(ELEMENT)
        k.write(at, value)
        value = (value * step) % FIELD_ORDER
        return at
      })
    })
    const hBase = powBig(g, 1n << BigInt(WINDOW * (WINDOWS - 1)))
    const logByLimb = new Map<number, number>()
    let value = 1n
    const h = Array.from({ length: WINDOW_SIZE }, (_, i) => {
      const at = k.alloc(ELEMENT)
      k.write(at, value)
      logByLimb.set(k.firstLimb(at), i)
      value = (value * hBase) % FIELD_ORDER
      return at
    })
    t = { minus, logByLimb, h }
    tables.set(curve, t)
  }
  return t
}

/** k with h^k the value at `at` (of order dividing 2^7 by construction). */
function logOfH(curve: Curve, t: RootTables, at: number): number {
  const k = curve.kernel
  const hint = t.logByLimb.get(k.firstLimb(at))
  if (hint !== undefined && k.equal(at, t.h[hint]!)) return hint
  const found = t.h.findIndex((entry) => k.equal(at, entry))
  if (found < 0) throw new Error('BN254 kernel: a 2^7-th root of unity is missing from its table')
  return found
}

/** out = a square root of the Montgomery-form value at `a`, or false when it has none. */
function sqrt(curve: Curve, out: number, a: number): boolean {
  const k = curve.kernel
  const t = rootTables(curve)
  const [w, b, c] = curve.t as [number, number, number]
  // w = a^((Q-1)/2); x = a·w = a^((Q+1)/2); b = x·w = a^Q = g^e for some e < 2^28.
  k.exports.pow(w, a, curve.halfQ, HALF_Q_BITS)
  k.mul(out, a, w)
  k.mul(b, out, w)
  // e, seven bits at a time from the bottom: (b·g^-(known bits))^(2^(21 - 7L)) = h^(e_L).
  let e = 0
  for (let level = 0; level < WINDOWS; level++) {
    k.exports.copy(c, b)
    for (let i = 0; i < WINDOW * (WINDOWS - 1 - level); i++) k.mul(c, c, c)
    const digit = logOfH(curve, t, c)
    e += digit << (WINDOW * level)
    if (level < WINDOWS - 1) k.mul(b, b, t.minus[level]![digit]!)
  }
  // a is a square iff e is even; then sqrt(a) = x·g^(-e/2).
  if ((e & 1) !== 0) return false
  const half = e >>> 1
  for (let level = 0; level < WINDOWS; level++) {
    k.mul(out, out, t.minus[level]![(half >>> (WINDOW * level)) & (WINDOW_SIZE - 1)]!)
  }
  return true
}

/**
 * The first half of circomlib's `unpackPoint`, strict: y (Montgomery form) from the encoding, and
 * x^2 = u / v with u = 1 - y^2 and v = a - d·y^2 (never 0: d/a is not a square). False when y is
 * not canonical (y >= p) or the length is wrong. `unpackFinish` takes 1/v: inverting many v at
 * once (`invertMany`) costs about one inversion.
 */
export function unpackStart(
  curve: Curve,
  bytes: Uint8Array,
  y: number,
  u: number,
  v: number,
): boolean {
  if (bytes.length !== POINT_BYTES) return false
  const k = curve.kernel
  const yBytes = k.view(y, ELEMENT)
  yBytes.set(bytes)
  yBytes[POINT_BYTES - 1]! &= ~SIGN_BIT
  if (k.readRaw(y) >= FIELD_ORDER) return false
  k.exports.mul(y, y, KERNEL_LAYOUT.R2)
  k.mul(u, y, y)
  k.mul(v, u, KERNEL_LAYOUT.CURVE_D)
  k.sub(u, KERNEL_LAYOUT.ONE, u)
  k.sub(v, KERNEL_LAYOUT.CURVE_A, v)
  return true
}

/**
 * The second half: x from u and 1/v, the root whose sign the encoding's top bit gives. False
 * when x = 0 (the identity and the point of order 2) or x^2 has no root. Overwrites u.
 */
export function unpackFinish(
  curve: Curve,
  bytes: Uint8Array,
  x: number,
  u: number,
  vInverse: number,
): boolean {
  const k = curve.kernel
  const negative = (bytes[POINT_BYTES - 1]! & SIGN_BIT) !== 0
  k.mul(u, u, vInverse)
  if (k.isZero(u)) return false
  if (!sqrt(curve, x, u)) return false
  if (k.read(x, u) > HALF_P !== negative) k.sub(x, curve.zero, x)
  return true
}

/**
 * Replaces each element at `values` by its inverse (none may be 0), with one exponentiation for
 * all (Montgomery's trick): `prefix` holds as many scratch elements.
 */
export function invertMany(
  curve: Curve,
  values: readonly number[],
  prefix: readonly number[],
): void {
  const k = curve.kernel
  const n = values.length
  if (n === 0) return
  k.exports.copy(prefix[0]!, values[0]!)
  for (let i = 1; i < n; i++) k.mul(prefix[i]!, prefix[i - 1]!, values[i]!)
  const [inverse, next] = curve.t as [number, number]
  k.exports.pow(inverse, prefix[n - 1]!, curve.pMinus2, 254)
  for (let i = n - 1; i > 0; i--) {
    // 1/v_i = (1/(v_0..v_i))·(v_0..v_{i-1}); then 1/(v_0..v_{i-1}) = (1/(v_0..v_i))·v_i.
    k.mul(next, inverse, values[i]!)
    k.mul(values[i]!, inverse, prefix[i - 1]!)
    k.exports.copy(inverse, next)
  }
  k.exports.copy(values[0]!, inverse)
}

/**
 * circomlib `unpackPoint`, strict, into Montgomery-form x and y at the given addresses: false
 * for anything but the canonical encoding of a curve point with x != 0 (babyjub.ts).
 */
export function unpackInKernel(curve: Curve, bytes: Uint8Array, x: number, y: number): boolean {
  const [u, v] = curve.t.slice(4) as [number, number]
  if (!unpackStart(curve, bytes, y, u, v)) return false
  curve.kernel.exports.pow(v, v, curve.pMinus2, 254)
  return unpackFinish(curve, bytes, x, u, v)
}
