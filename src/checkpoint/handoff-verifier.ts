/**
 * Checking checkpoint signatures fast enough for a light client that walks a year of handoffs
 * (issue 17: 365 handoffs of a committee of 16). With @noble/curves on a 2-core EPYC, Node 24:
 * hashing a message onto G1 costs ~2.5 ms, decoding a 96-byte G2 key with its subgroup check
 * ~2.5 ms, a 48-byte G1 signature ~1.3 ms, and one pairing check (two Miller loops and a final
 * exponentiation) ~12 ms; a walk that decodes its 16 keys and checks one pairing per handoff
 * pays ~60 ms a handoff. Here:
 *
 * 1. A key is decoded once per distinct bytes (a bounded cache; the Miller-loop lines of the
 *    keys paired last beside it): committees are drawn from the active nodes, so a year of
 *    committees holds a few dozen distinct keys, not 365 × 16.
 * 2. A run of checkpoints is checked with one product of pairings (a random linear combination,
 *    as Ethereum clients batch signatures): with random 64-bit rᵢ, all signatures hold when
 *
 *        e(Σᵢ rᵢσᵢ, g2) = Πᵢ e(rᵢHᵢ, apkᵢ) = Πⱼ e(Σ_{i signed by j} rᵢHᵢ, pkⱼ)
 *
 *    where Hᵢ is checkpoint i's message on G1 and apkᵢ the sum of its signers' keys. The last
 *    form groups by key: one Miller loop per distinct key (its lines cached) plus one for g2, and
 *    one final exponentiation for the whole run. Soundness: every point is in its prime-order
 *    subgroup (decoding checks keys and signatures; Hᵢ's cofactor is cleared on the sums,
 *    clear(Σ rᵢPᵢ) = Σ rᵢ·clear(Pᵢ) = Σ rᵢHᵢ, the same points: hash-to-g1.ts), so
 *    checkpoint i contributes Xᵢ^{rᵢ} with Xᵢ = e(Hᵢ, apkᵢ) / e(σᵢ, g2) in the order-r group GT,
 *    Xᵢ = 1 exactly when σᵢ verifies; if some Xᵢ ≠ 1, Πᵢ Xᵢ^{rᵢ} = 1 for at most one value of
 *    that rᵢ given the others, a chance of 2⁻⁶⁴ as the rᵢ are drawn after the run is received.
 * 3. When the product is not 1, a binary search over prefixes (fresh rᵢ each time) finds the
 *    first checkpoint whose signature fails, and its own check confirms it: the light client
 *    learns exactly which checkpoint failed, with the code a one-by-one walk gives.
 *
 * Not done: decoding keys without their subgroup check. The chain did check them once (a stake
 * carries a proof of possession, src/state/transitions.ts, whose key decoding checks the
 * subgroup), so a key bound by a checkpoint that a quorum of an honest committee signed is in
 * G2. But in a batch, the keys of handoff i are used to check handoff i + 1 before handoff i's
 * own signature is known to hold, and the argument of (2) needs subgroup points: a forged
 * handoff could bring keys outside G2 into the very product that should expose it. With the
 * cache the check is paid once per distinct key (~1.4 ms of its ~2.5), so it stays. A
 * signature's subgroup check (~0.9 ms each, a third of a cold walk in Node) stays as well: RFC
 * BLS's CoreVerify requires it, and a non-canonical signature would otherwise be accepted.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import {
  type AggregateSignature,
  ATTESTATION_SIGNATURE_BYTES,
  attestationMessage,
  attestationQuorum,
  attestationSigners,
  decodeKeyPoint,
  type G1Point,
  type G2Point,
  MAX_ATTESTATION_COMMITTEE,
} from '../consensus/attestation/block-attestation.ts'
import { ConsensusError } from '../consensus/errors.ts'
import { CHECKPOINT_DST } from './checkpoint.ts'
import { CheckpointError } from './errors.ts'
import { FifoCache } from './fifo-cache.ts'
import { clearCofactor, messageOnCurve } from './hash-to-g1.ts'

type Lines = ReturnType<typeof bls12_381.utils.calcPairingPrecomputes>
const { Fp12 } = bls12_381.fields
const G1 = bls12_381.G1.Point

/** A committee key decoded (on the curve, in G2, not the identity). */
interface DecodedKey {
  readonly point: G2Point
}

/** Decoded keys by their hex bytes; `null` for bytes that are not a key. Oldest out first.
 * 4,096 keys (a decoded G2 point is ~1 KB): many times a year of committees. */
