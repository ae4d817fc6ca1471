/**
 * The checkpoint signature kernel on mcl, herumi's pairing library compiled to WebAssembly
 * (npm mcl-wasm): the same checks as the noble kernel (handoff-verifier.ts), with the same
 * answers and codes on every input (mcl-signature-kernel.test.ts holds them side by side), and
 * the same batch (one product of pairings over random 64-bit weights, grouped by key).
 *
 * Why: a year of handoffs is ~366 signatures, each decoded with its subgroup check, hashed onto
 * G1 and weighted, and in Node's BigInt arithmetic that walk took 1.2–1.5 s of CPU against the
 * issue's 1 s; with this kernel, 474 ms (`npm run bench -- --only light`). Measured on the 2-core EPYC here, noble → mcl, Node 24: a signature decoded
 * with its subgroup check 1.3 → 0.26 ms, a key 2.5 → 0.37 ms, a message onto G1 0.7 → 0.35 ms,
 * a 64-bit multiple 0.6 → 0.11 ms, a Miller loop ~5 → 1.0 ms (docs/benchmarks.md, "Light
 * client"). Node entry points install it (`useMclCheckpointKernel`): the node, `fulmen light`,
 * a Node client given `chain`. It runs in browsers as well (its tests run in Chromium), but
 * their workers keep noble: the walk meets its bound there, and mcl is 600 KB more to load.
 *
 * mcl's settings are process-wide: ETH (ZCash) point encoding, the RFC 9380 map, subgroup
 * checks on decoding. Nothing else in Fulmen uses mcl.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { numberToBytesLE } from '@noble/curves/utils.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import * as mcl from 'mcl-wasm'
import {
  type AggregateSignature,
  ATTESTATION_KEY_BYTES,
  attestationMessage,
} from '../consensus/attestation/block-attestation.ts'
import { CHECKPOINT_DST } from './checkpoint.ts'
import { CheckpointError } from './errors.ts'
import { FifoCache } from './fifo-cache.ts'
import {
  type CheckpointSignatureKernel,
  checkedSigners,
  MAX_CACHED_KEYS,
  MAX_CACHED_LINES,
  type PreparedCheckpointSignature,
  useCheckpointSignatureKernel,
} from './handoff-verifier.ts'
import { messageToField } from './hash-to-g1.ts'

/** A committee key decoded by mcl (on the curve, in G2, not the identity). */
interface MclKey {
  readonly point: mcl.G2
}

export interface MclPreparedSignature extends PreparedCheckpointSignature {
  /** The message's point on G1 (hash_to_curve under CHECKPOINT_DST, cofactor cleared). */
  readonly message: mcl.G1
  readonly signature: mcl.G1
  readonly keys: readonly MclKey[]
}

/** Decoded keys by hex bytes (`null`: not a key), bounded as the noble kernel's cache. */
const keyCache = new FifoCache<string, MclKey | null>(MAX_CACHED_KEYS)
/** Miller-loop lines of the keys paired last; mcl keeps them in WebAssembly memory, freed on
 * eviction. */
const lineCache = new FifoCache<MclKey, mcl.PrecomputedG2>(MAX_CACHED_LINES, (lines) =>
  lines.destroy(),
)

let generatorLines: mcl.PrecomputedG2 | undefined
let loading: Promise<CheckpointSignatureKernel<MclPreparedSignature>> | undefined

const malformed = (message: string, cause?: unknown) =>
  new CheckpointError('CHECKPOINT_MALFORMED', message, cause === undefined ? undefined : { cause })

function decodedKey(bytes: Uint8Array): MclKey | undefined {
  const entry = keyCache.get(bytesToHex(bytes), () => {
    if (bytes.length !== ATTESTATION_KEY_BYTES) return null
    try {
      const point = new mcl.G2()
      point.deserialize(bytes)
      return point.isZero() ? null : { point }
    } catch {
      return null
    }
  })
  return entry ?? undefined
}

const linesOf = (key: MclKey): mcl.PrecomputedG2 =>
  lineCache.get(key, () => new mcl.PrecomputedG2(key.point))

/** A field element of Fp from its value (< p), through its 48 little-endian bytes. */
function fp(value: bigint): mcl.Fp {
  const x = new mcl.Fp()
  x.setLittleEndian(numberToBytesLE(value, 48))
  return x
}

/** hash_to_curve(height ‖ hash) under CHECKPOINT_DST: noble's hash_to_field, mcl's map. */
function messagePoint(height: number, hash: Uint8Array): mcl.G1 {
  const [u0, u1] = messageToField(attestationMessage(height, hash), CHECKPOINT_DST)
  return mcl.add(fp(u0).mapToG1(), fp(u1).mapToG1())
}

