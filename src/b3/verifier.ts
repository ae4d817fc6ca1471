/**
 * The incremental verifier: a state machine fed, in order, a proof and then a block (or its
 * hash) for every block of a span, accepting them only if they hash up to the trusted root.
 *
 * Unlike Lightning's verifier it is told the content length (from the response header), so it
 * knows the tree's shape: it can say exactly which proof is due, reject a proof of the wrong
 * size or shape before hashing, and check every block's length. A header that lies about the
 * length cannot pass either: the root commits to the shape and to the last block's length.
 *
 *   awaiting-proof --feedProof--> awaiting-block --feedBlock--> awaiting-proof | done
 *
 * When the due proof is empty (the next block is already a known leaf), `feedBlock` may be
 * called directly. A rejected proof leaves the verifier unchanged; a rejected block rewinds it
 * to before that block's proof. Either way the next input is block `next`'s proof, so a caller
 * can resume the same position from another source (failover) with the same resume proof.
 */

import { equalBytes } from '../core/bytes.ts'
import { blockHash, mergeHashes } from './block.ts'
import { HASH_LEN } from './constants.ts'
import { B3Error } from './errors.ts'
import { blockCount, blockLength } from './geometry.ts'
import { decodeProof } from './proof.ts'
import { pathSiblings, rootNode, type TreeNode } from './tree-shape.ts'

interface KnownNode {
  readonly node: TreeNode
  readonly hash: Uint8Array
}

export interface VerifierOptions {
  /** Content length in bytes, from the header. */
  readonly length: number
  /** First block of the span (default 0). */
  readonly start?: number
  /** One past the last block of the span (default: every block). */
  readonly end?: number
}

export type VerifierState = 'awaiting-proof' | 'awaiting-block' | 'done'

export class IncrementalVerifier {
  readonly root: Uint8Array
  readonly length: number
  readonly blocks: number
  readonly start: number
  readonly end: number
  private cursor: KnownNode
  // Verified right-hand subtrees still to descend into; the next one on top.
  private readonly pending: KnownNode[] = []
  private nextBlock: number
  private phase: VerifierState = 'awaiting-proof'
  // Where to rewind when a block fails after its proof was accepted.
  private beforeProof: { cursor: KnownNode; pending: number } | undefined

