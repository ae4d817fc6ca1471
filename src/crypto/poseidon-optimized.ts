/**
 * The optimized ("sparse matrix") form of circomlib's Poseidon, from appendix B of the Poseidon
 * paper as Filecoin's neptune implements it and circomlibjs' `poseidon_opt.js` uses it. It
 * computes the same permutation as the plain one (poseidon.ts builds that from noble), with
 * constants derived here from the plain round constants and MDS matrix:
 *
 * - Round constants move backwards through the linear layers (c · M⁻¹ added before M is c added
 *   after it), so each is added after an S-box instead of before. In the partial rounds only
 *   state[0] goes through the S-box, so all but one constant per partial round move further back;
 *   what is left is one scalar per partial round.
 * - The MDS matrix of each partial round factors as M'·B (applied in that order), where
 *   M' = diag(1, M̂) leaves state[0] alone and so commutes with the partial S-box, and B is
 *   sparse: identity except its first row and column. Each M' moves back into the matrix before,
 *   so the partial rounds cost O(t) instead of O(t²) and the last full round before them uses
 *   the "pre-sparse" matrix P instead of M.
 *
 * The constants for width t (`OptimizedPoseidonConstants`; same layout and meaning as circomlibjs'
 * `poseidon_constants_opt`, entry t - 2). Matrices act on the state as a row vector: the new
 * state[i] is Σ_j X[j][i]·state[j].
 *
 * - `C`, length 8t + roundsPartial, in the order the permutation adds them:
 *   t added to the input; t after each of the first 4 full S-box layers (the fourth block is
 *   followed by P, the other three by M); 1 after each partial S-box (to state[0]); t after each
 *   of the first 3 S-box layers of the last 4 full rounds. The last full round adds none.
 * - `S`, (2t − 1) per partial round in order: entries 0..t−1 are the sparse matrix's first
 *   column (new state[0] = Σ_j S[j]·state[j]), entries t..2t−2 its first row after the corner
 *   (state[k] += state[0]·S[t + k − 1] for k = 1..t−1, with the old state[0]).
 * - `M`, t×t: the MDS matrix in this row-vector orientation (the transpose of noble's `mds`, which
 *   multiplies a column vector).
 * - `P`, t×t: the pre-sparse matrix, M·diag(1, M̂^roundsPartial), M̂ = M without row and column 0.
 *
 * Deriving a width costs one t×t and one (t−1)×(t−1) inversion, O(roundsPartial·t²) products and
 * a matrix power: measured (Node 24, CPU time, load 5 on 2 cores) 2 ms for widths 6 and 7, 20-25 ms
 * for 17, beside noble's Grain generation of the plain constants (15 and 35 ms), which the plain
 * permutation needs as well. Cached per width.
 */
import { grainGenConstants } from '@noble/curves/abstract/poseidon.js'
import { CryptoError } from './errors.ts'
import { FIELD_ORDER, Fp } from './field.ts'

/** Full rounds of circomlib's Poseidon, half before and half after the partial rounds. */
export const POSEIDON_ROUNDS_FULL = 8
/** circomlib's N_ROUNDS_P, partial rounds indexed by t - 2 (widths 2..17). */
export const POSEIDON_ROUNDS_PARTIAL = [
  56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68,
] as const
/** Smallest and largest widths circomlib defines (1..16 inputs plus the capacity element). */
export const POSEIDON_MIN_WIDTH = 2
export const POSEIDON_MAX_WIDTH = 17

/** The parameters noble's `grainGenConstants` and `poseidon` take for width t. */
export function poseidonShape(t: number) {
  assertWidth(t)
  return {
    Fp,
    t,
    roundsFull: POSEIDON_ROUNDS_FULL,
    roundsPartial: POSEIDON_ROUNDS_PARTIAL[t - POSEIDON_MIN_WIDTH]!,
    sboxPower: 5,
  }
}

