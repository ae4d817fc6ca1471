/**
 * Generates the WebAssembly BN254 scalar-field kernel in src/crypto/ (Montgomery arithmetic,
 * Baby Jubjub points, Poseidon), which the chain's claim checks run on.
 *
 *   node scripts/build-bn254-kernel.ts          rewrites bn254-kernel.wat and bn254-kernel-wasm.ts
 *   node scripts/build-bn254-kernel.ts --check  exits 1 if the committed files differ from a rebuild
 *
 * Why a kernel: a BigInt multiplication mod p costs ~300 ns in V8 (an allocation per operation);
 * a delivery claim needs ~4,000 of them (two Poseidon hashes, a point decompression, its share of
 * the signature equation), so BigInt caps settlement near 400 claims/s. Here a field element is
 * eight 32-bit limbs in i64 locals and the Montgomery product (CIOS, unrolled at generation time)
 * allocates nothing.
 *
 * Every function takes byte offsets into the module's memory; field elements are 32 bytes
 * (8 little-endian u32 limbs) in Montgomery form, x·2^256 mod p, fully reduced (< p); points are
 * 4 field elements, extended twisted Edwards coordinates (X, Y, Z, T), x = X/Z, y = Y/Z, T = XY/Z.
 * The layout of the constants and scratch areas is `LAYOUT`, mirrored by src/crypto/bn254-kernel.ts.
 * The output is a pure function of this file, so rebuilding is deterministic.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { assembleWat, embeddedWasmSource, readCommitted, writeOrCheck } from './wasm-module.ts'

/** BN254's scalar field: Baby Jubjub's base field, the field circom computes in. */
export const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n

const LIMBS = 8
const MASK = 0xffff_ffffn

/** Memory layout in bytes (mirrored in src/crypto/bn254-kernel.ts). */
export const LAYOUT = {
  /** Montgomery 1 (R mod p), written by the loader. */
  ONE: 0,
  /** R^2 mod p: `mul(x, R2)` enters Montgomery form. */
  R2: 32,
  /** The plain integer 1: `mul(x, RAW1)` leaves Montgomery form. */
  RAW1: 64,
  /** Baby Jubjub's a and d, Montgomery form. */
  CURVE_A: 96,
  CURVE_D: 128,
  /** Scratch of the point functions, the power and Poseidon (not reentrant: one thread). */
  SCRATCH: 1024,
  /** Free for the loader: registers, Poseidon constants, MSM inputs. */
  FREE: 8192,
  PAGES: 64,
} as const

// Scratch slots, 32 bytes each, per function (a function never calls one that shares its slots).
const S = LAYOUT.SCRATCH
const ADD_TMP = S // 8 slots: A..H of the addition
const DBL_TMP = S + 8 * 32 // 8 slots of the doubling
const POW_TMP = S + 16 * 32 // 2 slots: the result and the base
const POS_TMP = S + 18 * 32 // 17 slots: a matrix-vector product
const POS_PROD = S + 35 * 32 // 1 slot
const MSM_ACC = S + 36 * 32 // 4 slots: a point
const SCRATCH_END = S + 40 * 32
if (SCRATCH_END > LAYOUT.FREE) throw new Error('scratch overlaps the free area')

function limbsOf(x: bigint): bigint[] {
  return Array.from({ length: LIMBS }, (_, i) => (x >> BigInt(32 * i)) & MASK)
}

const PL = limbsOf(P)

// The multiplication's representation: nine 29-bit limbs, Montgomery radix R = 2^261.
const W_LIMBS = 9
const MASK29 = (1n << 29n) - 1n
const PL29 = Array.from({ length: W_LIMBS }, (_, i) => (P >> BigInt(29 * i)) & MASK29)
/** -p^-1 mod 2^29. */
const MU29 = (() => {
  let inv = 1n
  for (let i = 0; i < 5; i++) inv = (inv * (2n - PL29[0]! * inv)) & MASK29
  return ((1n << 29n) - inv) & MASK29
})()
/** The Montgomery radix exponent: values are stored as x·2^MONT_BITS mod p. */
export const MONT_BITS = 29 * W_LIMBS

class Emitter {
  readonly lines: string[] = []
  indent = 0
  emit(line: string): void {
    this.lines.push(' '.repeat(this.indent) + line)
  }
  nest(open: string, body: () => void): void {
    this.emit(open)
    this.indent += 2
    body()
    this.indent -= 2
    this.emit(')')
  }
}

