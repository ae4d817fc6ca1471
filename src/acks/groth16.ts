/**
 * Groth16 over BN254 (snarkjs's `bn128`), the verification side of DA batch proofs
 * (circuits/da_batch.circom). The key and proof come in snarkjs's JSON (decimal strings,
 * projective with z = 1) and are parsed strictly once; a proof also has a 256-byte form for
 * the wire (A, B, C affine, big-endian 32-byte coordinates, B's as x.c1 x.c0 y.c1 y.c0, the
 * order Ethereum's precompiles use).
 *
 *   e(A, B) = e(α, β) · e(Σ sᵢ·ICᵢ, γ) · e(C, δ),   IC₀ + Σ over the public signals sᵢ
 *
 * Checked before any pairing: every point on its curve and in its prime-order group, and every
 * public signal below r (else s and s + r, one proof, would both verify). A kernel runs the
 * pairing check: `nobleGroth16Kernel` (@noble/curves, everywhere, the reference) here, mcl's
 * WebAssembly in groth16-mcl.ts.
 */
import { bn254 } from '@noble/curves/bn254.js'
import { AckError } from './errors.ts'

/** BN254's base field order (coordinates) and scalar field order (public signals). */
export const BN254_P = bn254.fields.Fp.ORDER
export const BN254_R = bn254.fields.Fr.ORDER
export const PROOF_BYTES = 256

export interface G1Affine {
  readonly x: bigint
  readonly y: bigint
}
/** Coordinates in Fp2 as [c0, c1] (c0 + c1·u). */
export interface G2Affine {
  readonly x: readonly [bigint, bigint]
  readonly y: readonly [bigint, bigint]
}

export interface Groth16VerificationKey {
  readonly nPublic: number
  readonly alpha: G1Affine
  readonly beta: G2Affine
  readonly gamma: G2Affine
  readonly delta: G2Affine
  /** IC₀ … IC_nPublic. */
  readonly ic: readonly G1Affine[]
}

export interface Groth16Proof {
  readonly a: G1Affine
  readonly b: G2Affine
  readonly c: G1Affine
}

/**
 * The pairing check of a parsed key and proof, the signals already checked below r. The proof's
 * points may come unchecked (`readProof`): a kernel throws ACK_PROOF_MALFORMED for A or C off
 * G1 and for B outside G2's order-r subgroup, before any pairing.
 */
export interface Groth16Kernel {
  readonly name: string
  verify(key: Groth16VerificationKey, signals: readonly bigint[], proof: Groth16Proof): boolean
}