function assertWidth(t: number): void {
  if (!Number.isInteger(t) || t < POSEIDON_MIN_WIDTH || t > POSEIDON_MAX_WIDTH) {
    throw new CryptoError(
      'CRYPTO_INVALID_ARGUMENT',
      `Poseidon width must be an integer ${POSEIDON_MIN_WIDTH}..${POSEIDON_MAX_WIDTH}, got ${t}`,
    )
  }
}

/** Optimized constants for one width; layout in the file comment. Plain data, field elements. */
export interface OptimizedPoseidonConstants {
  t: number
  roundsFull: number
  roundsPartial: number
  C: bigint[]
  S: bigint[]
  M: bigint[][]
  P: bigint[][]
}

type Matrix = bigint[][]

function transpose(m: Matrix): Matrix {
  return m[0]!.map((_, j) => m.map((row) => row[j]!))
}

/** (a·b)[i][j] = Σ_k a[i][k]·b[k][j], reduced once per entry. */
function matMul(a: Matrix, b: Matrix): Matrix {
  return a.map((row) =>
    b[0]!.map((_, j) => {
      let acc = 0n
      for (let k = 0; k < row.length; k++) acc += row[k]! * b[k]![j]!
      return acc % FIELD_ORDER
    }),
  )
}

/** Row vector times matrix: (v·m)[j] = Σ_i v[i]·m[i][j]. */
function rowTimes(v: readonly bigint[], m: Matrix): bigint[] {
  return m[0]!.map((_, j) => {
    let acc = 0n
    for (let i = 0; i < v.length; i++) acc += v[i]! * m[i]![j]!
    return acc % FIELD_ORDER
  })
}

/** Matrix times column vector: (m·v)[i] = Σ_j m[i][j]·v[j]. */
function timesColumn(m: Matrix, v: readonly bigint[]): bigint[] {
  return m.map((row) => {
    let acc = 0n
    for (let j = 0; j < v.length; j++) acc += row[j]! * v[j]!
    return acc % FIELD_ORDER
  })
}

/** Gauss-Jordan inverse over the field. Every square submatrix of an MDS matrix is invertible. */
function invert(m: Matrix): Matrix {
  const n = m.length
  const a = m.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1n : 0n))])
  for (let col = 0; col < n; col++) {
    const pivot = a.findIndex((row, r) => r >= col && row[col] !== 0n)
    if (pivot < 0) throw new CryptoError('CRYPTO_INVALID_ARGUMENT', 'singular Poseidon matrix')
    ;[a[col], a[pivot]] = [a[pivot]!, a[col]!]
    const inv = Fp.inv(a[col]![col]!)
    a[col] = a[col]!.map((x) => Fp.mul(x, inv))
    for (let r = 0; r < n; r++) {
      const factor = a[r]![col]!
      if (r === col || factor === 0n) continue
      a[r] = a[r]!.map((x, j) => Fp.sub(x, Fp.mul(factor, a[col]![j]!)))
    }
  }
  return a.map((row) => row.slice(n))
}

/** m^e by squaring (e ≥ 1). */
function matPow(m: Matrix, e: number): Matrix {
  let result: Matrix | undefined
  let base = m
  for (; e > 0; e >>= 1) {
    if (e & 1) result = result === undefined ? base : matMul(result, base)
    if (e > 1) base = matMul(base, base)
  }
  return result!
}

/**
 * Constants added after S-boxes instead of before (neptune's `compress_round_constants`), from
 * noble's per-round constants `rc` (round r adds rc[r] before its S-box) and M⁻¹ (row-vector).
 */