const i64 = (n: bigint): string => `(i64.const ${n})`
const get = (l: string): string => `(local.get ${l})`
const set = (l: string, v: string): string => `(local.set ${l} ${v})`
const locals = (names: string[], type: string): string =>
  names.map((n) => `(local ${n} ${type})`).join(' ')
const range = (n: number): number[] => [...Array(n).keys()]
const lo = (v: string): string => `(i64.and ${v} ${i64(MASK)})`
const hi = (v: string): string => `(i64.shr_u ${v} (i64.const 32))`
const load = (ptr: string, limb: number): string => `(i64.load32_u offset=${4 * limb} ${get(ptr)})`
const store = (ptr: string, limb: number, v: string): string =>
  `(i64.store32 offset=${4 * limb} ${get(ptr)} ${v})`
const call = (fn: string, ...args: string[]): string => `(call ${fn} ${args.join(' ')})`
const c32 = (n: number): string => `(i32.const ${n})`
const addr = (base: string, offset: number): string =>
  offset === 0 ? base : `(i32.add ${base} ${c32(offset)})`

/**
 * Stores t (limbs in locals $t0..$t7, with $t8 above them) reduced once by p: t - p when that
 * does not borrow, else t. The caller guarantees t < 2p.
 */
function reduceOnceAndStore(e: Emitter, t: (i: number) => string, top: string, out: string): void {
  e.emit(set('$br', i64(0n)))
  for (const j of range(LIMBS)) {
    e.emit(set('$s', `(i64.sub (i64.sub ${get(t(j))} ${i64(PL[j]!)}) ${get('$br')})`))
    e.emit(set(`$d${j}`, lo(get('$s'))))
    e.emit(set('$br', `(i64.shr_u ${get('$s')} (i64.const 63))`))
  }
  // Borrow out of the top limb too: t < p exactly when top - br < 0.
  e.emit(set('$keep', `(i64.lt_s (i64.sub ${get(top)} ${get('$br')}) (i64.const 0))`))
  for (const j of range(LIMBS)) {
    e.emit(store(out, j, `(select ${get(t(j))} ${get(`$d${j}`)} ${get('$keep')})`))
  }
}

/**
 * out = x·y·R^-1 mod p, R = 2^261, on nine 29-bit limbs (out may alias x or y: every limb is
 * read before any store). The operands are stored as eight 32-bit limbs and split on load.
 * 29-bit limbs let each column absorb all its products without carrying (18 products of
 * < 2^58 stay below 2^63), so the only carry chain left is the one through the lowest limb
 * that the reduction needs: the CIOS form with 32-bit limbs spent most of its time waiting on
 * carries (96 → 58 ns a product, measured from JS in Node 24).
 */
/** The locals of one product's body (suffixed where a function holds more than one). */
function mulLocals(sfx: string): string[] {
  const names = ['a', 'b', 't'].flatMap((v) => range(W_LIMBS).map((i) => `$${v}${i}${sfx}`))
  return [...names, ...['$s', '$q', '$c', '$br'].map((n) => `${n}${sfx}`)]
}

/** The statements of one product o = x·y·R^-1 (locals of `mulLocals(sfx)`). */
function mulBody(sfx: string, o: string, x: string, y: string): string[] {
  const e = new Emitter()
  const a = range(W_LIMBS).map((i) => `$a${i}${sfx}`)
  const b = range(W_LIMBS).map((i) => `$b${i}${sfx}`)
  const t = range(W_LIMBS).map((i) => `$t${i}${sfx}`)
  const [S, Q, C] = ['$s', '$q', '$c'].map((n) => `${n}${sfx}`) as [string, string, string]
  splitLoad(e, x, a)
  splitLoad(e, y, b)
  for (const i of range(W_LIMBS)) {
    // s = t0 + a_i·b0; q = s·mu mod 2^29 (the wrapping product keeps the low bits exact);
    // s + q·p0 is divisible by 2^29.
    e.emit(set(S, `(i64.add ${get(t[0]!)} (i64.mul ${get(a[i]!)} ${get(b[0]!)}))`))
    e.emit(set(Q, `(i64.and (i64.mul ${get(S)} ${i64(MU29)}) ${i64(MASK29)})`))
    e.emit(
      set(C, `(i64.shr_u (i64.add ${get(S)} (i64.mul ${get(Q)} ${i64(PL29[0]!)})) (i64.const 29))`),
    )
    for (const j of range(W_LIMBS).slice(1)) {
      let sum = `(i64.add (i64.mul ${get(a[i]!)} ${get(b[j]!)}) (i64.mul ${get(Q)} ${i64(PL29[j]!)}))`
      if (i > 0) sum = `(i64.add ${get(t[j]!)} ${sum})`
      if (j === 1) sum = `(i64.add ${sum} ${get(C)})`
      e.emit(set(t[j - 1]!, sum))
    }
    e.emit(set(t[W_LIMBS - 1]!, i64(0n)))
  }
  normalizeReduceStore(e, t, a, o, sfx)
  return e.lines
}

