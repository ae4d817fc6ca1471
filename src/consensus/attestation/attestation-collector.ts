/**
 * Collects committee members' partial block signatures until n − f of them agree on one block
 * of a height, then hands back the aggregate attestation, once. Sans-I/O: the caller feeds what
 * arrived (from any peer: a partial is checked against its member's key, not trusted for who
 * relayed it) and sends or stores what comes back.
 *
 * - One partial per member per height is kept, the first valid one. A valid partial of the same
 *   member for another block hash at that height is reported, once, as equivocation: both
 *   signatures verify under the member's key, so the pair is evidence anyone can check
 *   (`verifyBlockHashSignature` on each). A member that executed the same block differently
 *   (non-deterministic execution) shows up the same way.
 * - Memory is bounded: only heights in [floor, floor + window) are collected, each holding at
 *   most one entry per member; `prune(belowHeight)` moves the floor up as blocks are attested.
 *   Once a member's valid partial is kept and checked, its later partials at that height cost
 *   at most one more check (the other block's, for evidence); before, each forged partial in
 *   its name costs one check, as any invalid message does: the transport's peer scoring, not
 *   this collector, limits what a relay may send.
 * - Points are decoded once: each member's key when its first partial arrives, each partial's
 *   signature when it is checked (kept for the aggregate), each block's hashed message once per
 *   height (measured, bench/node/attestation.ts: aggregating 67 partials from their bytes cost
 *   3× a whole verify, all of it decoding).
 *
 * One collector serves one committee (an epoch's): route each height's partials to the
 * collector of the committee that executes it.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { equalBytes } from '../../core/bytes.ts'
import type { Member } from '../dag/dag-types.ts'
import { signerBitfield } from '../dag/narwhal-messages.ts'
import { ConsensusError } from '../errors.ts'
import {
  ATTESTATION_SIGNATURE_BYTES,
  attestationPoint,
  attestationQuorum,
  BLOCK_HASH_BYTES,
  type BlockAttestation,
  decodeKeyPoint,
  decodeSignaturePoint,
  type G1Point,
  type G2Point,
  sumSignatures,
  verifyPoints,
} from './block-attestation.ts'

export const DEFAULT_ATTESTATION_WINDOW = 64

export interface AttestationCollectorOptions {
  /** The committee's BLS public keys (96 B, G2), in member order. */
  readonly committeeBlsKeys: readonly Uint8Array[]
  /** Heights collected: [floor, floor + window). Default 64. */
  readonly window?: number
  /** The first height collected (later `prune` raises it). Default 0. */
  readonly floor?: number
  /**
   * Check partials together, not one by one: a partial is kept unchecked (only decoded), and
   * when n − f are in for one block their sum is checked with one pairing; only if that fails
   * is each checked alone, and those that fail are dropped. A member's second partial at a
   * height is always checked alone (so a forged partial cannot hold a member's place, and
   * equivocation evidence always verifies). Default false: each partial checked on arrival.
   */
  readonly deferVerification?: boolean
  /** The tag the partials are signed under (block-attestation.ts `attestationPoint`): blocks by
   * default; the checkpoint collector passes the checkpoint tag. */
  readonly dst?: string
}

/** One member's signatures of two blocks at one height (each verifies under its key). */
export interface AttestationEquivocation {
  readonly member: Member
  readonly height: number
  readonly first: { readonly blockHash: Uint8Array; readonly signature: Uint8Array }
  readonly second: { readonly blockHash: Uint8Array; readonly signature: Uint8Array }
}

export type AttestationCollectorResult =
  /** Kept; `signers` members have signed this block so far (the attestation may be out). With
   * `deferVerification`, kept unchecked; `dropped` names members whose unchecked partials of
   * this block failed when checked alone (this one's too, maybe). */
  | { readonly kind: 'accepted'; readonly signers: number; readonly dropped?: readonly Member[] }
  /** This partial completed the quorum: the attestation, returned this once. */
  | { readonly kind: 'attested'; readonly attestation: BlockAttestation }
  /** Nothing kept: the member's partial for this block is in already, the height is below the
   * floor (pruned) or beyond the window, or the member was reported for this height. */
  | {
      readonly kind: 'ignored'
      readonly reason: 'duplicate' | 'below-window' | 'beyond-window' | 'reported'
    }
  /** A valid signature of another block than the one this member signed at this height. */
  | { readonly kind: 'equivocation'; readonly evidence: AttestationEquivocation }
  /** Not a member, not a 32-byte hash, or a signature that does not verify (ATTESTATION_INVALID
   * or ATTESTATION_MALFORMED). */
  | { readonly kind: 'refused'; readonly error: ConsensusError }

interface Partial {
  readonly blockHash: Uint8Array
  readonly signature: Uint8Array
  readonly point: G1Point
  /** 'alone': verified by itself; 'sum': part of a sum that verified (colluding members could
   * split a signature between them, so not evidence by itself); 'no': not checked yet. */
  checked: 'alone' | 'sum' | 'no'
}