function compressRoundConstants(rc: bigint[][], mInv: Matrix, roundsPartial: number): bigint[] {
  const half = POSEIDON_ROUNDS_FULL / 2
  const out = [...rc[0]!]
  // rc[r] is added right after round r - 1's M: as rc[r]·M⁻¹ it is added right before it.
  for (let r = 1; r < half; r++) out.push(...rowTimes(rc[r]!, mInv))
  // Partial rounds, last to first. `acc` is the vector added right after the M of round r - 1
  // ... at first: the first constants of the last full rounds, added after the last partial M.
  const firstLastFull = half + roundsPartial
  let acc = rc[firstLastFull]!.slice()
  const partialKeys: bigint[] = []
  for (let r = firstLastFull - 1; r >= half; r--) {
    // Through round r's M: now added after its S-box. Only state[0] went through the S-box, so
    // element 0 stays here as round r's key and the rest passes back through it, joining rc[r].
    const before = rowTimes(acc, mInv)
    partialKeys.push(before[0]!)
    before[0] = 0n
    acc = rc[r]!.map((c, i) => Fp.add(c, before[i]!))
  }
  // What is left is added after the M of the last first-half full round: move it before that M.
  out.push(...rowTimes(acc, mInv))
  out.push(...partialKeys.reverse())
  for (let r = firstLastFull + 1; r < firstLastFull + half; r++) out.push(...rowTimes(rc[r]!, mInv))
  return out
}

/**
 * The sparse matrices and P. With X = M·diag(1, X̂') for the partial round after (X = M for the
 * last), X = diag(1, X̂)·B forces X̂ = X's lower-right block, B's first row = X's first row and
 * B's first column below the corner w = X̂⁻¹·(X's first column below the corner). Unrolled:
 * counting k from the last partial round, X̂_k = M̂^(k+1), X's first column is M's for every k,
 * so w_k = M̂⁻¹·w_(k−1) (w_(−1) = M's column) and B's first row v_k = v_(k−1)·M̂ (v_0 = M's first
 * row). What is left after the first partial round, diag(1, M̂^roundsPartial), joins P.
 */
function sparseFactors(m: Matrix, roundsPartial: number): { S: bigint[]; P: Matrix } {
  const t = m.length
  const mHat = m.slice(1).map((row) => row.slice(1))
  const mHatInv = invert(mHat)
  let w = m.slice(1).map((row) => row[0]!)
  let v = m[0]!.slice(1)
  const rounds: bigint[][] = []
  for (let k = 0; k < roundsPartial; k++) {
    if (k > 0) v = rowTimes(v, mHat)
    w = timesColumn(mHatInv, w)
    rounds.push([m[0]![0]!, ...w, ...v])
  }
  const power = matPow(mHat, roundsPartial)
  const leftover = Array.from({ length: t }, (_, i) =>
    Array.from({ length: t }, (_, j) => {
      if (i === 0 || j === 0) return i === j ? 1n : 0n
      return power[i - 1]![j - 1]!
    }),
  )
  return { S: rounds.reverse().flat(), P: matMul(m, leftover) }
}

/**
 * The optimized constants from plain ones: `roundConstants[r]` added before round r's S-boxes,
 * `mds` multiplying the state as a column vector (noble's `grainGenConstants` output). Pure: for
 * the cached constants of circomlib's parameters use `optimizedPoseidonConstants`.
 */
export function deriveOptimizedPoseidonConstants(
  t: number,
  roundConstants: bigint[][],
  mds: bigint[][],
): OptimizedPoseidonConstants {
  const { roundsFull, roundsPartial } = poseidonShape(t)
  if (roundConstants.length !== roundsFull + roundsPartial || mds.length !== t) {
    throw new CryptoError('CRYPTO_INVALID_ARGUMENT', `not Poseidon constants for width ${t}`)
  }
  const M = transpose(mds)
  const C = compressRoundConstants(roundConstants, invert(M), roundsPartial)
  const { S, P } = sparseFactors(M, roundsPartial)
  return { t, roundsFull, roundsPartial, C, S, M, P }
}

const constantsCache: (OptimizedPoseidonConstants | undefined)[] = []

/**
 * The optimized constants for width t (2..17), derived from noble's Grain constants for
 * circomlib's parameters. Cached: callers get the same object each time and must not modify it.
 * Exported for kernels that run the permutation elsewhere (WebAssembly).
 */