function prepare(
  height: number,
  hash: Uint8Array,
  signed: AggregateSignature,
  committee: readonly Uint8Array[],
): MclPreparedSignature {
  const members = checkedSigners(signed, committee)
  const signature = new mcl.G1()
  try {
    signature.deserialize(signed.signature)
  } catch (e) {
    throw malformed('the signature is not a G1 point', e)
  }
  const keys = members.map((m) => {
    const key = decodedKey(committee[m] as Uint8Array)
    if (key === undefined) throw malformed(`member ${m}'s committee key is not a G2 key`)
    return key
  })
  return {
    height,
    signerCount: keys.length,
    message: messagePoint(height, hash),
    signature,
    keys,
  }
}

const g2Lines = (): mcl.PrecomputedG2 => {
  if (generatorLines === undefined) {
    // The generator of G2 (the noble kernel's g2), from its compressed bytes.
    const g2 = new mcl.G2()
    g2.deserialize(bls12_381.G2.Point.BASE.toBytes())
    generatorLines = new mcl.PrecomputedG2(g2)
  }
  return generatorLines
}

/** Π of the Miller loops, then one final exponentiation: is it 1? */
function productIsOne(loops: readonly mcl.GT[]): boolean {
  let acc = loops[0] as mcl.GT
  for (let i = 1; i < loops.length; i++) acc = mcl.mul(acc, loops[i] as mcl.GT)
  return mcl.finalExp(acc).isOne()
}

function sumOfKeys(keys: readonly MclKey[]): mcl.G2 {
  let apk = (keys[0] as MclKey).point
  for (let i = 1; i < keys.length; i++) apk = mcl.add(apk, (keys[i] as MclKey).point)
  return apk
}

function verify(item: MclPreparedSignature): boolean {
  if (item.keys.length === 0) return false
  const apk = sumOfKeys(item.keys)
  if (apk.isZero() || item.signature.isZero() || item.message.isZero()) return false
  return productIsOne([
    mcl.millerLoop(item.message, apk),
    mcl.precomputedMillerLoop(mcl.neg(item.signature), g2Lines()),
  ])
}

/** A random non-zero 64-bit scalar, drawn after the items are fixed. */
function randomWeight(): mcl.Fr {
  const r = new mcl.Fr()
  r.setLittleEndian(crypto.getRandomValues(new Uint8Array(8)))
  if (r.isZero()) r.setInt(1)
  return r
}

/** handoff-verifier.ts's `verifyPreparedBatch`, step for step, in mcl. */
function verifyBatch(items: readonly MclPreparedSignature[]): boolean {
  if (items.length === 0) return true
  if (items.length === 1) return verify(items[0] as MclPreparedSignature)
  const distinct = new Set<MclKey>()
  for (const item of items) for (const k of item.keys) distinct.add(k)
  const byKey = distinct.size <= items.length
  const perKey = new Map<MclKey, mcl.G1>()
  const loops: mcl.GT[] = []
  const weights: mcl.Fr[] = []
  for (const item of items) {
    if (item.keys.length === 0 || item.signature.isZero()) return false
    const r = randomWeight()
    weights.push(r)
    const rh = mcl.mul(item.message, r)
    if (byKey) {
      for (const k of item.keys) {
        const acc = perKey.get(k)
        perKey.set(k, acc === undefined ? rh : mcl.add(acc, rh))
      }
    } else {
      const apk = sumOfKeys(item.keys)
      if (apk.isZero()) return false
      if (!rh.isZero()) loops.push(mcl.millerLoop(rh, apk))
    }
  }
  for (const [key, acc] of perKey) {
    if (!acc.isZero()) loops.push(mcl.precomputedMillerLoop(acc, linesOf(key)))
  }
  const sigma = mcl.mulVec(
    items.map((item) => item.signature),
    weights,
  )
  if (!sigma.isZero()) loops.push(mcl.precomputedMillerLoop(mcl.neg(sigma), g2Lines()))
  if (loops.length === 0) return true
  return productIsOne(loops)
}

/**
 * Loads mcl (once; ~30 ms) and answers the kernel. Settings made here are mcl's for the whole
 * process.
 */
export function loadMclCheckpointKernel(): Promise<
  CheckpointSignatureKernel<MclPreparedSignature>
> {
  loading ??= (async () => {
    await mcl.init(mcl.BLS12_381)
    mcl.setETHserialization(true)
    mcl.setMapToMode(mcl.IRTF)
    mcl.verifyOrderG1(true)
    mcl.verifyOrderG2(true)
    return { name: 'mcl', prepare, verify, verifyBatch, clearCache: clearMclKeyCache }
  })()
  return loading
}

/** Installs the mcl kernel for every checkpoint walk of this process (Node entry points). */
export async function useMclCheckpointKernel(): Promise<void> {
  useCheckpointSignatureKernel(await loadMclCheckpointKernel())
}

/** Forgets every decoded key and frees their lines. */
function clearMclKeyCache(): void {
  keyCache.clear()
  lineCache.clear()
}
