/**
 * Block geometry of Fleek's blake3-tree: where the 256 KiB block boundaries fall in content of
 * `length` bytes. Defined once here; everything above `b3` counts blocks through these.
 * Lengths and offsets are byte counts (safe integers); block indexes start at 0.
 */
import { TREE_BLOCK_LEN } from './constants.ts'
import { B3Error } from './errors.ts'

/** A byte range, `end` exclusive. */
export interface ByteRange {
  readonly start: number
  readonly end: number
}

/** Leaves of the tree over `length` bytes: an empty input is one empty block, so at least 1. */
export function blockCount(length: number): number {
  return Math.max(1, blocksHolding(length))
}

/**
 * Blocks that hold bytes `[0, bytes)`: 0 when there are none, unlike `blockCount` (empty
 * content has no block to store or send). Also the block just past a span ending at `bytes`.
 */
export function blocksHolding(bytes: number): number {
  return Math.ceil(bytes / TREE_BLOCK_LEN)
}

/** The block that holds byte `offset`. */
export function blockIndexOf(offset: number): number {
  return Math.floor(offset / TREE_BLOCK_LEN)
}

/** The offset of block `k`'s first byte. */
export function blockStart(k: number): number {
  return k * TREE_BLOCK_LEN
}

/** Bytes of block `k` of content of `length` bytes: 256 KiB but the last, 0 past the end. */
export function blockLength(length: number, k: number): number {
  return Math.max(0, Math.min(TREE_BLOCK_LEN, length - k * TREE_BLOCK_LEN))
}

/** The blocks holding a byte of `range`: `[first, end)`, empty for an empty range. */
export function blockSpan(range: ByteRange): { first: number; end: number } {
  return { first: blockIndexOf(range.start), end: blocksHolding(range.end) }
}

/** Whether `[start, end)` is an integer byte range within content of `length` bytes. */
export function isRangeWithin(start: number, end: number, length: number): boolean {
  return (
    Number.isSafeInteger(start) &&
    Number.isSafeInteger(end) &&
    start >= 0 &&
    start <= end &&
    end <= length
  )
}

/**
 * The blocks a proof of `range` of content of `length` bytes covers: `[first, end)`. Unlike
 * `blockSpan` never empty: an empty range still proves the content exists, with one block.
 */
export function blocksOfRange(length: number, range: ByteRange): { first: number; end: number } {
  const { start, end } = range
  if (!isRangeWithin(start, end, length)) {
    throw new B3Error('B3_INVALID_ARGUMENT', `range ${start}-${end} is outside 0-${length}`)
  }
  if (start === end) {
    const k = Math.min(blockIndexOf(start), blockCount(length) - 1)
    return { first: k, end: k + 1 }
  }
  return blockSpan(range)
}