export const MAX_CACHED_KEYS = 4096
const keyCache = new FifoCache<string, DecodedKey | null>(MAX_CACHED_KEYS)
/** Miller-loop lines of the keys paired most recently: ~52 KB each, so fewer of them (a pool
 * of 256 nodes keeps all its lines). */
export const MAX_CACHED_LINES = 256
const lineCache = new FifoCache<DecodedKey, Lines>(MAX_CACHED_LINES)

/** Forgets every decoded key and its lines (benchmarks of a cold walk; tests). */
export function clearKeyCache(): void {
  keyCache.clear()
  lineCache.clear()
}

function decodedKey(bytes: Uint8Array): DecodedKey | undefined {
  const entry = keyCache.get(bytesToHex(bytes), () => {
    const point = decodeKeyPoint(bytes)
    return point === undefined ? null : { point }
  })
  return entry ?? undefined
}

const linesOf = (key: DecodedKey): Lines =>
  lineCache.get(key, () => bls12_381.utils.calcPairingPrecomputes(key.point))

let generatorLines: Lines | undefined
const g2Lines = (): Lines =>
  (generatorLines ??= bls12_381.utils.calcPairingPrecomputes(bls12_381.G2.Point.BASE))

/** What every kernel's prepared signature tells the walk: whose it is and how many signed. */
export interface PreparedCheckpointSignature {
  readonly height: number
  readonly signerCount: number
}

/**
 * The BLS arithmetic behind a checkpoint walk: this file's, on @noble/curves (the reference,
 * everywhere), or mcl's WebAssembly (mcl-signature-kernel.ts, loaded by the Node entry points).
 * `prepare` checks everything but the pairing, with the codes of `verifyAttestedHash`; `verify`
 * checks one, `verifyBatch` all at once (true: all hold, but with probability 2⁻⁶⁴).
 */
export interface CheckpointSignatureKernel<
  P extends PreparedCheckpointSignature = PreparedCheckpointSignature,
> {
  readonly name: string
  prepare(
    height: number,
    hash: Uint8Array,
    signed: AggregateSignature,
    committee: readonly Uint8Array[],
  ): P
  verify(item: P): boolean
  verifyBatch(items: readonly P[]): boolean
  /** Forgets the decoded keys and their lines (benchmarks of a cold walk; tests). */
  clearCache(): void
}

/** One checkpoint's signature, decoded and checked for everything but the pairing. */
export interface PreparedSignature extends PreparedCheckpointSignature {
  /** height ‖ checkpoint hash hashed onto the curve under CHECKPOINT_DST, before its cofactor
   * is cleared (hash-to-g1.ts): `clearCofactor` of it is the message's G1 point. */
  readonly messageOnCurve: G1Point
  readonly signature: G1Point
  /** The signers' keys, in member order. */
  readonly keys: readonly DecodedKey[]
}

const malformed = (message: string) => new CheckpointError('CHECKPOINT_MALFORMED', message)

/**
 * Everything `verifyAttestedHash` checks before its pairing, in its order and with its codes
 * (in checkpoint terms): the committee's size and the bitfield (CHECKPOINT_MALFORMED), the
 * quorum (CHECKPOINT_QUORUM), the signature's bytes and point, the signers' keys
 * (CHECKPOINT_MALFORMED). Then the message is hashed onto G1.
 */
export function prepareCheckpointSignature(
  height: number,
  hash: Uint8Array,
  signed: AggregateSignature,
  committee: readonly Uint8Array[],
): PreparedSignature {
  const members = checkedSigners(signed, committee)
  let signature: G1Point
  try {
    signature = bls12_381.shortSignatures.Signature.fromBytes(signed.signature)
  } catch (e) {
    throw new CheckpointError('CHECKPOINT_MALFORMED', 'the signature is not a G1 point', {
      cause: e,
    })
  }
  const keys = members.map((m) => {
    const key = decodedKey(committee[m] as Uint8Array)
    if (key === undefined) throw malformed(`member ${m}'s committee key is not a G2 key`)
    return key
  })
  const message = messageOnCurve(attestationMessage(height, hash), CHECKPOINT_DST)
  return { height, signerCount: keys.length, messageOnCurve: message, signature, keys }
}