interface HeightEntry {
  /** Each member's first valid partial (first kept, with deferVerification). */
  readonly byMember: Map<Member, Partial>
  /** The same partials grouped by block hash (hex). */
  readonly byHash: Map<string, Map<Member, Partial>>
  /** Each block hash's message hashed onto G1 (hex of the hash). */
  readonly messages: Map<string, G1Point>
  /** Members reported for equivocation at this height. */
  readonly reported: Set<Member>
  /** Hashes whose attestation was returned already. */
  readonly attested: Set<string>
}

export class AttestationCollector {
  readonly #keys: readonly Uint8Array[]
  /** Members' keys decoded (null: not a G2 key), as their first partials arrive. */
  readonly #keyPoints: (G2Point | null | undefined)[]
  readonly #quorum: number
  readonly #window: number
  readonly #defer: boolean
  readonly #dst: string | undefined
  #floor: number
  readonly #heights = new Map<number, HeightEntry>()

  constructor(options: AttestationCollectorOptions) {
    const { committeeBlsKeys, window = DEFAULT_ATTESTATION_WINDOW, floor = 0 } = options
    this.#defer = options.deferVerification === true
    this.#dst = options.dst
    if (committeeBlsKeys.length < 1) throw new RangeError('a committee has at least one member')
    if (!Number.isSafeInteger(window) || window < 1) {
      throw new RangeError(`the window is a positive integer, got ${window}`)
    }
    if (!Number.isSafeInteger(floor) || floor < 0) {
      throw new RangeError(`the floor is a non-negative integer, got ${floor}`)
    }
    this.#keys = committeeBlsKeys
    this.#keyPoints = new Array(committeeBlsKeys.length)
    this.#quorum = attestationQuorum(committeeBlsKeys.length)
    this.#window = window
    this.#floor = floor
  }

  /** The lowest height still collected. */
  get floor(): number {
    return this.#floor
  }

  /** Heights holding partials (at most `window`). */
  get heights(): number {
    return this.#heights.size
  }

