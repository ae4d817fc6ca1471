/**
 * Block attestations (DESIGN.md "Keys and accounts", "Checkpoints and the light client"): each
 * committee member BLS-signs every block it executed, and 2f + 1 of those signatures, added into
 * one 48-byte aggregate with a bitfield naming the signers, travel with the block. A node outside
 * the committee (and the light client) then checks a block with one pairing against the epoch's
 * committee keys, whoever it heard the block from.
 *
 * What is signed: `attestationMessage(height, blockHash)` = height (8 bytes, big-endian) ‖ the
 * block's hash, hashed onto G1 under `BLOCK_ATTESTATION_DST`. The block hash (src/state/block.ts
 * `blockHash`) is BLAKE3 derive-key over the canonical DAG-CBOR of the whole header, so it binds
 * chain id, height, parent, timestamp, epoch, transactions root, receipts root and state root:
 * signing it signs all of them. The height is written again, outside the hash, for those who
 * hold a partial signature but not the header (the collector, anyone checking equivocation
 * evidence): without it a relay could relabel a member's honest signature of height h' as one of
 * height h, filling the member's slot at h and framing it as signing two blocks there.
 *
 * BLS12-381 min-sig (`bls12_381.shortSignatures`): signatures in G1 (48 B compressed), public
 * keys in G2 (96 B). All signers sign the same message, so the aggregate verifies against the
 * sum of their public keys with a single pairing check. Plain key addition is open to rogue keys
 * (a key chosen as pk_evil − pk_honest forges "both signed") unless every key proved possession
 * of its secret: the state refuses a node's first stake unless its BLS key comes with a proof of
 * possession (src/state/transitions.ts, `verifyBlsPossession`, under its own POP DST; rogue keys
 * are tested in src/state/transaction.test.ts), and genesis keys are agreed by everyone who
 * accepts the genesis file. Committee keys come only from those, which is why plain aggregation
 * is safe here.
 *
 * Quorum: q = n − f with f = ⌊(n − 1) / 3⌋, the least count above 2n/3 (the "more than 2/3" of
 * DESIGN.md). It is 2f + 1 when n = 3f + 1; for other n (5, 6, 8, …) 2f + 1 is too few: two sets
 * of 2f + 1 out of 5 share one member, who may be the faulty one, and two blocks of one height
 * could both be attested. n − f members' sets share at least f + 1, so one is honest.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { equalBytes } from '../../core/bytes.ts'
import { blockHash } from '../../state/block.ts'
import type { BlockHeader } from '../../state/model.ts'
import type { Member } from '../dag/dag-types.ts'
import { signerBitfield, signersOf } from '../dag/narwhal-messages.ts'
import { ConsensusError } from '../errors.ts'

const bls = bls12_381.shortSignatures
/** A signature or hashed message (G1), a public key (G2): @noble/curves points. */
export type G1Point = ReturnType<typeof bls.hash>
export type G2Point = ReturnType<typeof bls.getPublicKey>

const malformed = (message: string) => new ConsensusError('ATTESTATION_MALFORMED', message)

/** Domain separation tag of block attestations (RFC 9380 hash-to-curve), distinct from the
 * proof-of-possession DST and from any other BLS message Fulmen signs. */
export const BLOCK_ATTESTATION_DST =
  'FULMEN-2026-BLOCK-ATTESTATION_BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_'

export const ATTESTATION_SIGNATURE_BYTES = 48
export const ATTESTATION_KEY_BYTES = 96
export const BLOCK_HASH_BYTES = 32
/** The most members an attested committee may have (as the DAG's MAX_COMMITTEE). */
export const MAX_ATTESTATION_COMMITTEE = 1024

/** An aggregate: which members signed (bit i of byte i >> 3 is member i, the layout of
 * narwhal-messages.ts `signerBitfield`, shortest form) and the sum of their signatures. */
export interface AggregateSignature {
  readonly signers: Uint8Array
  readonly signature: Uint8Array
}

/** An aggregate with the block it attests, as it travels (attestation-codec.ts). */
export interface BlockAttestation extends AggregateSignature {
  readonly height: number
  readonly blockHash: Uint8Array
}

