/**
 * Generates the WebAssembly SIMD BLAKE3 kernel in src/b3/simd/.
 *
 *   node scripts/build-simd.ts          rewrites blake3-simd.wat and blake3-simd-wasm.ts
 *   node scripts/build-simd.ts --check  exits 1 if the committed files differ from a rebuild
 *
 * The module hashes inputs four at a time with one v128 per state word (lane i = input i of the
 * group), like the reference implementation's `hash4`. The seven rounds are fully unrolled and
 * the message schedule is resolved here, at generation time: the wasm never permutes anything.
 * The output is a pure function of the options, so rebuilding is deterministic.
 */
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { IV, MSG_PERMUTATION } from '../src/b3/constants.ts'
import { assembleWat, embeddedWasmSource, readCommitted, writeOrCheck } from './wasm-module.ts'

/**
 * Wasm memory layout in bytes (mirrored in src/b3/simd/simd-kernel.ts). The TypeScript side
 * copies inputs to IN (up to 256 chunks or 4096 parents), the key to KEY, and reads chaining
 * values from OUT. MSG is scratch for the transposed message when `msg: 'memory'`.
 */
export const LAYOUT = {
  IN: 0,
  IN_LEN: 262_144,
  OUT: 262_144,
  OUT_LEN: 131_072,
  KEY: 393_216,
  MSG: 393_280,
  PAGES: 7,
} as const

type Rotation = 'swizzle' | 'shuffle' | 'shift'

/**
 * Code-shape choices. The defaults are the fastest measured in V8 (Node 24, x64); the
 * alternatives stay available for re-measuring on other engines and CPUs.
 */
export interface SimdOptions {
  /**
   * Rotations by 16 and 8: `swizzle` = `i8x16.swizzle` with a constant mask hoisted into a
   * local (one `pshufb`); `shuffle` = `i8x16.shuffle` (V8 rebuilds the mask from immediates
   * at every use, or emits pshuflw+pshufhw for 16); `shift` = shr_u, shl, or.
   */
  rot16: Rotation
  rot8: Rotation
  /** How many of a half-round's four G functions are emitted step by step together. */
  interleave: 1 | 2 | 4
  /**
   * `a + b + m` as `(a + m) + b` (b is computed last in the previous G, so this shortens the
   * dependency chain by one add) or `(a + b) + m`.
   */
  addOrder: 'am_b' | 'ab_m'
  /** Message vectors in locals, or stored transposed to memory (MSG) and loaded at each use. */
  msg: 'locals' | 'memory'
}

export const DEFAULT_OPTIONS: SimdOptions = {
  rot16: 'swizzle',
  rot8: 'swizzle',
  interleave: 4,
  addOrder: 'am_b',
  msg: 'locals',
}

/** Message word order of each round: schedule[r][i] is the word fed as the i-th G input. */
export function messageSchedule(): number[][] {
  const rounds: number[][] = [[...Array(16).keys()]]
  for (let r = 1; r < 7; r++) {
    const prev = rounds[r - 1]!
    rounds.push(MSG_PERMUTATION.map((p) => prev[p]!))
  }
  return rounds
}

