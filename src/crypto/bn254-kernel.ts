/**
 * The WebAssembly BN254 scalar-field kernel (scripts/build-bn254-kernel.ts): Montgomery
 * arithmetic, Baby Jubjub points and the Poseidon permutation over the module's memory. This
 * file loads it and moves values in and out; what is computed with it lives in
 * poseidon-kernel.ts and eddsa-poseidon-batch.ts.
 *
 * A field element in the memory is 32 bytes (8 little-endian u32 limbs) in Montgomery form
 * (x·2^261 mod p, reduced); a point is 4 of them, extended coordinates (X, Y, Z, T).
 *
 * Measured (Node 24, AMD EPYC, 2 shared cores; see docs/benchmarks.md "Chain execution"): one
 * Montgomery product 37–44 ns here against ~300 ns for `(a * b) % p` on BigInts.
 */
import { BN254_KERNEL_WASM_BASE64 } from './bn254-kernel-wasm.ts'
import { FIELD_ORDER } from './field.ts'

/** Mirrors LAYOUT in scripts/build-bn254-kernel.ts (a test checks they agree). */
export const KERNEL_LAYOUT = {
  ONE: 0,
  R2: 32,
  RAW1: 64,
  CURVE_A: 96,
  CURVE_D: 128,
  SCRATCH: 1024,
  FREE: 8192,
  PAGES: 64,
} as const

/** Bytes of a field element and of a point in the kernel's memory. */
export const ELEMENT = 32
export const POINT = 4 * ELEMENT

const BABYJUB_A = 168700n
const BABYJUB_D = 168696n
/** The Montgomery radix: the multiplication works on nine 29-bit limbs (MONT_BITS in the script). */
const R = (1n << 261n) % FIELD_ORDER

type Op3 = (out: number, x: number, y: number) => void
interface Exports {
  memory: WebAssembly.Memory
  mul: Op3
  dot: (out: number, xs: number, ys: number, n: number, ystride: number) => void
  add: Op3
  sub: Op3
  copy: (out: number, x: number) => void
  pow: (out: number, x: number, exponent: number, bits: number) => void
  padd: Op3
  padd_prepared: Op3
  pdbl: (out: number, p: number) => void
  msm: (out: number, points: number, scalars: number, n: number, bits: number) => void
  poseidon: (
    state: number,
    t: number,
    roundsPartial: number,
    c: number,
    s: number,
    m: number,
    p: number,
  ) => void
}