function malformed(message: string): AckError {
  return new AckError('ACK_PROOF_MALFORMED', message)
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** A decimal string below `bound`, as snarkjs writes field elements. */
function decimal(v: unknown, what: string, bound: bigint = BN254_P): bigint {
  if (typeof v !== 'string' || !/^(0|[1-9][0-9]{0,77})$/.test(v)) {
    throw malformed(`${what} is not a decimal string`)
  }
  const n = BigInt(v)
  if (n >= bound) throw malformed(`${what} is not below the field order`)
  return n
}

function list(v: unknown, length: number, what: string): unknown[] {
  if (!Array.isArray(v) || v.length !== length) throw malformed(`${what} is not ${length} items`)
  return v
}

/** snarkjs's G1 [x, y, "1"]: affine with z = 1 (the point at infinity is refused). */
function g1Json(v: unknown, what: string): G1Affine {
  const [x, y, z] = list(v, 3, what)
  if (z !== '1') throw malformed(`${what} is not affine (z must be "1")`)
  const point = { x: decimal(x, `${what}.x`), y: decimal(y, `${what}.y`) }
  assertG1(point, what)
  return point
}

/** snarkjs's G2 [[x.c0, x.c1], [y.c0, y.c1], ["1", "0"]]. */
function g2Json(v: unknown, what: string): G2Affine {
  const [x, y, z] = list(v, 3, what)
  const [z0, z1] = list(z, 2, `${what}.z`)
  if (z0 !== '1' || z1 !== '0') throw malformed(`${what} is not affine (z must be ["1", "0"])`)
  const pair = (p: unknown, name: string): [bigint, bigint] => {
    const [c0, c1] = list(p, 2, name)
    return [decimal(c0, `${name}.c0`), decimal(c1, `${name}.c1`)]
  }
  const point = { x: pair(x, `${what}.x`), y: pair(y, `${what}.y`) }
  assertG2(point, what)
  return point
}

export function g1Point(p: G1Affine) {
  return bn254.G1.Point.fromAffine({ x: p.x, y: p.y })
}

export function g2Point(p: G2Affine) {
  const Fp2 = bn254.fields.Fp2
  return bn254.G2.Point.fromAffine({
    x: Fp2.fromBigTuple([p.x[0], p.x[1]]),
    y: Fp2.fromBigTuple([p.y[0], p.y[1]]),
  })
}

function assertG1(p: G1Affine, what: string): void {
  try {
    const point = g1Point(p)
    point.assertValidity()
    if (point.is0()) throw new Error('infinity')
  } catch {
    throw malformed(`${what} is not a point of G1`)
  }
}

function assertG2(p: G2Affine, what: string): void {
  try {
    const point = g2Point(p)
    // On the twist and in the order-r subgroup (noble checks both).
    point.assertValidity()
    if (point.is0()) throw new Error('infinity')
  } catch {
    throw malformed(`${what} is not a point of G2's order-r subgroup`)
  }
}

/** snarkjs's verification_key.json, Groth16 on bn128; throws ACK_PROOF_MALFORMED. */
export function parseVerificationKey(json: unknown): Groth16VerificationKey {
  if (!isRecord(json)) throw malformed('a verification key is a JSON object')
  if (json.protocol !== 'groth16' || json.curve !== 'bn128') {
    throw malformed('the verification key is not Groth16 on bn128')
  }
  const nPublic = json.nPublic
  if (typeof nPublic !== 'number' || !Number.isInteger(nPublic) || nPublic < 0 || nPublic > 64) {
    throw malformed('nPublic is not an integer in 0..64')
  }
  return {
    nPublic,
    alpha: g1Json(json.vk_alpha_1, 'vk_alpha_1'),
    beta: g2Json(json.vk_beta_2, 'vk_beta_2'),
    gamma: g2Json(json.vk_gamma_2, 'vk_gamma_2'),
    delta: g2Json(json.vk_delta_2, 'vk_delta_2'),
    ic: list(json.IC, nPublic + 1, 'IC').map((p, i) => g1Json(p, `IC[${i}]`)),
  }
}

/** snarkjs's proof.json (pi_a, pi_b, pi_c); throws ACK_PROOF_MALFORMED. */
export function parseProof(json: unknown): Groth16Proof {
  if (!isRecord(json)) throw malformed('a proof is a JSON object')
  if (json.protocol !== undefined && json.protocol !== 'groth16') {
    throw malformed('the proof is not Groth16')
  }
  return {
    a: g1Json(json.pi_a, 'pi_a'),
    b: g2Json(json.pi_b, 'pi_b'),
    c: g1Json(json.pi_c, 'pi_c'),
  }
}

function put(out: Uint8Array, at: number, n: bigint): void {
  for (let i = 31; i >= 0; i--) {
    out[at + i] = Number(n & 0xffn)
    n >>= 8n
  }
}

function take(bytes: Uint8Array, at: number): bigint {
  let n = 0n
  for (let i = 0; i < 32; i++) n = (n << 8n) | BigInt(bytes[at + i] as number)
  return n
}

/** The proof's 256 bytes: A.x A.y B.x.c1 B.x.c0 B.y.c1 B.y.c0 C.x C.y, 32 bytes each. */
export function encodeProof(proof: Groth16Proof): Uint8Array {
  const out = new Uint8Array(PROOF_BYTES)
  const words = [
    proof.a.x,
    proof.a.y,
    proof.b.x[1],
    proof.b.x[0],
    proof.b.y[1],
    proof.b.y[0],
    proof.c.x,
    proof.c.y,
  ]
  words.forEach((w, i) => {
    put(out, i * 32, w)
  })
  return out
}

/**
 * Reads `encodeProof`'s bytes checking only the length and that every coordinate is below p:
 * the points are the kernel's to check (`Groth16Kernel.verify`), where mcl does it in a fraction
 * of noble's 6 ms for B's subgroup. Throws ACK_PROOF_MALFORMED.
 */
export function readProof(bytes: Uint8Array): Groth16Proof {
  if (!(bytes instanceof Uint8Array) || bytes.length !== PROOF_BYTES) {
    throw malformed(`a proof is ${PROOF_BYTES} bytes, got ${bytes?.length}`)
  }
  const w = Array.from({ length: 8 }, (_, i) => take(bytes, i * 32))
  if (w.some((x) => x >= BN254_P)) throw malformed('a proof coordinate is not below p')
  const [ax, ay, bx1, bx0, by1, by0, cx, cy] = w as [
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
    bigint,
  ]
  return {
    a: { x: ax, y: ay },
    b: { x: [bx0, bx1], y: [by0, by1] },
    c: { x: cx, y: cy },
  }
}

/** Reads `encodeProof`'s bytes; throws ACK_PROOF_MALFORMED (length, coordinates, points). */
export function decodeProof(bytes: Uint8Array): Groth16Proof {
  const proof = readProof(bytes)
  assertProofPoints(proof)
  return proof
}

function assertProofPoints(proof: Groth16Proof): void {
  assertG1(proof.a, 'A')
  assertG2(proof.b, 'B')
  assertG1(proof.c, 'C')
}

/**
 * True iff `proof` verifies for `signals` under `key`. Throws ACK_PROOF_MALFORMED when the
 * signals do not fit the key (count, or a value not below r); a proof that does not verify is
 * `false`, never an exception.
 */
export function verifyGroth16(
  kernel: Groth16Kernel,
  key: Groth16VerificationKey,
  signals: readonly bigint[],
  proof: Groth16Proof,
): boolean {
  if (signals.length !== key.nPublic) {
    throw malformed(`the key takes ${key.nPublic} public signals, got ${signals.length}`)
  }
  for (const s of signals) {
    if (typeof s !== 'bigint' || s < 0n || s >= BN254_R) {
      throw malformed('a public signal is not below the scalar field order r')
    }
  }
  return kernel.verify(key, signals, proof)
}

/** @noble/curves: ~75 ms a proof in Node on this machine; everywhere, and the reference. */
export const nobleGroth16Kernel: Groth16Kernel = {
  name: 'noble',
  verify(key, signals, proof) {
    assertProofPoints(proof)
    let x = g1Point(key.ic[0] as G1Affine)
    signals.forEach((s, i) => {
      if (s !== 0n) x = x.add(g1Point(key.ic[i + 1] as G1Affine).multiply(s))
    })
    // e(−A, B) · e(α, β) · e(x, γ) · e(C, δ) = 1, one final exponentiation.
    const product = bn254.pairingBatch([
      { g1: g1Point(proof.a).negate(), g2: g2Point(proof.b) },
      { g1: g1Point(key.alpha), g2: g2Point(key.beta) },
      { g1: x, g2: g2Point(key.gamma) },
      { g1: g1Point(proof.c), g2: g2Point(key.delta) },
    ])
    return bn254.fields.Fp12.eql(product, bn254.fields.Fp12.ONE)
  },
}

let active: Groth16Kernel = nobleGroth16Kernel

/**
 * The kernel the executor's claim checks use, process-wide as the checkpoint kernel is (a
 * node's entry point installs mcl's; browsers keep noble).
 */
export function useGroth16Kernel(kernel: Groth16Kernel): void {
  active = kernel
}

export function activeGroth16Kernel(): Groth16Kernel {
  return active
}