function emitMul(e: Emitter): void {
  e.nest('(func $mul (export "mul") (param $o i32) (param $x i32) (param $y i32)', () => {
    e.emit(locals(mulLocals(''), 'i64'))
    for (const line of mulBody('', '$o', '$x', '$y')) e.emit(line)
  })
}

/**
 * Carries once through nine unnormalized limbs `t` (a value < 2p), subtracts p if the value is
 * >= p, and stores it at `out`; `d` are nine scratch locals.
 */
function normalizeReduceStore(e: Emitter, t: string[], d: string[], out: string, sfx = ''): void {
  const [S, C, BR] = ['$s', '$c', '$br'].map((n) => `${n}${sfx}`) as [string, string, string]
  e.emit(set(C, i64(0n)))
  for (const j of range(W_LIMBS)) {
    e.emit(set(S, `(i64.add ${get(t[j]!)} ${get(C)})`))
    e.emit(set(t[j]!, `(i64.and ${get(S)} ${i64(MASK29)})`))
    e.emit(set(C, `(i64.shr_u ${get(S)} (i64.const 29))`))
  }
  e.emit(set(BR, i64(0n)))
  for (const j of range(W_LIMBS)) {
    e.emit(set(S, `(i64.sub (i64.sub ${get(t[j]!)} ${i64(PL29[j]!)}) ${get(BR)})`))
    e.emit(set(d[j]!, `(i64.and ${get(S)} ${i64(MASK29)})`))
    e.emit(set(BR, `(i64.shr_u ${get(S)} (i64.const 63))`))
  }
  // Borrow out of the top: the value is < p, keep t; else t - p (in d).
  const keep = `(i32.wrap_i64 ${get(BR)})`
  for (const j of range(W_LIMBS)) e.emit(set(d[j]!, `(select ${get(t[j]!)} ${get(d[j]!)} ${keep})`))
  joinStore(e, out, d)
}

/**
 * out = Σ_{i<n} x_i·y_i·R^-1 mod p, with x_i 32 bytes apart from `xs` and y_i `ystride` bytes
 * apart from `ys`: the products are summed unreduced (schoolbook, 17 columns of 29 bits that need
 * no carrying for 7 products: 63 terms < 2^58 stay below 2^64) and reduced once. Poseidon's
 * matrix rows are such sums: a row of 7 costs about a third of 7 separate products, whose time
 * is the reduction's carry chain.
 */
function emitDot(e: Emitter): void {
  const x = range(W_LIMBS).map((i) => `$x${i}`)
  const y = range(W_LIMBS).map((i) => `$y${i}`)
  const col = range(2 * W_LIMBS).map((i) => `$k${i}`)
  const d = range(W_LIMBS).map((i) => `$d${i}`)
  e.nest(
    '(func $dot (export "dot") (param $o i32) (param $xs i32) (param $ys i32) (param $n i32) (param $ystride i32)',
    () => {
      e.emit(locals([...x, ...y, ...col, ...d, '$s', '$q', '$c', '$br'], 'i64'))
      e.emit('(local $i i32) (local $batch i32)')
      e.nest('(block $done', () => {
        e.nest('(loop $next', () => {
          e.emit(`(br_if $done (i32.ge_u ${get('$i')} ${get('$n')}))`)
          splitLoad(e, '$xs', x)
          splitLoad(e, '$ys', y)
          for (const a of range(W_LIMBS)) {
            for (const b of range(W_LIMBS)) {
              const k = col[a + b]!
              e.emit(set(k, `(i64.add ${get(k)} (i64.mul ${get(x[a]!)} ${get(y[b]!)}))`))
            }
          }
          e.emit(set('$xs', `(i32.add ${get('$xs')} (i32.const 32))`))
          e.emit(set('$ys', `(i32.add ${get('$ys')} ${get('$ystride')})`))
          e.emit(set('$i', `(i32.add ${get('$i')} (i32.const 1))`))
          // Every 7 products, carry through the columns so that 7 more fit.
          e.emit(set('$batch', `(i32.add ${get('$batch')} (i32.const 1))`))
          e.nest(`(if (i32.eq ${get('$batch')} (i32.const 7))`, () => {
            e.nest('(then', () => {
              e.emit(set('$batch', c32(0)))
              carryColumns(e, col)
            })
          })
          e.emit('(br $next)')
        })
      })
      carryColumns(e, col)
      // Montgomery reduction of the 18 columns: nine steps, each clearing the lowest column.
      for (const i of range(W_LIMBS)) {
        const lowest = col[i]!
        e.emit(
          set(
            '$q',
            `(i64.and (i64.mul (i64.and ${get(lowest)} ${i64(MASK29)}) ${i64(MU29)}) ${i64(MASK29)})`,
          ),
        )
        e.emit(
          set(
            '$c',
            `(i64.shr_u (i64.add ${get(lowest)} (i64.mul ${get('$q')} ${i64(PL29[0]!)})) (i64.const 29))`,
          ),
        )
        for (const j of range(W_LIMBS).slice(1)) {
          const k = col[i + j]!
          let sum = `(i64.add ${get(k)} (i64.mul ${get('$q')} ${i64(PL29[j]!)}))`
          if (j === 1) sum = `(i64.add ${sum} ${get('$c')})`
          e.emit(set(k, sum))
        }
      }
      normalizeReduceStore(e, col.slice(W_LIMBS), d, '$o')
    },
  )
}