/** n − f: the signers an attestation of a committee of `n` needs (see above). */
export function attestationQuorum(committeeSize: number): number {
  if (!Number.isSafeInteger(committeeSize) || committeeSize < 1) {
    throw new RangeError(`a committee has at least one member, got ${committeeSize}`)
  }
  return committeeSize - Math.floor((committeeSize - 1) / 3)
}

// --- the message ----------------------------------------------------------------------------

/** The bytes hashed onto G1: height (u64 big-endian) ‖ block hash. */
export function attestationMessage(height: number, hash: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(height) || height < 0) {
    throw new RangeError(`a block height is a safe non-negative integer, got ${height}`)
  }
  if (!(hash instanceof Uint8Array) || hash.length !== BLOCK_HASH_BYTES) {
    throw new RangeError(`a block hash is ${BLOCK_HASH_BYTES} bytes`)
  }
  const message = new Uint8Array(8 + BLOCK_HASH_BYTES)
  const view = new DataView(message.buffer)
  view.setUint32(0, Math.floor(height / 0x1_0000_0000))
  view.setUint32(4, height >>> 0)
  message.set(hash, 8)
  return message
}

/**
 * The message as a G1 point (hash-to-curve costs ~1 ms: done once per check). `dst` names what
 * is signed: blocks by default; checkpoints (src/checkpoint) sign height ‖ checkpoint hash the
 * same way under their own tag, so one signature can never stand for the other.
 */
export function attestationPoint(
  height: number,
  hash: Uint8Array,
  dst: string = BLOCK_ATTESTATION_DST,
): G1Point {
  return bls.hash(attestationMessage(height, hash), dst)
}

// --- one member -----------------------------------------------------------------------------

/** A member's 48-byte signature of an executed block. */
export function signBlock(secretKey: Uint8Array, header: BlockHeader): Uint8Array {
  return signBlockHash(secretKey, header.height, blockHash(header))
}

/** The same, from the height and hash alone (a member that stored only those); `dst` as in
 * `attestationPoint`. */
export function signBlockHash(
  secretKey: Uint8Array,
  height: number,
  hash: Uint8Array,
  dst: string = BLOCK_ATTESTATION_DST,
): Uint8Array {
  return bls.Signature.toBytes(bls.sign(attestationPoint(height, hash, dst), secretKey))
}

/** Checks one member's partial signature; false (never a throw) for anything invalid. */
export function verifyBlockSignature(
  publicKey: Uint8Array,
  header: BlockHeader,
  signature: Uint8Array,
): boolean {
  try {
    return verifyBlockHashSignature(publicKey, header.height, blockHash(header), signature)
  } catch {
    return false
  }
}

/** The same, from the height and hash alone; false for anything invalid. */
export function verifyBlockHashSignature(
  publicKey: Uint8Array,
  height: number,
  hash: Uint8Array,
  signature: Uint8Array,
): boolean {
  try {
    if (!(signature instanceof Uint8Array) || signature.length !== ATTESTATION_SIGNATURE_BYTES) {
      return false
    }
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== ATTESTATION_KEY_BYTES) {
      return false
    }
    // Decoding checks the points are on the curve and in the prime-order subgroup; noble throws
    // where they are not, and the pairing refuses the point at infinity.
    return bls.verify(signature, attestationPoint(height, hash), publicKey)
  } catch {
    return false
  }
}

// --- points, for callers that check many partials (the collector) ---------------------------
// Decoding a compressed point checks it is on the curve and in the prime-order subgroup: ~1 ms
// for a G1 signature, more for a G2 key. The collector decodes each once and keeps the points.

/** A 48-byte signature as a G1 point, or undefined when it is not one. */
export function decodeSignaturePoint(signature: Uint8Array): G1Point | undefined {
  if (!(signature instanceof Uint8Array) || signature.length !== ATTESTATION_SIGNATURE_BYTES) {
    return undefined
  }
  try {
    return bls.Signature.fromBytes(signature)
  } catch {
    return undefined
  }
}

