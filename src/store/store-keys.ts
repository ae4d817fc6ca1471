/** What every block store says the same way: a root's key, and the errors of a missing root or a closed store. */
import { bytesToHex } from '@noble/hashes/utils.js'
import { HASH_LEN } from '../b3/constants.ts'
import { isRangeWithin } from '../b3/geometry.ts'
import { StoreError } from './block-store.ts'

/** A root's key in records and file names; refuses what cannot be a root. */
export function hexOf(root: Uint8Array): string {
  if (!(root instanceof Uint8Array) || root.length !== HASH_LEN) {
    // No content has such a root: not found, as a lookup of any other unknown root.
    throw new StoreError('STORE_NOT_FOUND', `a content root is ${HASH_LEN} bytes`)
  }
  return bytesToHex(root)
}

export function notFound(hex: string): StoreError {
  return new StoreError('STORE_NOT_FOUND', `content ${hex} is not stored`)
}

export function closedError(): StoreError {
  return new StoreError('STORE_CLOSED', 'the block store is closed')
}

/** Refuses (`STORE_INVALID_BLOCK`) a block index that content of `blocks` blocks lacks. */
export function checkBlockIndex(hex: string, k: number, blocks: number): void {
  if (!Number.isSafeInteger(k) || k < 0 || k >= blocks) {
    throw new StoreError(
      'STORE_INVALID_BLOCK',
      `block ${k} does not exist: content ${hex} has ${blocks} block(s)`,
    )
  }
}

/**
 * Refuses (`STORE_INVALID_RANGE`) a byte range `[start, end)` that is not within content of
 * `length` bytes (or is not integers, or has start > end).
 */
export function checkRange(hex: string, start: number, end: number, length: number): void {
  if (!isRangeWithin(start, end, length)) {
    throw new StoreError(
      'STORE_INVALID_RANGE',
      `range [${start}, ${end}) is not within content ${hex} of ${length} bytes`,
    )
  }
}