/** Carries through the columns: each below 2^29 after, but the top one, which takes the rest. */
function carryColumns(e: Emitter, col: string[]): void {
  e.emit(set('$c', i64(0n)))
  for (const k of range(col.length)) {
    e.emit(set('$s', `(i64.add ${get(col[k]!)} ${get('$c')})`))
    if (k === col.length - 1) {
      e.emit(set(col[k]!, get('$s')))
    } else {
      e.emit(set(col[k]!, `(i64.and ${get('$s')} ${i64(MASK29)})`))
      e.emit(set('$c', `(i64.shr_u ${get('$s')} (i64.const 29))`))
    }
  }
}

/** Loads the element at `ptr` (8 × 32-bit limbs, < 2^254) into nine 29-bit limbs. */
function splitLoad(e: Emitter, ptr: string, limbs: string[]): void {
  for (const k of range(W_LIMBS)) {
    const bit = 29 * k
    const byte = bit >> 3
    // The last limb holds bits 232..253: read 8 bytes from byte 29 and keep the 3 in the element.
    const mask = k === W_LIMBS - 1 ? i64(0xff_ffffn) : i64(MASK29)
    const word = `(i64.load offset=${byte} ${get(ptr)})`
    const shifted = bit % 8 === 0 ? word : `(i64.shr_u ${word} (i64.const ${bit % 8}))`
    e.emit(set(limbs[k]!, `(i64.and ${shifted} ${mask})`))
  }
}

/** Stores nine 29-bit limbs (a value < 2^256) at `ptr` as eight 32-bit limbs. */
function joinStore(e: Emitter, ptr: string, limbs: string[]): void {
  for (const w of range(LIMBS)) {
    // Bits 32w .. 32w+31 come from limbs floor(32w/29) .. floor((32w+31)/29).
    const parts: string[] = []
    for (
      let k = Math.floor((32 * w) / 29);
      k <= Math.min(W_LIMBS - 1, Math.floor((32 * w + 31) / 29));
      k++
    ) {
      const shift = 29 * k - 32 * w
      const limb = get(limbs[k]!)
      parts.push(
        shift >= 0
          ? `(i64.shl ${limb} (i64.const ${shift}))`
          : `(i64.shr_u ${limb} (i64.const ${-shift}))`,
      )
    }
    const word = parts.reduce((acc, part) => `(i64.or ${acc} ${part})`)
    e.emit(`(i64.store32 offset=${4 * w} ${get(ptr)} ${word})`)
  }
}

/** out = x + y mod p. */
function emitAdd(e: Emitter): void {
  const t = range(LIMBS).map((i) => `$t${i}`)
  const d = range(LIMBS).map((i) => `$d${i}`)
  e.nest('(func $add (export "add") (param $o i32) (param $x i32) (param $y i32)', () => {
    e.emit(locals([...t, ...d, '$c', '$s', '$br', '$top'], 'i64'))
    e.emit('(local $keep i32)')
    e.emit(set('$c', i64(0n)))
    for (const j of range(LIMBS)) {
      e.emit(set('$s', `(i64.add (i64.add ${load('$x', j)} ${load('$y', j)}) ${get('$c')})`))
      e.emit(set(t[j]!, lo(get('$s'))))
      e.emit(set('$c', hi(get('$s'))))
    }
    e.emit(set('$top', get('$c')))
    reduceOnceAndStore(e, (j) => t[j]!, '$top', '$o')
  })
}

