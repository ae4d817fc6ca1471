import { bytesToHex } from '@noble/hashes/utils.js'
import { deriveKey } from '../b3/hash.ts'
import { BASE8, POINT_BYTES, SUBGROUP_ORDER } from './babyjub.ts'
import {
  curveOf,
  invertMany,
  isIdentity,
  negatePoint,
  preparePoint,
  setAffine,
  unpackFinish,
  unpackInKernel,
  unpackStart,
} from './babyjub-kernel.ts'
import {
  type Bn254Kernel,
  bn254Kernel,
  ELEMENT,
  KERNEL_LAYOUT,
  littleEndian256,
  POINT,
} from './bn254-kernel.ts'
import { parseSignature, SIGNATURE_LEN } from './eddsa-poseidon.ts'
import { isFieldElement } from './field.ts'
import { poseidonInKernel } from './poseidon-kernel.ts'

export interface SignedMessage {
  readonly publicKey: Uint8Array
  /** A field element (see `messageOf`). */
  readonly message: bigint
  readonly signature: Uint8Array
}

const CONTEXT = 'fulmen 2026 eddsa-poseidon batch'
const Z_BYTES = 16
/** Bits of every scalar the equation uses (l < 2^252). */
const SCALAR_BITS = 252
/** Signatures combined at most in one equation (bounds the kernel memory a batch uses). */
export const MAX_BATCH = 1024

/**
 * One boolean per item: true when its signature is valid (cofactored equation, see above).
 * Never throws for malformed items: they are false.
 */
export function verifyBatch(items: readonly SignedMessage[]): boolean[] {
  const kernel = bn254Kernel()
  if (kernel === undefined) return items.map(verifyCofactored)
  const out: boolean[] = []
  for (let from = 0; from < items.length; from += MAX_BATCH) {
    out.push(...verifyChunk(batchArea(kernel), items.slice(from, from + MAX_BATCH)))
  }
  return out
}

/**
 * One signature, the same cofactored equation, on @noble/curves: where the kernel cannot load,
 * and the reference the tests hold the kernel to.
 */
export function verifyCofactored(item: SignedMessage): boolean {
  const parsed = parseSignature(item.publicKey, item.message, item.signature)
  if (parsed === undefined) return false
  const { A, R8, S, h } = parsed
  const left = BASE8.multiplyUnsafe(S)
  return left
    .subtract(R8.add(A.cleared.multiplyUnsafe(h)))
    .clearCofactor()
    .is0()
}

/** A public key decoded into the kernel: its x and y (Montgomery form) and -8A, prepared. */
interface KernelKey {
  readonly x: number
  readonly y: number
  readonly minus8A: number
}

/** Kernel memory for one kernel's batches: key slots and the per-batch areas. */
interface BatchArea {
  readonly kernel: Bn254Kernel
  readonly keys: Map<string, KernelKey | null>
  readonly keySlots: number
  usedKeySlots: number
  /** Per item: R8's staging (R8_SLOT bytes). */
  readonly r8: number
  /** The equation's points and scalars: -R8_i, then the keys' -8A, then Base8. */
  readonly points: number
  readonly scalars: number
  readonly message: number
  readonly result: number
}

// An item's R8 staging: x, y, u, v (x^2 = u/v) and a prefix product for the batch inversion.
const X = 0
const Y = ELEMENT
const U = 2 * ELEMENT
const V = 3 * ELEMENT
const PREFIX = 4 * ELEMENT
const R8_SLOT = 5 * ELEMENT

const KEY_SLOTS = 2 * MAX_BATCH
const KEY_SLOT_BYTES = 2 * ELEMENT + POINT
const areas = new WeakMap<Bn254Kernel, BatchArea>()

function batchArea(kernel: Bn254Kernel): BatchArea {
  let a = areas.get(kernel)
  if (a === undefined) {
    // Every item's R8, a key each at most, Base8, and three for checking one item alone.
    const terms = 2 * MAX_BATCH + 1 + 3
    a = {
      kernel,
      keys: new Map(),
      keySlots: kernel.alloc(KEY_SLOTS * KEY_SLOT_BYTES),
      usedKeySlots: 0,
      r8: kernel.alloc(MAX_BATCH * R8_SLOT),
      points: kernel.alloc(terms * POINT),
      scalars: kernel.alloc(terms * ELEMENT),
      message: kernel.alloc(ELEMENT),
      result: kernel.alloc(POINT),
    }
    areas.set(kernel, a)
  }
  return a
}

/** The key in the kernel, decoded once; null for a key `verify` refuses (small order, bad encoding). */
function keyOf(area: BatchArea, publicKey: Uint8Array): KernelKey | null {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== POINT_BYTES) return null
  const hex = bytesToHex(publicKey)
  const known = area.keys.get(hex)
  if (known !== undefined) return known
  const k = area.kernel
  const curve = curveOf(k)
  const at = area.keySlots + area.usedKeySlots * KEY_SLOT_BYTES
  const key: KernelKey = { x: at, y: at + ELEMENT, minus8A: at + 2 * ELEMENT }
  let entry: KernelKey | null = null
  if (unpackInKernel(curve, publicKey, key.x, key.y)) {
    setAffine(k, key.minus8A, key.x, key.y)
    for (let i = 0; i < 3; i++) k.exports.pdbl(key.minus8A, key.minus8A)
    // 8A = 0: a key of small order, refused as `verify` refuses it.
    if (!isIdentity(k, key.minus8A)) {
      preparePoint(curve, key.minus8A)
      negatePoint(curve, key.minus8A, key.minus8A)
      entry = key
      area.usedKeySlots++
    }
  }
  area.keys.set(hex, entry)
  return entry
}