  /** Member `member`'s signature of block `blockHash` at `height`. */
  add(
    member: Member,
    height: number,
    blockHash: Uint8Array,
    signature: Uint8Array,
  ): AttestationCollectorResult {
    if (!Number.isSafeInteger(member) || member < 0 || member >= this.#keys.length) {
      return refused('ATTESTATION_MALFORMED', `member ${member} is not in the committee`)
    }
    if (!Number.isSafeInteger(height) || height < 0) {
      return refused('ATTESTATION_MALFORMED', `height ${height} is not a block height`)
    }
    if (!(blockHash instanceof Uint8Array) || blockHash.length !== BLOCK_HASH_BYTES) {
      return refused('ATTESTATION_MALFORMED', `a block hash is ${BLOCK_HASH_BYTES} bytes`)
    }
    if (!(signature instanceof Uint8Array) || signature.length !== ATTESTATION_SIGNATURE_BYTES) {
      return refused('ATTESTATION_MALFORMED', `a signature is ${ATTESTATION_SIGNATURE_BYTES} bytes`)
    }
    if (height < this.#floor) return { kind: 'ignored', reason: 'below-window' }
    if (height >= this.#floor + this.#window) return { kind: 'ignored', reason: 'beyond-window' }

    const entry = this.#heights.get(height)
    // The cheap answers first: a signature check costs a pairing.
    if (entry?.reported.has(member)) return { kind: 'ignored', reason: 'reported' }
    const earlier = entry?.byMember.get(member)
    // One message has one valid signature (BLS is deterministic): the same bytes again are a
    // repeat, and other bytes a forgery, unless the kept ones were never checked.
    if (
      earlier !== undefined &&
      equalBytes(earlier.blockHash, blockHash) &&
      (earlier.checked !== 'no' || equalBytes(earlier.signature, signature))
    ) {
      return { kind: 'ignored', reason: 'duplicate' }
    }
    const key = this.#keyPoint(member)
    if (key === null) {
      return refused('ATTESTATION_MALFORMED', `member ${member}'s committee key is not a G2 key`)
    }
    const point = decodeSignaturePoint(signature)
    if (point === undefined) {
      return refused('ATTESTATION_INVALID', `member ${member}'s signature is not a G1 point`)
    }
    const id = bytesToHex(blockHash)
    const held = entry ?? this.#entry(height)
    const message = this.#message(held, height, id, blockHash)
    const checkNow = !this.#defer || earlier !== undefined
    if (checkNow && !verifyPoints(key, message, point)) {
      // Kept only while a kept partial names them: bounded by the members.
      if (!held.byHash.has(id)) held.messages.delete(id)
      if (held.byMember.size === 0) this.#heights.delete(height)
      return refused(
        'ATTESTATION_INVALID',
        `member ${member}'s signature of block ${height} does not verify`,
      )
    }
    if (earlier !== undefined) {
      if (earlier.checked !== 'alone' && !this.#checkAlone(held, height, member, earlier)) {
        // The kept partial was forged (by whoever relayed it): this valid one takes its place.
        this.#drop(held, member, earlier)
      } else if (equalBytes(earlier.blockHash, blockHash)) {
        return { kind: 'ignored', reason: 'duplicate' }
      } else {
        held.reported.add(member)
        const first = { blockHash: earlier.blockHash, signature: earlier.signature }
        return {
          kind: 'equivocation',
          evidence: { member, height, first, second: { blockHash, signature } },
        }
      }
    }

    const partial: Partial = { blockHash, signature, point, checked: checkNow ? 'alone' : 'no' }
    held.byMember.set(member, partial)
    let partials = held.byHash.get(id)
    if (partials === undefined) {
      partials = new Map()
      held.byHash.set(id, partials)
    }
    partials.set(member, partial)
    if (partials.size < this.#quorum || held.attested.has(id)) {
      return { kind: 'accepted', signers: partials.size }
    }
    const dropped = this.#checkUnchecked(held, height, message, partials)
    if (partials.size < this.#quorum) {
      return { kind: 'accepted', signers: partials.size, dropped }
    }
    held.attested.add(id)
    const signers = [...partials.keys()].sort((a, b) => a - b)
    const attestation: BlockAttestation = {
      height,
      blockHash,
      signers: signerBitfield(signers),
      signature: sumSignatures(signers.map((m) => (partials.get(m) as Partial).point)),
    }
    return { kind: 'attested', attestation }
  }

  /** The block's message on G1, hashed once per height and hash. */
  #message(held: HeightEntry, height: number, id: string, blockHash: Uint8Array): G1Point {
    let message = held.messages.get(id)
    if (message === undefined) {
      message = attestationPoint(height, blockHash, this.#dst)
      held.messages.set(id, message)
    }
    return message
  }

  #checkAlone(held: HeightEntry, height: number, member: Member, partial: Partial): boolean {
    const id = bytesToHex(partial.blockHash)
    const message = this.#message(held, height, id, partial.blockHash)
    const ok = verifyPoints(this.#keyPoint(member) as G2Point, message, partial.point)
    if (ok) partial.checked = 'alone'
    return ok
  }

  #drop(held: HeightEntry, member: Member, partial: Partial): void {
    held.byMember.delete(member)
    const id = bytesToHex(partial.blockHash)
    const partials = held.byHash.get(id)
    partials?.delete(member)
    if (partials?.size === 0) {
      held.byHash.delete(id)
      held.messages.delete(id)
    }
  }

  /**
   * Checks the unchecked partials of one block: their sum against the sum of their keys (one
   * pairing); if that fails, each alone, dropping those that fail. The members dropped.
   */
  #checkUnchecked(
    held: HeightEntry,
    height: number,
    message: G1Point,
    partials: Map<Member, Partial>,
  ): Member[] {
    const unchecked = [...partials].filter(([, p]) => p.checked === 'no')
    if (unchecked.length === 0) return []
    let signature = (unchecked[0] as [Member, Partial])[1].point
    let key = this.#keyPoint((unchecked[0] as [Member, Partial])[0]) as G2Point
    for (const [m, p] of unchecked.slice(1)) {
      signature = signature.add(p.point)
      key = key.add(this.#keyPoint(m) as G2Point)
    }
    if (verifyPoints(key, message, signature)) {
      for (const [, p] of unchecked) p.checked = unchecked.length === 1 ? 'alone' : 'sum'
      return []
    }
    const dropped: Member[] = []
    for (const [m, p] of unchecked) {
      if (!this.#checkAlone(held, height, m, p)) {
        this.#drop(held, m, p)
        dropped.push(m)
      }
    }
    return dropped
  }

  #keyPoint(member: Member): G2Point | null {
    let key = this.#keyPoints[member]
    if (key === undefined) {
      key = decodeKeyPoint(this.#keys[member] as Uint8Array) ?? null
      this.#keyPoints[member] = key
    }
    return key
  }

  /** Forgets heights below `belowHeight` and collects no more of them. */
  prune(belowHeight: number): void {
    if (!Number.isSafeInteger(belowHeight) || belowHeight <= this.#floor) return
    this.#floor = belowHeight
    for (const height of this.#heights.keys()) {
      if (height < belowHeight) this.#heights.delete(height)
    }
  }

  #entry(height: number): HeightEntry {
    const entry: HeightEntry = {
      byMember: new Map(),
      byHash: new Map(),
      messages: new Map(),
      reported: new Set(),
      attested: new Set(),
    }
    this.#heights.set(height, entry)
    return entry
  }
}

function refused(
  code: 'ATTESTATION_MALFORMED' | 'ATTESTATION_INVALID',
  message: string,
): AttestationCollectorResult {
  return { kind: 'refused', error: new ConsensusError(code, message) }
}