/**
 * The checks before any point is decoded, in `verifyAttestedHash`'s order and with its codes:
 * the committee's size and the bitfield (CHECKPOINT_MALFORMED), the quorum
 * (CHECKPOINT_QUORUM), the signature's length (CHECKPOINT_MALFORMED). The signers, in member
 * order.
 */
export function checkedSigners(
  signed: AggregateSignature,
  committee: readonly Uint8Array[],
): number[] {
  const n = committee.length
  if (n < 1 || n > MAX_ATTESTATION_COMMITTEE) throw malformed(`a committee of ${n} members`)
  let members: number[]
  try {
    members = attestationSigners(signed.signers, n)
  } catch (e) {
    if (!(e instanceof ConsensusError)) throw e
    throw new CheckpointError('CHECKPOINT_MALFORMED', e.message, { cause: e })
  }
  const quorum = attestationQuorum(n)
  if (members.length < quorum) {
    throw new CheckpointError(
      'CHECKPOINT_QUORUM',
      `${members.length} of ${n} members signed, fewer than ${quorum}`,
    )
  }
  if (
    !(signed.signature instanceof Uint8Array) ||
    signed.signature.length !== ATTESTATION_SIGNATURE_BYTES
  ) {
    throw malformed(`the signature is not ${ATTESTATION_SIGNATURE_BYTES} bytes`)
  }
  return members
}

/** Is Π e(g1ᵢ, g2ᵢ) the identity of GT? One Miller loop per pair, one final exponentiation. */
function pairingProductIsOne(pairs: readonly (readonly [G1Point, Lines])[]): boolean {
  const loops = pairs.map(([p, lines]) => {
    const { x, y } = p.toAffine()
    return [lines, x, y] as [Lines, bigint, bigint]
  })
  return Fp12.eql(Fp12.finalExponentiate(bls12_381.millerLoopBatch(loops)), Fp12.ONE)
}

/** Does one prepared signature verify: e(H, apk) = e(σ, g2)? (as noble's `verify`, which
 * answers false for the point at infinity) */
export function verifyPrepared(item: PreparedSignature): boolean {
  const apk = item.keys.reduce<G2Point | undefined>(
    (sum, k) => (sum === undefined ? k.point : sum.add(k.point)),
    undefined,
  )
  const message = clearCofactor(item.messageOnCurve)
  if (apk === undefined || apk.is0() || item.signature.is0() || message.is0()) return false
  return pairingProductIsOne([
    [message, bls12_381.utils.calcPairingPrecomputes(apk)],
    [item.signature.negate(), g2Lines()],
  ])
}

/** A random non-zero 64-bit scalar (drawn after the items are fixed). */
function randomScalar(): bigint {
  const words = crypto.getRandomValues(new Uint32Array(2))
  const r = (BigInt(words[0] as number) << 32n) | BigInt(words[1] as number)
  return r === 0n ? 1n : r
}

const SCALAR_BITS = 64

/**
 * Σ scalars[i]·points[i] for 64-bit scalars, by buckets (Pippenger): for 365 signatures about
 * 5,000 additions where one multiplication each would take 365 × ~90. noble's `msm` walks all
 * 255 bits of its scalars, four times the work for these.
 */
function sumOfMultiples(points: readonly G1Point[], scalars: readonly bigint[]): G1Point {
  const n = points.length
  // The window that minimises (64 / c)·(n + 2^(c+1)) additions.
  let c = 1
  const cost = (w: number) => Math.ceil(SCALAR_BITS / w) * (n + 2 ** (w + 1))
  for (let w = 2; w <= 12; w++) if (cost(w) < cost(c)) c = w
  const mask = (1n << BigInt(c)) - 1n
  let total = G1.ZERO
  for (let shift = Math.ceil(SCALAR_BITS / c) * c - c; shift >= 0; shift -= c) {
    for (let d = 0; d < c; d++) total = total.double()
    const buckets: (G1Point | undefined)[] = new Array(1 << c)
    for (let i = 0; i < n; i++) {
      const digit = Number(((scalars[i] as bigint) >> BigInt(shift)) & mask)
      if (digit === 0) continue
      const b = buckets[digit]
      buckets[digit] = b === undefined ? (points[i] as G1Point) : b.add(points[i] as G1Point)
    }
    // Σ d·bucket[d] as running sums from the top.
    let running = G1.ZERO
    let sum = G1.ZERO
    for (let d = buckets.length - 1; d >= 1; d--) {
      const b = buckets[d]
      if (b !== undefined) running = running.add(b)
      sum = sum.add(running)
    }
    total = total.add(sum)
  }
  return total
}