const bytes = (xs: number[]): string => xs.join(' ')
// Byte shuffles of two v128 operands a (indices 0..15) and b (16..31), seen as 32-bit lanes.
const UNPACK_LO32 = bytes([0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23])
const UNPACK_HI32 = bytes([8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31])
const UNPACK_LO64 = bytes([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23])
const UNPACK_HI64 = bytes([8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31])
// Rotate every 32-bit lane right by 16 / 8 bits (little-endian byte order).
const ROTR16 = bytes([2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13])
const ROTR8 = bytes([1, 2, 3, 0, 5, 6, 7, 4, 9, 10, 11, 8, 13, 14, 15, 12])

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`
const splat = (x: number): string => `(v128.const i32x4 ${hex(x)} ${hex(x)} ${hex(x)} ${hex(x)})`
const get = (local: string): string => `(local.get ${local})`
const localList = (names: string[], type: string): string =>
  names.map((n) => `(local ${n} ${type})`).join(' ')
const numbered = (prefix: string, n: number): string[] =>
  [...Array(n).keys()].map((i) => `$${prefix}${i}`)

class Emitter {
  readonly lines: string[] = []
  indent = 0
  emit(line: string): void {
    this.lines.push(' '.repeat(this.indent) + line)
  }
  /** Emits `open`, the body one level deeper, then `)`. */
  nest(open: string, body: () => void): void {
    this.emit(open)
    this.indent += 2
    body()
    this.indent -= 2
    this.emit(')')
  }
}

/** `v` := rotate right (`v`, n), lane-wise on 32-bit words. */
function rotr(e: Emitter, v: string, n: number, o: SimdOptions): void {
  const kind = n === 16 ? o.rot16 : n === 8 ? o.rot8 : 'shift'
  if (kind === 'swizzle') {
    e.emit(`(local.set ${v} (i8x16.swizzle ${get(v)} ${get(`$rotr${n}`)}))`)
  } else if (kind === 'shuffle') {
    e.emit(`(local.set ${v} (i8x16.shuffle ${n === 16 ? ROTR16 : ROTR8} ${get(v)} ${get(v)}))`)
  } else {
    const shr = `(i32x4.shr_u ${get(v)} (i32.const ${n}))`
    const shl = `(i32x4.shl ${get(v)} (i32.const ${32 - n}))`
    e.emit(`(local.set ${v} (v128.or ${shr} ${shl}))`)
  }
}

/** State indices a, b, c, d and message word indices x, y of one G. */
type GArgs = readonly [number, number, number, number, number, number]

/** The eight steps of G for each (a, b, c, d, mx, my) of one half-round. */
function halfRound(e: Emitter, gs: GArgs[], o: SimdOptions): void {
  const v = (i: number): string => `$v${i}`
  const msg = (i: number): string =>
    o.msg === 'locals' ? get(`$m${i}`) : `(v128.load offset=${LAYOUT.MSG + 16 * i} (i32.const 0))`
  const sum3 = (a: number, b: number, x: number): void => {
    const value =
      o.addOrder === 'am_b'
        ? `(i32x4.add (i32x4.add ${get(v(a))} ${msg(x)}) ${get(v(b))})`
        : `(i32x4.add (i32x4.add ${get(v(a))} ${get(v(b))}) ${msg(x)})`
    e.emit(`(local.set ${v(a)} ${value})`)
  }
  const xorRotr = (x: number, y: number, n: number): void => {
    e.emit(`(local.set ${v(x)} (v128.xor ${get(v(x))} ${get(v(y))}))`)
    rotr(e, v(x), n, o)
  }
  const add = (x: number, y: number): void =>
    e.emit(`(local.set ${v(x)} (i32x4.add ${get(v(x))} ${get(v(y))}))`)
  const steps: ((g: GArgs) => void)[] = [
    ([a, b, , , x]) => sum3(a, b, x),
    ([a, , , d]) => xorRotr(d, a, 16),
    ([, , c, d]) => add(c, d),
    ([, b, c]) => xorRotr(b, c, 12),
    ([a, b, , , , y]) => sum3(a, b, y),
    ([a, , , d]) => xorRotr(d, a, 8),
    ([, , c, d]) => add(c, d),
    ([, b, c]) => xorRotr(b, c, 7),
  ]
  for (let first = 0; first < gs.length; first += o.interleave) {
    const batch = gs.slice(first, first + o.interleave)
    for (const step of steps) for (const g of batch) step(g)
  }
}

/** Seven unrolled rounds on $v0..$v15 with the message schedule resolved statically. */
function rounds(e: Emitter, o: SimdOptions): void {
  messageSchedule().forEach((s, r) => {
    e.emit(`;; round ${r}, message words ${s.join(' ')}: columns`)
    const w = (i: number): number => s[i]!
    halfRound(
      e,
      [
        [0, 4, 8, 12, w(0), w(1)],
        [1, 5, 9, 13, w(2), w(3)],
        [2, 6, 10, 14, w(4), w(5)],
        [3, 7, 11, 15, w(6), w(7)],
      ],
      o,
    )
    e.emit(`;; round ${r}: diagonals`)
    halfRound(
      e,
      [
        [0, 5, 10, 15, w(8), w(9)],
        [1, 6, 11, 12, w(10), w(11)],
        [2, 7, 8, 13, w(12), w(13)],
        [3, 4, 9, 14, w(14), w(15)],
      ],
      o,
    )
  })
}

/**
 * 4x4 transpose of 32-bit words: rows in locals a, b, c, d; each result column goes to its
 * sink (a function from the value expression to a statement).
 */
function transpose(e: Emitter, rows: string[], sinks: ((value: string) => string)[]): void {
  const [a, b, c, d] = rows.map(get)
  e.emit(`(local.set $t0 (i8x16.shuffle ${UNPACK_LO32} ${a} ${b}))`)
  e.emit(`(local.set $t1 (i8x16.shuffle ${UNPACK_LO32} ${c} ${d}))`)
  e.emit(`(local.set $t2 (i8x16.shuffle ${UNPACK_HI32} ${a} ${b}))`)
  e.emit(`(local.set $t3 (i8x16.shuffle ${UNPACK_HI32} ${c} ${d}))`)
  e.emit(sinks[0]!(`(i8x16.shuffle ${UNPACK_LO64} ${get('$t0')} ${get('$t1')})`))
  e.emit(sinks[1]!(`(i8x16.shuffle ${UNPACK_HI64} ${get('$t0')} ${get('$t1')})`))
  e.emit(sinks[2]!(`(i8x16.shuffle ${UNPACK_LO64} ${get('$t2')} ${get('$t3')})`))
  e.emit(sinks[3]!(`(i8x16.shuffle ${UNPACK_HI64} ${get('$t2')} ${get('$t3')})`))
}

const toLocal =
  (name: string) =>
  (value: string): string =>
    `(local.set ${name} ${value})`

/** The `hash_many` function. */
function hashMany(e: Emitter, o: SimdOptions): void {
  e.emit(';; hash_many(in, numInputs, inStride, blocksPerInput, key, counterLo, counterHi,')
  e.emit(';;           counterStep, flags, flagsStart, flagsEnd, out)')
  e.emit(';; Hashes numInputs inputs (rounded up to a multiple of 4) of blocksPerInput 64-byte')
  e.emit(';; blocks each, input i at in + i * inStride, starting from the 8-word key at `key`.')
  e.emit(';; Input i uses counter (counterHi:counterLo) + i * counterStep; every block ORs flags,')
  e.emit(';; the first also flagsStart, the last also flagsEnd; the block length is always 64.')
  e.emit(';; Writes the 32-byte chaining value of input i to out + 32 * i.')
  e.emit(';; Inputs go four at a time: one v128 per state word, lane j = input j of the group.')
  e.nest('(func $hash_many (export "hash_many")', () => {
    e.emit(
      '(param $in i32) (param $n i32) (param $stride i32) (param $blocks i32) (param $key i32)',
    )
    e.emit('(param $ctrLo i32) (param $ctrHi i32) (param $ctrStep i32)')
    e.emit('(param $flags i32) (param $flagsStart i32) (param $flagsEnd i32) (param $out i32)')
    e.emit('(local $ctr i64) (local $step i64) (local $b i32) (local $f i32)')
    e.emit(localList(numbered('p', 4), 'i32'))
    e.emit('(local $ctrLoV v128) (local $ctrHiV v128)')
    for (const [prefix, n] of [
      ['k', 8],
      ['h', 8],
      ['v', 16],
      ...(o.msg === 'locals' ? [['m', 16] as const] : []),
      ['t', 4],
      ['r', 4],
    ] as const) {
      e.emit(localList(numbered(prefix, n), 'v128'))
    }
    const masks = ([16, 8] as const).filter((n) => (n === 16 ? o.rot16 : o.rot8) === 'swizzle')
    for (const n of masks) {
      e.emit(`(local $rotr${n} v128)`)
    }
    for (const n of masks) {
      // Kept in a local so that V8 materialises the pshufb mask once, not at every rotation.
      e.emit(`(local.set $rotr${n} (v128.const i8x16 ${n === 16 ? ROTR16 : ROTR8}))`)
    }
    const ctrHi = '(i64.shl (i64.extend_i32_u (local.get $ctrHi)) (i64.const 32))'
    e.emit(`(local.set $ctr (i64.or (i64.extend_i32_u (local.get $ctrLo)) ${ctrHi}))`)
    e.emit('(local.set $step (i64.extend_i32_u (local.get $ctrStep)))')
    for (let i = 0; i < 8; i++) {
      e.emit(`(local.set $k${i} (v128.load32_splat offset=${4 * i} (local.get $key)))`)
    }
    e.nest('(block $done', () =>
      e.nest('(loop $group', () => {
        e.emit('(br_if $done (i32.le_s (local.get $n) (i32.const 0)))')
        e.emit(';; lane j counts ctr + j * step: low words in $ctrLoV, high words in $ctrHiV')
        for (const [vec, high] of [
          ['$ctrLoV', false],
          ['$ctrHiV', true],
        ] as const) {
          const word = (j: number): string => {
            const c =
              j === 0
                ? '(local.get $ctr)'
                : `(i64.add (local.get $ctr) (i64.mul (local.get $step) (i64.const ${j})))`
            return `(i32.wrap_i64 ${high ? `(i64.shr_u ${c} (i64.const 32))` : c})`
          }
          e.emit(`(local.set ${vec} (i32x4.splat ${word(0)}))`)
          for (let j = 1; j < 4; j++) {
            e.emit(`(local.set ${vec} (i32x4.replace_lane ${j} ${get(vec)} ${word(j)}))`)
          }
        }
        for (let i = 0; i < 8; i++) e.emit(`(local.set $h${i} (local.get $k${i}))`)
        e.emit('(local.set $p0 (local.get $in))')
        for (let j = 1; j < 4; j++) {
          e.emit(`(local.set $p${j} (i32.add (local.get $p${j - 1}) (local.get $stride)))`)
        }
        e.emit('(local.set $b (i32.const 0))')
        e.nest('(loop $block', () => blockBody(e, o))
        e.emit(';; transpose the chaining values back and store them input-major')
        for (let half = 0; half < 2; half++) {
          transpose(
            e,
            [0, 1, 2, 3].map((w) => `$h${4 * half + w}`),
            numbered('r', 4).map(toLocal),
          )
          for (let j = 0; j < 4; j++) {
            e.emit(`(v128.store offset=${32 * j + 16 * half} (local.get $out) (local.get $r${j}))`)
          }
        }
        e.emit(
          '(local.set $in (i32.add (local.get $in) (i32.shl (local.get $stride) (i32.const 2))))',
        )
        e.emit('(local.set $out (i32.add (local.get $out) (i32.const 128)))')
        e.emit(
          '(local.set $ctr (i64.add (local.get $ctr) (i64.shl (local.get $step) (i64.const 2))))',
        )
        e.emit('(local.set $n (i32.sub (local.get $n) (i32.const 4)))')
        e.emit('(br $group)')
      }),
    )
  })
}

/** One 64-byte block of each of the four inputs: $h0..$h7 := compress($h, block). */
function blockBody(e: Emitter, o: SimdOptions): void {
  e.emit('(local.set $f (local.get $flags))')
  e.emit('(if (i32.eqz (local.get $b))')
  e.emit('  (then (local.set $f (i32.or (local.get $f) (local.get $flagsStart)))))')
  e.emit('(if (i32.eq (local.get $b) (i32.sub (local.get $blocks) (i32.const 1)))')
  e.emit('  (then (local.set $f (i32.or (local.get $f) (local.get $flagsEnd)))))')
  e.emit(';; load a 64-byte block of each input and transpose: $m{w} lane j = word w of input j')
  for (let q = 0; q < 4; q++) {
    for (let j = 0; j < 4; j++) {
      e.emit(`(local.set $r${j} (v128.load offset=${16 * q} (local.get $p${j})))`)
    }
    transpose(
      e,
      numbered('r', 4),
      [0, 1, 2, 3].map((w) =>
        o.msg === 'locals'
          ? toLocal(`$m${4 * q + w}`)
          : (value: string) =>
              `(v128.store offset=${LAYOUT.MSG + 16 * (4 * q + w)} (i32.const 0) ${value})`,
      ),
    )
  }
  for (let i = 0; i < 8; i++) e.emit(`(local.set $v${i} (local.get $h${i}))`)
  for (let i = 0; i < 4; i++) e.emit(`(local.set $v${8 + i} ${splat(IV[i]!)})`)
  e.emit('(local.set $v12 (local.get $ctrLoV))')
  e.emit('(local.set $v13 (local.get $ctrHiV))')
  e.emit(`(local.set $v14 ${splat(64)})`)
  e.emit('(local.set $v15 (i32x4.splat (local.get $f)))')
  rounds(e, o)
  for (let i = 0; i < 8; i++) {
    e.emit(`(local.set $h${i} (v128.xor (local.get $v${i}) (local.get $v${i + 8})))`)
  }
  for (let j = 0; j < 4; j++) {
    e.emit(`(local.set $p${j} (i32.add (local.get $p${j}) (i32.const 64)))`)
  }
  e.emit('(local.set $b (i32.add (local.get $b) (i32.const 1)))')
  e.emit('(br_if $block (i32.lt_u (local.get $b) (local.get $blocks)))')
}

/** The complete module text. */
export function generateWat(options: Partial<SimdOptions> = {}): string {
  const o: SimdOptions = { ...DEFAULT_OPTIONS, ...options }
  const e = new Emitter()
  e.emit(';; BLAKE3 for WebAssembly SIMD, four inputs at a time.')
  e.emit(';; GENERATED by scripts/build-simd.ts: do not edit, run `node scripts/build-simd.ts`.')
  e.emit(`;; Options: ${JSON.stringify(o)}`)
  e.emit(`;; Memory layout: ${JSON.stringify(LAYOUT)}`)
  e.nest('(module', () => {
    e.emit(`(memory (export "memory") ${LAYOUT.PAGES})`)
    hashMany(e, o)
  })
  return `${e.lines.join('\n')}\n`
}

/** Assembles `wat` with wabt. */
export function assemble(wat: string): Promise<Uint8Array> {
  return assembleWat('blake3-simd.wat', wat, { simd: true })
}

/** Generates and assembles the kernel in memory. */
export async function buildSimdModule(
  options: Partial<SimdOptions> = {},
): Promise<{ wat: string; wasm: Uint8Array }> {
  const wat = generateWat(options)
  return { wat, wasm: await assemble(wat) }
}

/** The text of src/b3/simd/blake3-simd-wasm.ts for `wasm`. */
export function wasmModuleSource(wasm: Uint8Array): string {
  return embeddedWasmSource(
    'scripts/build-simd.ts from blake3-simd.wat',
    'BLAKE3_SIMD_WASM_BASE64',
    wasm,
  )
}

const SIMD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'b3', 'simd')
export const WAT_PATH = join(SIMD_DIR, 'blake3-simd.wat')
export const WASM_TS_PATH = join(SIMD_DIR, 'blake3-simd-wasm.ts')

export { readCommitted }

async function main(args: string[]): Promise<number> {
  const { wat, wasm } = await buildSimdModule()
  const files: [string, string][] = [
    [WAT_PATH, wat],
    [WASM_TS_PATH, wasmModuleSource(wasm)],
  ]
  const code = writeOrCheck(files, args, 'scripts/build-simd.ts')
  if (code !== 0 || args.includes('--check')) return code
  console.log(`wrote ${WAT_PATH} and ${WASM_TS_PATH} (${wasm.length} bytes of wasm)`)
  return 0
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2))
}