/** The 32 little-endian bytes at `at` of `view` as an integer. */
export function littleEndian256(view: DataView, at: number): bigint {
  return (
    view.getBigUint64(at, true) |
    (view.getBigUint64(at + 8, true) << 64n) |
    (view.getBigUint64(at + 16, true) << 128n) |
    (view.getBigUint64(at + 24, true) << 192n)
  )
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** One instance of the kernel, with a bump allocator over its free memory. */
export class Bn254Kernel {
  readonly exports: Exports
  readonly mul: Op3
  readonly add: Op3
  readonly sub: Op3
  private readonly words: Uint32Array
  private readonly bytes: Uint8Array
  private readonly data: DataView
  private next: number = KERNEL_LAYOUT.FREE

  constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module, {}).exports as unknown as Exports
    this.mul = this.exports.mul
    this.add = this.exports.add
    this.sub = this.exports.sub
    // The module never grows its memory, so the views stay valid.
    this.words = new Uint32Array(this.exports.memory.buffer)
    this.bytes = new Uint8Array(this.exports.memory.buffer)
    this.data = new DataView(this.exports.memory.buffer)
    this.writeRaw(KERNEL_LAYOUT.ONE, R)
    this.writeRaw(KERNEL_LAYOUT.R2, (R * R) % FIELD_ORDER)
    this.writeRaw(KERNEL_LAYOUT.RAW1, 1n)
    this.writeRaw(KERNEL_LAYOUT.CURVE_A, (BABYJUB_A * R) % FIELD_ORDER)
    this.writeRaw(KERNEL_LAYOUT.CURVE_D, (BABYJUB_D * R) % FIELD_ORDER)
  }

  /** Reserves `bytes` (rounded up to 32) of the kernel's memory for the instance's lifetime. */
  alloc(bytes: number): number {
    const at = this.next
    this.next += Math.ceil(bytes / ELEMENT) * ELEMENT
    // The multiplication reads 8 bytes at byte 29 of an element: keep a tail past the last one.
    if (this.next > KERNEL_LAYOUT.PAGES * 65_536 - 64) {
      throw new RangeError('the BN254 kernel is out of memory')
    }
    return at
  }

  /** Writes `value` (0 <= value < 2^256) as plain limbs, not converted. */
  writeRaw(at: number, value: bigint): void {
    // Four 64-bit words: half the BigInt operations of eight 32-bit ones.
    const v = this.data
    v.setBigUint64(at, BigInt.asUintN(64, value), true)
    v.setBigUint64(at + 8, BigInt.asUintN(64, value >> 64n), true)
    v.setBigUint64(at + 16, BigInt.asUintN(64, value >> 128n), true)
    v.setBigUint64(at + 24, value >> 192n, true)
  }

  /** Reads plain limbs as an integer. */
  readRaw(at: number): bigint {
    return littleEndian256(this.data, at)
  }

  /** Writes a field element (0 <= value < p) in Montgomery form. */
  write(at: number, value: bigint): void {
    this.writeRaw(at, value)
    this.exports.mul(at, at, KERNEL_LAYOUT.R2)
  }

  /** Writes 32 little-endian bytes that encode a value < p, in Montgomery form. */
  writeBytesLE(at: number, bytes: Uint8Array): void {
    this.bytes.set(bytes, at)
    this.exports.mul(at, at, KERNEL_LAYOUT.R2)
  }

  /** Reads a field element out of Montgomery form (through `scratch`, which it overwrites). */
  read(at: number, scratch: number): bigint {
    this.exports.mul(scratch, at, KERNEL_LAYOUT.RAW1)
    return this.readRaw(scratch)
  }

  /** True when the 32-byte values at a and b are equal. */
  equal(a: number, b: number): boolean {
    const x = a >>> 2
    const y = b >>> 2
    for (let i = 0; i < 8; i++) if (this.words[x + i] !== this.words[y + i]) return false
    return true
  }

  /** The lowest 32-bit limb of the value at `at` (a cheap key for lookups). */
  firstLimb(at: number): number {
    return this.words[at >>> 2]!
  }

  /** True when the value at `at` is zero (in either form). */
  isZero(at: number): boolean {
    const x = at >>> 2
    for (let i = 0; i < 8; i++) if (this.words[x + i] !== 0) return false
    return true
  }

  /** The bytes of the memory from `at`, a view (valid until the next write there). */
  view(at: number, length: number): Uint8Array {
    return this.bytes.subarray(at, at + length)
  }
}

let compiled: WebAssembly.Module | null | undefined
let shared: Bn254Kernel | undefined

/**
 * The process's kernel, compiled synchronously on first use; undefined where WebAssembly is
 * missing or a synchronous compile is refused (a browser's main thread, for modules > 4 KB:
 * callers keep their BigInt path there).
 */
export function bn254Kernel(): Bn254Kernel | undefined {
  if (shared !== undefined) return shared
  if (compiled === null) return undefined
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(decodeBase64(BN254_KERNEL_WASM_BASE64))
    } catch {
      compiled = null
      return undefined
    }
  }
  shared = new Bn254Kernel(compiled)
  return shared
}

/**
 * Compiles the kernel asynchronously (required on a browser's main thread for modules > 4 KB)
 * and makes it the process's kernel: after it resolves, `bn254Kernel()` returns it everywhere.
 */
export async function loadBn254Kernel(): Promise<Bn254Kernel | undefined> {
  if (shared !== undefined) return shared
  try {
    compiled ??= await WebAssembly.compile(decodeBase64(BN254_KERNEL_WASM_BASE64))
  } catch {
    compiled = null
  }
  if (compiled === null) return undefined
  shared ??= new Bn254Kernel(compiled)
  return shared
}
