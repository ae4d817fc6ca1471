/** What every block store says the same way: a root's key, and the errors of a missing root or a closed store. */
import { bytesToHex } from '@noble/hashes/utils.js'
import { HASH_LEN } from '../b3/constants.ts'
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
