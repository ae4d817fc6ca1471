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
 *   Each member can make the collector verify at most two signatures per height.
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
}

/** One member's signatures of two blocks at one height (each verifies under its key). */
export interface AttestationEquivocation {
  readonly member: Member
  readonly height: number
  readonly first: { readonly blockHash: Uint8Array; readonly signature: Uint8Array }
  readonly second: { readonly blockHash: Uint8Array; readonly signature: Uint8Array }
}

export type AttestationCollectorResult =
  /** Kept; `signers` members have signed this block so far (the attestation may be out). */
  | { readonly kind: 'accepted'; readonly signers: number }
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
}

interface HeightEntry {
  /** Each member's first valid partial. */
  readonly byMember: Map<Member, Partial>
  /** The same partials grouped by block hash (hex). */
  readonly byHash: Map<string, Map<Member, G1Point>>
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
  #floor: number
  readonly #heights = new Map<number, HeightEntry>()

  constructor(options: AttestationCollectorOptions) {
    const { committeeBlsKeys, window = DEFAULT_ATTESTATION_WINDOW, floor = 0 } = options
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
    const earlier = entry?.byMember.get(member)
    // The cheap answers first: a signature check costs a pairing.
    if (entry?.reported.has(member)) return { kind: 'ignored', reason: 'reported' }
    if (earlier !== undefined && equalBytes(earlier.blockHash, blockHash)) {
      return { kind: 'ignored', reason: 'duplicate' }
    }
    const key = this.#keyPoint(member)
    if (key === null) {
      return refused('ATTESTATION_MALFORMED', `member ${member}'s committee key is not a G2 key`)
    }
    const point = decodeSignaturePoint(signature)
    const id = bytesToHex(blockHash)
    const held = entry ?? this.#entry(height)
    let message = held.messages.get(id)
    if (message === undefined) {
      message = attestationPoint(height, blockHash)
      held.messages.set(id, message)
    }
    if (point === undefined || !verifyPoints(key, message, point)) {
      // Kept only for hashes some valid partial names: at most one per member and height.
      if (!held.byHash.has(id)) held.messages.delete(id)
      if (held.byMember.size === 0) this.#heights.delete(height)
      return refused(
        'ATTESTATION_INVALID',
        `member ${member}'s signature of block ${height} does not verify`,
      )
    }
    if (earlier !== undefined) {
      held.reported.add(member)
      const first = { blockHash: earlier.blockHash, signature: earlier.signature }
      return {
        kind: 'equivocation',
        evidence: { member, height, first, second: { blockHash, signature } },
      }
    }

    held.byMember.set(member, { blockHash, signature, point })
    let partials = held.byHash.get(id)
    if (partials === undefined) {
      partials = new Map()
      held.byHash.set(id, partials)
    }
    partials.set(member, point)
    if (partials.size < this.#quorum || held.attested.has(id)) {
      return { kind: 'accepted', signers: partials.size }
    }
    held.attested.add(id)
    const signers = [...partials.keys()].sort((a, b) => a - b)
    const attestation: BlockAttestation = {
      height,
      blockHash,
      signers: signerBitfield(signers),
      signature: sumSignatures(signers.map((m) => partials.get(m) as G1Point)),
    }
    return { kind: 'attested', attestation }
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