/** out = x - y mod p. */
function emitSub(e: Emitter): void {
  const t = range(LIMBS).map((i) => `$t${i}`)
  e.nest('(func $sub (export "sub") (param $o i32) (param $x i32) (param $y i32)', () => {
    e.emit(locals([...t, '$c', '$s', '$br', '$neg'], 'i64'))
    e.emit(set('$br', i64(0n)))
    for (const j of range(LIMBS)) {
      e.emit(set('$s', `(i64.sub (i64.sub ${load('$x', j)} ${load('$y', j)}) ${get('$br')})`))
      e.emit(set(t[j]!, lo(get('$s'))))
      e.emit(set('$br', `(i64.shr_u ${get('$s')} (i64.const 63))`))
    }
    // On a borrow, add p back: p masked by 0 or by all ones.
    e.emit(set('$neg', `(i64.sub (i64.const 0) ${get('$br')})`))
    e.emit(set('$c', i64(0n)))
    for (const j of range(LIMBS)) {
      const pj = `(i64.and ${i64(PL[j]!)} ${get('$neg')})`
      e.emit(set('$s', `(i64.add (i64.add ${get(t[j]!)} ${pj}) ${get('$c')})`))
      e.emit(store('$o', j, lo(get('$s'))))
      e.emit(set('$c', hi(get('$s'))))
    }
  })
}

/** Copies one field element. */
function emitCopy(e: Emitter): void {
  e.nest('(func $copy (export "copy") (param $o i32) (param $x i32)', () => {
    for (const k of range(4)) {
      e.emit(`(i64.store offset=${8 * k} ${get('$o')} (i64.load offset=${8 * k} ${get('$x')}))`)
    }
  })
}

/** out = x^e mod p for an exponent of `bits` bits at `e` (little-endian limbs), left to right. */
function emitPow(e: Emitter): void {
  const R = c32(POW_TMP)
  const B = c32(POW_TMP + 32)
  e.nest(
    '(func $pow (export "pow") (param $o i32) (param $x i32) (param $e i32) (param $bits i32)',
    () => {
      e.emit('(local $i i32)')
      e.emit(call('$copy', B, get('$x')))
      e.emit(call('$copy', R, c32(LAYOUT.ONE)))
      e.emit(set('$i', get('$bits')))
      e.nest('(block $done', () => {
        e.nest('(loop $next', () => {
          e.emit(`(br_if $done (i32.eqz ${get('$i')}))`)
          e.emit(set('$i', `(i32.sub ${get('$i')} (i32.const 1))`))
          e.emit(call('$mul', R, R, R))
          const word = `(i32.load (i32.add ${get('$e')} (i32.shl (i32.shr_u ${get('$i')} (i32.const 5)) (i32.const 2))))`
          const bit = `(i32.and (i32.shr_u ${word} (i32.and ${get('$i')} (i32.const 31))) (i32.const 1))`
          e.emit(`(if ${bit} (then ${call('$mul', R, R, B)}))`)
          e.emit('(br $next)')
        })
      })
      e.emit(call('$copy', get('$o'), R))
    },
  )
}

/** Field element `i` (0..3) of the point at `p`. */
const coord = (p: string, i: number): string => addr(p, 32 * i)

/**
 * Unified addition on a·x² + y² = 1 + d·x²y² (add-2008-hwcd, any a): complete on Baby Jubjub,
 * whose d is not a square, so no case needs a branch (the identity, equal points, negatives).
 * out may alias p or q.
 */
function emitPointAdd(e: Emitter): void {
  const [A, B, C, D, E, F, G, H] = range(8).map((i) => c32(ADD_TMP + 32 * i))
  const p = get('$p')
  const q = get('$q')
  const o = get('$o')
  e.nest('(func $padd (export "padd") (param $o i32) (param $p i32) (param $q i32)', () => {
    e.emit(call('$mul', A!, coord(p, 0), coord(q, 0))) // A = X1·X2
    e.emit(call('$mul', B!, coord(p, 1), coord(q, 1))) // B = Y1·Y2
    e.emit(call('$mul', C!, coord(p, 3), coord(q, 3))) // C = d·T1·T2
    e.emit(call('$mul', C!, C!, c32(LAYOUT.CURVE_D)))
    e.emit(call('$mul', D!, coord(p, 2), coord(q, 2))) // D = Z1·Z2
    e.emit(call('$add', E!, coord(p, 0), coord(p, 1))) // E = (X1+Y1)(X2+Y2) - A - B
    e.emit(call('$add', F!, coord(q, 0), coord(q, 1)))
    e.emit(call('$mul', E!, E!, F!))
    e.emit(call('$sub', E!, E!, A!))
    e.emit(call('$sub', E!, E!, B!))
    e.emit(call('$sub', F!, D!, C!)) // F = D - C
    e.emit(call('$add', G!, D!, C!)) // G = D + C
    e.emit(call('$mul', H!, A!, c32(LAYOUT.CURVE_A))) // H = B - a·A
    e.emit(call('$sub', H!, B!, H!))
    e.emit(call('$mul', coord(o, 0), E!, F!)) // X3 = E·F
    e.emit(call('$mul', coord(o, 1), G!, H!)) // Y3 = G·H
    e.emit(call('$mul', coord(o, 3), E!, H!)) // T3 = E·H
    e.emit(call('$mul', coord(o, 2), F!, G!)) // Z3 = F·G
  })
}