interface Checked {
  readonly index: number
  readonly key: KernelKey
  readonly S: bigint
  /** hm mod l. */
  readonly h: bigint
  /** Where -R8 is staged (a point). */
  readonly r8: number
}

function verifyChunk(area: BatchArea, items: readonly SignedMessage[]): boolean[] {
  const k = area.kernel
  const curve = curveOf(k)
  // Key slots are reused once they run out; a batch needs at most one per item.
  if (area.usedKeySlots + items.length > KEY_SLOTS || area.keys.size > 4 * KEY_SLOTS) {
    area.keys.clear()
    area.usedKeySlots = 0
  }
  const valid = items.map(() => false)
  const transcript = new Uint8Array(items.length * (2 * POINT_BYTES + SIGNATURE_LEN))
  // Pass 1: every check but R8's square root; R8's y and x^2 = u/v staged per item.
  const staged: { index: number; key: KernelKey; S: bigint; slot: number }[] = []
  items.forEach((item, index) => {
    const { publicKey, message, signature } = item
    if (!isFieldElement(message)) return
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LEN) return
    const S = littleEndian256(viewOf(signature), POINT_BYTES)
    if (S >= SUBGROUP_ORDER) return
    const key = keyOf(area, publicKey)
    if (key === null) return
    const slot = area.r8 + staged.length * R8_SLOT
    if (!unpackStart(curve, signature.subarray(0, POINT_BYTES), slot + Y, slot + U, slot + V))
      return
    staged.push({ index, key, S, slot })
  })
  // One inversion for every item's v.
  invertMany(
    curve,
    staged.map((x) => x.slot + V),
    staged.map((x) => x.slot + PREFIX),
  )
  // Pass 2: R8's x, then hm = Poseidon(R8, A, message) and -R8 staged for the equation.
  const checked: Checked[] = []
  for (const { index, key, S, slot } of staged) {
    const { publicKey, message, signature } = items[index]!
    if (!unpackFinish(curve, signature, slot + X, slot + U, slot + V)) continue
    // The message's plain bytes go to the transcript before it enters Montgomery form.
    const at = checked.length * (2 * POINT_BYTES + SIGNATURE_LEN)
    k.writeRaw(area.message, message)
    transcript.set(k.view(area.message, ELEMENT), at + POINT_BYTES)
    k.mul(area.message, area.message, KERNEL_LAYOUT.R2)
    const hm = poseidonInKernel(k, [slot + X, slot + Y, key.x, key.y, area.message])
    const h = k.read(hm, area.message) % SUBGROUP_ORDER
    const r8 = area.points + checked.length * POINT
    setAffine(k, r8, slot + X, slot + Y)
    preparePoint(curve, r8, true)
    negatePoint(curve, r8, r8)
    transcript.set(publicKey, at)
    transcript.set(signature, at + 2 * POINT_BYTES)
    checked.push({ index, key, S, h, r8 })
  }
  if (checked.length === 0) return valid
  const zs = deriveKey(
    CONTEXT,
    transcript.subarray(0, checked.length * 160),
    checked.length * Z_BYTES,
  )
  const zView = viewOf(zs)
  // Σ z_i·S_i for Base8, Σ z_i·h_i per key.
  let sumS = 0n
  const perKey = new Map<KernelKey, bigint>()
  checked.forEach((c, i) => {
    let z =
      zView.getBigUint64(i * Z_BYTES, true) | (zView.getBigUint64(i * Z_BYTES + 8, true) << 64n)
    if (z === 0n) z = 1n
    k.writeRaw(area.scalars + i * ELEMENT, z)
    sumS = (sumS + z * c.S) % SUBGROUP_ORDER
    perKey.set(c.key, ((perKey.get(c.key) ?? 0n) + z * c.h) % SUBGROUP_ORDER)
  })
  let n = checked.length
  for (const [key, scalar] of perKey) {
    k.exports.copy(area.points + n * POINT, key.minus8A)
    for (let e = 1; e < 4; e++) {
      k.exports.copy(area.points + n * POINT + e * ELEMENT, key.minus8A + e * ELEMENT)
    }
    k.writeRaw(area.scalars + n * ELEMENT, scalar)
    n++
  }
  copyPoint(k, area.points + n * POINT, curve.base8)
  k.writeRaw(area.scalars + n * ELEMENT, sumS)
  n++
  if (combinationHolds(area, area.points, area.scalars, n)) {
    for (const c of checked) valid[c.index] = true
    return valid
  }
  // Some signature is wrong: each alone, -R8_i·1 - 8A·h_i + Base8·S_i.
  const single = area.points + n * POINT
  const singleScalars = area.scalars + n * ELEMENT
  for (const c of checked) {
    copyPoint(k, single, c.r8)
    copyPoint(k, single + POINT, c.key.minus8A)
    copyPoint(k, single + 2 * POINT, curve.base8)
    k.writeRaw(singleScalars, 1n)
    k.writeRaw(singleScalars + ELEMENT, c.h)
    k.writeRaw(singleScalars + 2 * ELEMENT, c.S)
    valid[c.index] = combinationHolds(area, single, singleScalars, 3)
  }
  return valid
}

function copyPoint(k: Bn254Kernel, to: number, from: number): void {
  for (let e = 0; e < 4; e++) k.exports.copy(to + e * ELEMENT, from + e * ELEMENT)
}

/** True when 8·Σ scalar_i·point_i is the identity. */
function combinationHolds(area: BatchArea, points: number, scalars: number, n: number): boolean {
  const k = area.kernel
  k.exports.msm(area.result, points, scalars, n, SCALAR_BITS)
  for (let i = 0; i < 3; i++) k.exports.pdbl(area.result, area.result)
  return isIdentity(k, area.result)
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}