  constructor(root: Uint8Array, options: VerifierOptions) {
    if (root.length !== HASH_LEN)
      throw new B3Error('B3_INVALID_ARGUMENT', `root must be ${HASH_LEN} bytes`)
    const { length } = options
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new B3Error('B3_INVALID_ARGUMENT', `invalid content length ${length}`)
    }
    this.root = root.slice()
    this.length = length
    this.blocks = blockCount(length)
    this.start = options.start ?? 0
    this.end = options.end ?? this.blocks
    if (
      !Number.isSafeInteger(this.start) ||
      !Number.isSafeInteger(this.end) ||
      this.start < 0 ||
      this.end > this.blocks ||
      this.start >= this.end
    ) {
      throw new B3Error(
        'B3_INVALID_ARGUMENT',
        `invalid block span ${this.start}..${this.end} of ${this.blocks}`,
      )
    }
    this.cursor = { node: rootNode(this.blocks), hash: this.root }
    this.nextBlock = this.start
  }

  get state(): VerifierState {
    return this.phase
  }

  /** Whether every block of the span is verified (a method: it changes as input is fed). */
  isDone(): boolean {
    return this.phase === 'done'
  }

  /** The block the next proof or block belongs to. */
  get next(): number {
    return this.nextBlock
  }

  /** Whether the proof due now is empty (the next block's hash is already known). */
  get proofIsEmpty(): boolean {
    return this.phase === 'awaiting-proof' && this.cursor.node.size === 1
  }

  /** Expected byte length of block `k` (past the end, the last block's, as it always was). */
  blockLength(k: number): number {
    return blockLength(this.length, Math.min(k, this.blocks - 1))
  }

  private ensureOpen(what: string): void {
    if (this.phase === 'done') {
      throw new B3Error(
        'B3_AFTER_END',
        `${what} after the last block (${this.end - 1}) was verified`,
      )
    }
  }

  /** Feeds the proof for block `next` (initial for the first block, resume after). */
  feedProof(proof: Uint8Array): void {
    this.ensureOpen('proof')
    const k = this.nextBlock
    if (this.phase !== 'awaiting-proof') {
      throw new B3Error(
        'B3_OUT_OF_ORDER',
        `proof for block ${k} already accepted; its data is due`,
        k,
      )
    }
    const path = pathSiblings(this.cursor.node, k)
    const { hashes, left } = decodeProof(proof)
    const want = path.length === 0 ? 0 : path.length + 1
    if (hashes.length !== want) {
      throw new B3Error(
        'B3_PROOF_LENGTH',
        `proof for block ${k} has ${hashes.length} hashes, ${want} expected`,
        k,
      )
    }
    if (want === 0) {
      this.beforeProof = undefined
      this.phase = 'awaiting-block'
      return
    }
    if (left[0])
      throw new B3Error(
        'B3_PROOF_MISMATCH',
        `proof for block ${k}: target marked as a left sibling`,
        k,
      )
    // Rebuild bottom-up; path is top-down, the proof bottom-up.
    let acc = hashes[0]!
    const isRoot = this.cursor.node.size === this.blocks
    for (let i = 1; i <= path.length; i++) {
      const step = path[path.length - i]!
      const sibling = hashes[i]!
      if (left[i] !== (step.side === 'left')) {
        throw new B3Error(
          'B3_PROOF_MISMATCH',
          `proof for block ${k}: sign bit ${i} does not fit the tree`,
          k,
        )
      }
      const top = i === path.length && isRoot
      acc = step.side === 'left' ? mergeHashes(sibling, acc, top) : mergeHashes(acc, sibling, top)
    }
    if (!equalBytes(acc, this.cursor.hash)) {
      throw new B3Error(
        'B3_PROOF_MISMATCH',
        `proof for block ${k} does not lead to the trusted hash`,
        k,
      )
    }
    // Accepted: remember the right siblings (deepest on top), descend to the leaf.
    this.beforeProof = { cursor: this.cursor, pending: this.pending.length }
    for (let i = 0; i < path.length; i++) {
      const step = path[i]!
      if (step.side === 'right')
        this.pending.push({ node: step.node, hash: hashes[path.length - i]!.slice() })
    }
    this.cursor = { node: { lo: k, size: 1, index: 0 }, hash: hashes[0]!.slice() }
    this.phase = 'awaiting-block'
  }

  private readyForBlock(): number {
    this.ensureOpen('block')
    const k = this.nextBlock
    if (this.phase === 'awaiting-proof') {
      if (this.cursor.node.size !== 1) {
        throw new B3Error('B3_OUT_OF_ORDER', `block ${k} arrived before its proof`, k)
      }
      this.beforeProof = undefined
    }
    return k
  }

  /** Verifies block `next`'s bytes. Returns the block index it verified. */
  feedBlock(data: Uint8Array): number {
    const k = this.readyForBlock()
    const want = this.blockLength(k)
    if (data.length !== want) {
      this.rewind()
      throw new B3Error(
        'B3_BLOCK_LENGTH',
        `block ${k} has ${data.length} bytes, ${want} expected`,
        k,
      )
    }
    return this.accept(k, blockHash(data, k, this.blocks === 1))
  }

  /**
   * Verifies block `next` by its hash: the block's chaining value, or the root hash when the
   * content is a single block (see `blockHash`).
   */
  feedBlockHash(hash: Uint8Array): number {
    return this.accept(this.readyForBlock(), hash)
  }

  /**
   * The source of the current block failed before its bytes arrived (it stalled, closed, or
   * is being dropped): forget the proof it sent so block `next` can come, with its proof,
   * from another source. A no-op when no proof is pending.
   */
  abandonBlock(): void {
    if (this.phase === 'awaiting-block') this.rewind()
  }

  /** Forgets the proof accepted for the current block: its source is not trusted any more. */
  private rewind(): void {
    if (this.beforeProof !== undefined) {
      this.cursor = this.beforeProof.cursor
      this.pending.length = this.beforeProof.pending
      this.beforeProof = undefined
    }
    this.phase = 'awaiting-proof'
  }

  private accept(k: number, hash: Uint8Array): number {
    if (!equalBytes(hash, this.cursor.hash)) {
      this.rewind()
      throw new B3Error('B3_BLOCK_MISMATCH', `block ${k} does not match the tree`, k)
    }
    this.nextBlock++
    this.beforeProof = undefined
    if (this.nextBlock === this.end) {
      this.phase = 'done'
    } else {
      this.cursor = this.pending.pop()!
      this.phase = 'awaiting-proof'
    }
    return k
  }
}
