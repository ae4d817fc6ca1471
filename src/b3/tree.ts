/**
 * Building Fleek's blake3-tree over a stream while holding only the tree and the current
 * block. Blocks are hashed lazily: a full block is hashed once the next byte arrives (or at
 * the end), because only then is it known whether it is the single, root-finalised block.
 */

import { blockHash, mergeHashes } from './block.ts'
import { TREE_BLOCK_LEN } from './constants.ts'
import { B3Error } from './errors.ts'

/** A complete tree: what `fulmen tree` prints and what proofs are cut from. */
export interface HashTree {
  /** The BLAKE3 hash of the content: the content id. */
  readonly root: Uint8Array
  /** Content length in bytes. */
  readonly length: number
  /** Number of 256 KiB blocks (1 for empty content). */
  readonly blocks: number
  /** The flat post-order array: `2 * blocks - 1` hashes of 32 bytes, root last. */
  readonly hashes: Uint8Array
}

/**
 * Folds block hashes, delivered in order, into the flat post-order tree. Holds the stack of
 * complete left subtrees (at most log2(blocks) hashes) and the growing array.
 */
export class TreeAssembler {
  private readonly stack: Uint8Array[] = []
  private hashes = new Uint8Array(32 * 64)
  private used = 0
  private count = 0
  private readonly keep: boolean

  /** `keepTree: false` keeps only the stack: a plain streaming hash. */
  constructor(keepTree = true) {
    this.keep = keepTree
  }

  /** Blocks added so far. */
  get blocks(): number {
    return this.count
  }

  private append(h: Uint8Array): void {
    if (!this.keep) return
    if (this.used + 32 > this.hashes.length) {
      const grown = new Uint8Array(this.hashes.length * 2)
      grown.set(this.hashes)
      this.hashes = grown
    }
    this.hashes.set(h, this.used)
    this.used += 32
  }

  /** Adds the chaining value of a block that is known not to be the last one. */
  addBlock(cv: Uint8Array): void {
    this.append(cv)
    let h = cv
    this.count++
    // A completed block closes one subtree per trailing one bit of its index.
    for (let t = this.count; t % 2 === 0; t /= 2) {
      h = mergeHashes(this.stack.pop()!, h, false)
      this.append(h)
    }
    this.stack.push(h)
  }

  /**
   * Adds the last block and returns the tree. `last` is the block's chaining value, or the
   * root hash when it is the only block (see `blockHash`).
   */
  finish(last: Uint8Array, length: number): HashTree {
    this.append(last)
    this.count++
    let h = last
    while (this.stack.length > 0) {
      h = mergeHashes(this.stack.pop()!, h, this.stack.length === 0)
      this.append(h)
    }
    const hashes = this.keep ? this.hashes.slice(0, this.used) : new Uint8Array(0)
    return { root: h, length, blocks: this.count, hashes }
  }
}

/** Incremental tree builder: `update()` with any slicing of the input, then `finalize()`. */
export class TreeBuilder {
  private readonly assembler: TreeAssembler
  private readonly block = new Uint8Array(TREE_BLOCK_LEN)
  private filled = 0
  private length = 0
  private done = false

  constructor(options: { keepTree?: boolean } = {}) {
    this.assembler = new TreeAssembler(options.keepTree ?? true)
  }

  update(data: Uint8Array): this {
    if (this.done) throw new B3Error('B3_AFTER_END', 'update() after finalize()')
    let off = 0
    while (off < data.length) {
      if (this.filled === TREE_BLOCK_LEN) {
        // More input exists, so the buffered block is not the last one.
        this.assembler.addBlock(blockHash(this.block, this.assembler.blocks, false))
        this.filled = 0
      }
      const n = Math.min(TREE_BLOCK_LEN - this.filled, data.length - off)
      this.block.set(data.subarray(off, off + n), this.filled)
      this.filled += n
      off += n
    }
    this.length += data.length
    return this
  }

  finalize(): HashTree {
    if (this.done) throw new B3Error('B3_AFTER_END', 'finalize() called twice')
    this.done = true
    const k = this.assembler.blocks
    const last = blockHash(this.block.subarray(0, this.filled), k, k === 0)
    return this.assembler.finish(last, this.length)
  }
}

/** Progress of a long hashing job: bytes done so far. */
export type ProgressListener = (bytesDone: number) => void

/** Builds the tree of a byte stream. Rejects with the signal's reason when aborted. */
export async function buildTree(
  source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  options: { signal?: AbortSignal; onProgress?: ProgressListener; keepTree?: boolean } = {},
): Promise<HashTree> {
  const builder = new TreeBuilder({ keepTree: options.keepTree ?? true })
  let done = 0
  for await (const chunk of source as AsyncIterable<Uint8Array>) {
    options.signal?.throwIfAborted()
    builder.update(chunk)
    done += chunk.length
    options.onProgress?.(done)
  }
  options.signal?.throwIfAborted()
  return builder.finalize()
}

/** Tree of in-memory content. */
export function treeOf(data: Uint8Array): HashTree {
  return new TreeBuilder().update(data).finalize()
}