/**
 * Do all of `items` verify? One product of pairings (see the top of this file): true means all
 * do, except with probability 2⁻⁶⁴; false means at least one does not.
 */
export function verifyPreparedBatch(items: readonly PreparedSignature[]): boolean {
  if (items.length === 0) return true
  if (items.length === 1) return verifyPrepared(items[0] as PreparedSignature)
  // Σ rᵢHᵢ per distinct key (grouped by key) or per item (apkᵢ), whichever makes fewer loops;
  // Hᵢ's cofactor is cleared once per sum (hash-to-g1.ts).
  const distinct = new Set<DecodedKey>()
  for (const item of items) for (const k of item.keys) distinct.add(k)
  const byKey = distinct.size <= items.length
  const perKey = new Map<DecodedKey, G1Point>()
  const pairs: (readonly [G1Point, Lines])[] = []
  const scalars: bigint[] = []
  for (const item of items) {
    // What `verifyPrepared` refuses outright (a sum of infinities proves nothing).
    if (item.keys.length === 0 || item.signature.is0()) return false
    const r = randomScalar()
    scalars.push(r)
    const rh = item.messageOnCurve.multiplyUnsafe(r)
    if (byKey) {
      for (const k of item.keys) {
        const acc = perKey.get(k)
        perKey.set(k, acc === undefined ? rh : acc.add(rh))
      }
    } else {
      const apk = item.keys.reduce((sum, k) => sum.add(k.point), bls12_381.G2.Point.ZERO)
      if (apk.is0()) return false
      const h = clearCofactor(rh)
      if (!h.is0()) pairs.push([h, bls12_381.utils.calcPairingPrecomputes(apk)])
    }
  }
  for (const [key, acc] of perKey) {
    const h = clearCofactor(acc)
    if (!h.is0()) pairs.push([h, linesOf(key)])
  }
  const sigma = sumOfMultiples(
    items.map((item) => item.signature),
    scalars,
  )
  if (!sigma.is0()) pairs.push([sigma.negate(), g2Lines()])
  if (pairs.length === 0) return true
  return pairingProductIsOne(pairs)
}

/**
 * The index of the first item that does not verify, or -1 when all do: the batch check first,
 * then (when it fails) a binary search for the shortest failing prefix, whose last item is
 * checked alone. Should the batch and the single check ever disagree (probability 2⁻⁶⁴), the
 * items are checked one by one.
 */
export function firstInvalidSignature<P extends PreparedCheckpointSignature>(
  items: readonly P[],
  kernel: CheckpointSignatureKernel<P>,
): number {
  if (kernel.verifyBatch(items)) return -1
  // Invariant: items[0..hi] fails as a batch; items[0..lo) passed.
  let lo = 0
  let hi = items.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (kernel.verifyBatch(items.slice(lo, mid + 1))) lo = mid + 1
    else hi = mid
  }
  if (!kernel.verify(items[lo] as P)) return lo
  return items.findIndex((item) => !kernel.verify(item))
}

/** The error of a prepared signature that does not verify (as `verifyCheckpointSignature`). */
export function signatureError(item: PreparedCheckpointSignature): CheckpointError {
  return new CheckpointError(
    'CHECKPOINT_SIGNATURE',
    `the aggregate signature of ${item.signerCount} members does not verify for checkpoint ${item.height}`,
  )
}

/** The reference kernel: @noble/curves, in every thread of every platform. */
export const nobleCheckpointKernel: CheckpointSignatureKernel<PreparedSignature> = {
  name: 'noble',
  prepare: prepareCheckpointSignature,
  verify: verifyPrepared,
  verifyBatch: verifyPreparedBatch,
  clearCache: clearKeyCache,
}

let active: CheckpointSignatureKernel = nobleCheckpointKernel as CheckpointSignatureKernel

/** The kernel checkpoint walks use now (noble until a faster one is installed). */
export function checkpointSignatureKernel(): CheckpointSignatureKernel {
  return active
}

/**
 * Makes `kernel` the one checkpoint walks use (mcl-signature-kernel.ts installs its own on
 * Node); without an argument, noble again. Prepared signatures are the kernel's own: a walk
 * takes the kernel once and uses it throughout.
 */
export function useCheckpointSignatureKernel(kernel?: CheckpointSignatureKernel): void {
  active = kernel ?? (nobleCheckpointKernel as CheckpointSignatureKernel)
}