/**
 * Addition of a prepared point q: affine (Z = 1) with d·x·y in place of T, as the MSM's inputs
 * are (`prepare` makes them). Two products fewer than `padd` (Z1·Z2 and the d factor).
 */
function emitPointAddPrepared(e: Emitter): void {
  const [A, B, C, , E, F, G, H] = range(8).map((i) => c32(ADD_TMP + 32 * i))
  const p = get('$p')
  const q = get('$q')
  const o = get('$o')
  e.nest(
    '(func $padd_prepared (export "padd_prepared") (param $o i32) (param $p i32) (param $q i32)',
    () => {
      e.emit(call('$mul', A!, coord(p, 0), coord(q, 0))) // A = X1·x2
      e.emit(call('$mul', B!, coord(p, 1), coord(q, 1))) // B = Y1·y2
      e.emit(call('$mul', C!, coord(p, 3), coord(q, 3))) // C = T1·(d·x2·y2)
      e.emit(call('$add', E!, coord(p, 0), coord(p, 1))) // E = (X1+Y1)(x2+y2) - A - B
      e.emit(call('$add', F!, coord(q, 0), coord(q, 1)))
      e.emit(call('$mul', E!, E!, F!))
      e.emit(call('$sub', E!, E!, A!))
      e.emit(call('$sub', E!, E!, B!))
      e.emit(call('$sub', F!, coord(p, 2), C!)) // F = Z1 - C
      e.emit(call('$add', G!, coord(p, 2), C!)) // G = Z1 + C
      e.emit(call('$mul', H!, A!, c32(LAYOUT.CURVE_A))) // H = B - a·A
      e.emit(call('$sub', H!, B!, H!))
      e.emit(call('$mul', coord(o, 0), E!, F!))
      e.emit(call('$mul', coord(o, 1), G!, H!))
      e.emit(call('$mul', coord(o, 3), E!, H!))
      e.emit(call('$mul', coord(o, 2), F!, G!))
    },
  )
}

/** Doubling (dbl-2008-hwcd, any a); out may alias p. */
function emitPointDouble(e: Emitter): void {
  const [A, B, C, D, E, F, G, H] = range(8).map((i) => c32(DBL_TMP + 32 * i))
  const p = get('$p')
  const o = get('$o')
  e.nest('(func $pdbl (export "pdbl") (param $o i32) (param $p i32)', () => {
    e.emit(call('$mul', A!, coord(p, 0), coord(p, 0))) // A = X1²
    e.emit(call('$mul', B!, coord(p, 1), coord(p, 1))) // B = Y1²
    e.emit(call('$mul', C!, coord(p, 2), coord(p, 2))) // C = 2·Z1²
    e.emit(call('$add', C!, C!, C!))
    e.emit(call('$mul', D!, A!, c32(LAYOUT.CURVE_A))) // D = a·A
    e.emit(call('$add', E!, coord(p, 0), coord(p, 1))) // E = (X1+Y1)² - A - B
    e.emit(call('$mul', E!, E!, E!))
    e.emit(call('$sub', E!, E!, A!))
    e.emit(call('$sub', E!, E!, B!))
    e.emit(call('$add', G!, D!, B!)) // G = D + B
    e.emit(call('$sub', F!, G!, C!)) // F = G - C
    e.emit(call('$sub', H!, D!, B!)) // H = D - B
    e.emit(call('$mul', coord(o, 0), E!, F!))
    e.emit(call('$mul', coord(o, 1), G!, H!))
    e.emit(call('$mul', coord(o, 3), E!, H!))
    e.emit(call('$mul', coord(o, 2), F!, G!))
  })
}