/** Does `signature` (decoded) verify under `publicKey` (decoded) for `message` (hashed)? */
export function verifyPoints(publicKey: G2Point, message: G1Point, signature: G1Point): boolean {
  try {
    return bls.verify(signature, message, publicKey)
  } catch {
    return false
  }
}

/** The sum of decoded signatures, as the 48 bytes an aggregate carries. */
export function sumSignatures(points: readonly G1Point[]): Uint8Array {
  if (points.length === 0) throw malformed('no signatures to aggregate')
  return bls.Signature.toBytes(points.reduce((acc, p) => acc.add(p)))
}

// --- aggregation ----------------------------------------------------------------------------

/**
 * Adds members' partial signatures (checked already, e.g. by the collector) into one aggregate
 * with its signer bitfield. It does not check the quorum: `verifyAttestation` does.
 */
export function aggregateAttestation(
  committeeSize: number,
  partials: ReadonlyMap<Member, Uint8Array>,
): AggregateSignature {
  if (!Number.isSafeInteger(committeeSize) || committeeSize < 1) {
    throw malformed(`a committee has at least one member, got ${committeeSize}`)
  }
  if (partials.size === 0) throw malformed('no signatures to aggregate')
  const members = [...partials.keys()].sort((a, b) => a - b)
  const points: G1Point[] = []
  for (const member of members) {
    if (!Number.isSafeInteger(member) || member < 0 || member >= committeeSize) {
      throw malformed(`member ${member} is not in a committee of ${committeeSize}`)
    }
    const sig = partials.get(member) as Uint8Array
    if (!(sig instanceof Uint8Array) || sig.length !== ATTESTATION_SIGNATURE_BYTES) {
      throw malformed(`member ${member}'s signature is not ${ATTESTATION_SIGNATURE_BYTES} bytes`)
    }
    try {
      points.push(bls.Signature.fromBytes(sig))
    } catch (e) {
      throw new ConsensusError(
        'ATTESTATION_MALFORMED',
        `member ${member}'s signature is not a G1 point`,
        { cause: e },
      )
    }
  }
  return { signers: signerBitfield(members), signature: sumSignatures(points) }
}

// --- verification ---------------------------------------------------------------------------

/**
 * The committee's keys decoded (a G2 decode with its subgroup check costs about as much as a
 * quarter of a pairing) and the sums of keys per signer set already checked: within an epoch
 * most blocks are signed by the same members, so the sum is found, not recomputed. Keyed by the
 * keys array itself: pass the same array for the whole epoch. Bounded per committee.
 */
interface CommitteeKeys {
  readonly points: readonly (G2Point | undefined)[]
  readonly sums: Map<string, G2Point>
}
const committees = new WeakMap<readonly Uint8Array[], CommitteeKeys>()
const MAX_SUMS_PER_COMMITTEE = 64

function committeeKeys(keys: readonly Uint8Array[]): CommitteeKeys {
  let known = committees.get(keys)
  if (known === undefined) {
    // Frozen by use: an array changed in place after this would be checked against its old keys.
    known = { points: keys.map(decodeKeyPoint), sums: new Map() }
    committees.set(keys, known)
  }
  return known
}

/** A 96-byte public key as a G2 point, or undefined when it is not one (or is the identity). */
export function decodeKeyPoint(key: Uint8Array): G2Point | undefined {
  if (!(key instanceof Uint8Array) || key.length !== ATTESTATION_KEY_BYTES) return undefined
  try {
    const point = bls12_381.G2.Point.fromBytes(key)
    return point.is0() ? undefined : point
  } catch {
    return undefined
  }
}

function aggregateKey(
  committee: CommitteeKeys,
  bitfield: Uint8Array,
  members: readonly Member[],
): G2Point {
  const id = bytesToHex(bitfield)
  const cached = committee.sums.get(id)
  if (cached !== undefined) return cached
  let sum: G2Point | undefined
  for (const m of members) {
    const point = committee.points[m]
    if (point === undefined) throw malformed(`member ${m}'s committee key is not a G2 key`)
    sum = sum === undefined ? point : sum.add(point)
  }
  if (sum === undefined) throw malformed('no signers')
  if (committee.sums.size >= MAX_SUMS_PER_COMMITTEE) committee.sums.clear()
  committee.sums.set(id, sum)
  return sum
}