export function optimizedPoseidonConstants(t: number): OptimizedPoseidonConstants {
  const cached = constantsCache[t]
  if (cached !== undefined) return cached
  const { roundConstants, mds } = grainGenConstants(poseidonShape(t))
  const constants = deriveOptimizedPoseidonConstants(t, roundConstants, mds)
  constantsCache[t] = constants
  return constants
}

/** Permutes t field elements; returns a new array. */
export type PoseidonPermutation = (state: readonly bigint[]) => bigint[]

const permutationCache: (PoseidonPermutation | undefined)[] = []

/**
 * The permutation for width t over the optimized constants, the same function as the plain one.
 * Written for speed in BigInt: products are summed unreduced and reduced once per output (all
 * values are non-negative, so `%` suffices); a value plus a constant (< 2p) enters products
 * unreduced; the state lives in two arrays allocated once per width and swapped by the matrix
 * layers. Not reentrant, which JavaScript's single thread makes safe (nothing here yields).
 */
export function poseidonPermutationOptimized(t: number): PoseidonPermutation {
  const cached = permutationCache[t]
  if (cached !== undefined) return cached
  const { C, S, M, P, roundsFull, roundsPartial } = optimizedPoseidonConstants(t)
  const p = FIELD_ORDER
  // Matrices flattened by output: entry i·t + j multiplies state[j] into the new state[i].
  const flatByOutput = (x: Matrix) => transpose(x).flat()
  const mFlat = flatByOutput(M)
  const pFlat = flatByOutput(P)
  const half = roundsFull / 2
  let s: bigint[] = new Array(t).fill(0n)
  let next: bigint[] = new Array(t).fill(0n)

  const sbox = (x: bigint): bigint => {
    const x2 = (x * x) % p
    const x4 = (x2 * x2) % p
    return (x * x4) % p
  }
  // s ← s·X (X flattened by output), into `next`, then swap.
  const mix = (x: readonly bigint[]): void => {
    for (let i = 0, row = 0; i < t; i++, row += t) {
      let acc = 0n
      for (let j = 0; j < t; j++) acc += x[row + j]! * s[j]!
      next[i] = acc % p
    }
    const tmp = s
    s = next
    next = tmp
  }

  const permutation: PoseidonPermutation = (state) => {
    if (state.length !== t) {
      throw new CryptoError(
        'CRYPTO_INVALID_ARGUMENT',
        `Poseidon width ${t} permutes ${t} elements, got ${state.length}`,
      )
    }
    for (let i = 0; i < t; i++) s[i] = Fp.create(state[i]!)
    let c = 0
    for (let i = 0; i < t; i++) s[i] = s[i]! + C[c++]!
    for (let r = 0; r < half; r++) {
      for (let i = 0; i < t; i++) s[i] = sbox(s[i]!) + C[c++]!
      mix(r < half - 1 ? mFlat : pFlat)
    }
    // state[1..] are not reduced in the partial rounds: each round adds one product < 2p², so
    // after at most 70 rounds they stay below 2^516, and a `%` costs five times a product.
    for (let r = 0, base = 0; r < roundsPartial; r++, base += 2 * t - 1) {
      const s0 = sbox(s[0]!) + C[c++]!
      let acc = S[base]! * s0
      for (let j = 1; j < t; j++) acc += S[base + j]! * s[j]!
      for (let k = 1; k < t; k++) s[k] = s[k]! + s0 * S[base + t + k - 1]!
      s[0] = acc % p
    }
    for (let k = 1; k < t; k++) s[k] = s[k]! % p
    for (let r = 0; r < half; r++) {
      if (r < half - 1) for (let i = 0; i < t; i++) s[i] = sbox(s[i]!) + C[c++]!
      else for (let i = 0; i < t; i++) s[i] = sbox(s[i]!)
      mix(mFlat)
    }
    return s.slice()
  }
  permutationCache[t] = permutation
  return permutation
}