/**
 * out = Σ scalar_i·point_i (Straus: one doubling per bit, shared by all points). Points are 128
 * bytes apart from `pts`, prepared (affine, d·x·y as T: `padd_prepared`), scalars 32 bytes apart
 * from `sc` (little-endian, below 2^bits).
 */
function emitMsm(e: Emitter): void {
  const acc = c32(MSM_ACC)
  e.nest(
    '(func $msm (export "msm") (param $o i32) (param $pts i32) (param $sc i32) (param $n i32) (param $bits i32)',
    () => {
      e.emit('(local $bit i32) (local $i i32) (local $word i32)')
      // The identity: (0, 1, 1, 0).
      e.emit(`(memory.fill ${acc} (i32.const 0) (i32.const 128))`)
      e.emit(call('$copy', addr(acc, 32), c32(LAYOUT.ONE)))
      e.emit(call('$copy', addr(acc, 64), c32(LAYOUT.ONE)))
      e.emit(set('$bit', get('$bits')))
      e.nest('(block $done', () => {
        e.nest('(loop $bits', () => {
          e.emit(`(br_if $done (i32.eqz ${get('$bit')}))`)
          e.emit(set('$bit', `(i32.sub ${get('$bit')} (i32.const 1))`))
          e.emit(call('$pdbl', acc, acc))
          e.emit(set('$word', `(i32.shl (i32.shr_u ${get('$bit')} (i32.const 5)) (i32.const 2))`))
          e.emit(set('$i', c32(0)))
          e.nest('(block $points_done', () => {
            e.nest('(loop $points', () => {
              e.emit(`(br_if $points_done (i32.ge_u ${get('$i')} ${get('$n')}))`)
              const scalar = `(i32.add ${get('$sc')} (i32.shl ${get('$i')} (i32.const 5)))`
              const word = `(i32.load (i32.add ${scalar} ${get('$word')}))`
              const bit = `(i32.and (i32.shr_u ${word} (i32.and ${get('$bit')} (i32.const 31))) (i32.const 1))`
              const point = `(i32.add ${get('$pts')} (i32.shl ${get('$i')} (i32.const 7)))`
              e.emit(`(if ${bit} (then ${call('$padd_prepared', acc, acc, point)}))`)
              e.emit(set('$i', `(i32.add ${get('$i')} (i32.const 1))`))
              e.emit('(br $points)')
            })
          })
          e.emit('(br $bits)')
        })
      })
      for (const k of range(4)) e.emit(call('$copy', coord(get('$o'), k), addr(acc, 32 * k)))
    },
  )
}

/** x := x^5 in place (Poseidon's S-box). */
function emitSbox(e: Emitter): void {
  const x2 = c32(POS_PROD)
  e.nest('(func $sbox (param $x i32)', () => {
    e.emit(call('$mul', x2, get('$x'), get('$x')))
    e.emit(call('$mul', x2, x2, x2))
    e.emit(call('$mul', get('$x'), get('$x'), x2))
  })
}

/**
 * The optimized Poseidon permutation (the Poseidon paper's appendix B, circomlibjs'
 * `poseidon_opt` layout) over the state at `st` (t elements), with the constants of width t at
 * `c` (8t + np compressed round constants), `s` (np·(2t-1) sparse-matrix entries), `m` and `pm`
 * (t×t, row j of column i at (j·t + i)·32). The state is left in place; the hash is element 0.
 */