/** The members a bitfield names, refusing what `signerBitfield` would not have written for a
 * committee of `n`: empty, a trailing zero byte, a bit at n or beyond. */
export function attestationSigners(bitfield: Uint8Array, committeeSize: number): Member[] {
  if (!(bitfield instanceof Uint8Array) || bitfield.length === 0) {
    throw malformed('the signer bitfield is empty')
  }
  if (bitfield.length > Math.ceil(committeeSize / 8)) {
    throw malformed(`the signer bitfield is ${bitfield.length} bytes for ${committeeSize} members`)
  }
  if (bitfield[bitfield.length - 1] === 0)
    throw malformed('the signer bitfield ends in a zero byte')
  const members = signersOf(bitfield)
  const highest = members[members.length - 1] as Member
  if (highest >= committeeSize) {
    throw malformed(
      `the signer bitfield names member ${highest} of a committee of ${committeeSize}`,
    )
  }
  return members
}

/**
 * Checks that `attestation` proves `header` was signed by a quorum of the committee whose BLS
 * keys are `committeeBlsKeys` (in member order). Throws `ConsensusError`:
 * ATTESTATION_WRONG_BLOCK (it names another height or hash), ATTESTATION_MALFORMED (bitfield or
 * signature not canonical, a signer's key not a key), ATTESTATION_QUORUM (fewer than n − f
 * signers), ATTESTATION_INVALID (the pairing check fails).
 */
export function verifyAttestation(
  header: BlockHeader,
  attestation: AggregateSignature & { readonly height?: number; readonly blockHash?: Uint8Array },
  committeeBlsKeys: readonly Uint8Array[],
): void {
  const hash = blockHash(header)
  if (attestation.height !== undefined && attestation.height !== header.height) {
    throw new ConsensusError(
      'ATTESTATION_WRONG_BLOCK',
      `the attestation is for height ${attestation.height}, the block is ${header.height}`,
    )
  }
  if (attestation.blockHash !== undefined && !equalBytes(attestation.blockHash, hash)) {
    throw new ConsensusError('ATTESTATION_WRONG_BLOCK', 'the attestation names another block hash')
  }
  verifyAttestedHash(header.height, hash, attestation, committeeBlsKeys)
}

/** `verifyAttestation` from the height and the block hash alone; `dst` as in
 * `attestationPoint` (a checkpoint's aggregate is checked here under the checkpoint tag). */
export function verifyAttestedHash(
  height: number,
  hash: Uint8Array,
  attestation: AggregateSignature,
  committeeBlsKeys: readonly Uint8Array[],
  dst: string = BLOCK_ATTESTATION_DST,
): void {
  const n = committeeBlsKeys.length
  if (n < 1 || n > MAX_ATTESTATION_COMMITTEE) throw malformed(`a committee of ${n} members`)
  const members = attestationSigners(attestation.signers, n)
  const quorum = attestationQuorum(n)
  if (members.length < quorum) {
    throw new ConsensusError(
      'ATTESTATION_QUORUM',
      `${members.length} of ${n} members signed, fewer than ${quorum}`,
    )
  }
  if (
    !(attestation.signature instanceof Uint8Array) ||
    attestation.signature.length !== ATTESTATION_SIGNATURE_BYTES
  ) {
    throw malformed(`the signature is not ${ATTESTATION_SIGNATURE_BYTES} bytes`)
  }
  let signature: G1Point
  try {
    signature = bls.Signature.fromBytes(attestation.signature)
  } catch (e) {
    throw new ConsensusError('ATTESTATION_MALFORMED', 'the signature is not a G1 point', {
      cause: e,
    })
  }
  const publicKey = aggregateKey(committeeKeys(committeeBlsKeys), attestation.signers, members)
  // noble's verify answers false (does not throw) for the point at infinity and failed pairings.
  if (!bls.verify(signature, attestationPoint(height, hash, dst), publicKey)) {
    throw new ConsensusError(
      'ATTESTATION_INVALID',
      `the aggregate signature of ${members.length} members does not verify for block ${height}`,
    )
  }
}