function emitPoseidon(e: Emitter): void {
  const tmp = POS_TMP
  const prod = c32(POS_PROD)
  e.nest(
    '(func $poseidon (export "poseidon") (param $st i32) (param $t i32) (param $np i32) (param $c i32) (param $s i32) (param $m i32) (param $pm i32)',
    () => {
      e.emit('(local $r i32) (local $i i32) (local $j i32) (local $row i32) (local $cur i32)')
      const el = (base: string, index: string) =>
        `(i32.add ${base} (i32.shl ${index} (i32.const 5)))`
      const forEach = (v: string, bound: string, body: () => void) => {
        e.emit(set(v, c32(0)))
        e.nest(`(block ${v}_done`, () => {
          e.nest(`(loop ${v}_loop`, () => {
            e.emit(`(br_if ${v}_done (i32.ge_u ${get(v)} ${bound}))`)
            body()
            e.emit(set(v, `(i32.add ${get(v)} (i32.const 1))`))
            e.emit(`(br ${v}_loop)`)
          })
        })
      }
      const addConstants = () => {
        forEach('$i', get('$t'), () => {
          e.emit(call('$add', el(get('$st'), get('$i')), el(get('$st'), get('$i')), get('$cur')))
          e.emit(set('$cur', `(i32.add ${get('$cur')} (i32.const 32))`))
        })
      }
      const sboxAll = () =>
        forEach('$i', get('$t'), () => e.emit(call('$sbox', el(get('$st'), get('$i')))))
      // state := state × mat: new_i = Σ_j mat[j][i]·state_j (column i: t elements apart)
      const mix = (mat: string) => {
        forEach('$i', get('$t'), () => {
          e.emit(
            call(
              '$dot',
              el(c32(tmp), get('$i')),
              get('$st'),
              el(mat, get('$i')),
              get('$t'),
              `(i32.shl ${get('$t')} (i32.const 5))`,
            ),
          )
        })
        e.emit(`(memory.copy ${get('$st')} ${c32(tmp)} (i32.shl ${get('$t')} (i32.const 5)))`)
      }
      e.emit(set('$cur', get('$c')))
      addConstants()
      forEach('$r', c32(3), () => {
        sboxAll()
        addConstants()
        mix(get('$m'))
      })
      sboxAll()
      addConstants()
      mix(get('$pm'))
      forEach('$r', get('$np'), () => {
        e.emit(call('$sbox', get('$st')))
        e.emit(call('$add', get('$st'), get('$st'), get('$cur')))
        e.emit(set('$cur', `(i32.add ${get('$cur')} (i32.const 32))`))
        // new state_0 = Σ_j S[row + j]·state_j; state_k += state_0·S[row + t + k - 1]
        e.emit(
          set(
            '$row',
            el(
              get('$s'),
              `(i32.mul ${get('$r')} (i32.sub (i32.shl ${get('$t')} (i32.const 1)) (i32.const 1)))`,
            ),
          ),
        )
        const out = c32(tmp)
        e.emit(call('$dot', out, get('$st'), get('$row'), get('$t'), c32(32)))
        forEach('$j', `(i32.sub ${get('$t')} (i32.const 1))`, () => {
          const k = `(i32.add ${get('$j')} (i32.const 1))`
          e.emit(
            call('$mul', prod, get('$st'), el(get('$row'), `(i32.add ${get('$t')} ${get('$j')})`)),
          )
          e.emit(call('$add', el(get('$st'), k), el(get('$st'), k), prod))
        })
        e.emit(call('$copy', get('$st'), out))
      })
      forEach('$r', c32(3), () => {
        sboxAll()
        addConstants()
        mix(get('$m'))
      })
      sboxAll()
      mix(get('$m'))
    },
  )
}

/** The module's text. */
export function generateWat(): string {
  const e = new Emitter()
  e.nest('(module', () => {
    e.emit(`(memory (export "memory") ${LAYOUT.PAGES})`)
    emitMul(e)
    emitDot(e)
    emitAdd(e)
    emitSub(e)
    emitCopy(e)
    emitPow(e)
    emitPointAdd(e)
    emitPointAddPrepared(e)
    emitPointDouble(e)
    emitMsm(e)
    emitSbox(e)
    emitPoseidon(e)
  })
  return `${e.lines.join('\n')}\n`
}

/** Assembles `wat` with wabt. */
export function assemble(wat: string): Promise<Uint8Array> {
  return assembleWat('bn254-kernel.wat', wat, { bulk_memory: true })
}

/** Generates and assembles the kernel in memory. */
export async function buildBn254Module(): Promise<{ wat: string; wasm: Uint8Array }> {
  const wat = generateWat()
  return { wat, wasm: await assemble(wat) }
}

/** The text of src/crypto/bn254-kernel-wasm.ts for `wasm`. */
export function wasmModuleSource(wasm: Uint8Array): string {
  return embeddedWasmSource('scripts/build-bn254-kernel.ts', 'BN254_KERNEL_WASM_BASE64', wasm)
}

const CRYPTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'crypto')
export const WAT_PATH = join(CRYPTO_DIR, 'bn254-kernel.wat')
export const WASM_TS_PATH = join(CRYPTO_DIR, 'bn254-kernel-wasm.ts')

export { readCommitted }

async function main(args: string[]): Promise<number> {
  const { wat, wasm } = await buildBn254Module()
  const files: [string, string][] = [
    [WAT_PATH, wat],
    [WASM_TS_PATH, wasmModuleSource(wasm)],
  ]
  const code = writeOrCheck(files, args, 'scripts/build-bn254-kernel.ts')
  if (code !== 0 || args.includes('--check')) return code
  console.log(`wrote ${WAT_PATH} and ${WASM_TS_PATH} (${wasm.length} bytes of wasm)`)
  return 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2))
}
