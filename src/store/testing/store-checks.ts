/** Test support every block-store suite reads with: bytes and listings back, typed failures, trees. */
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js'
import { expect } from 'vitest'
import type { HashTree } from '../../b3/tree.ts'
import { type BlockStore, StoreError, type StoreErrorCode } from '../block-store.ts'

/** Everything `source` yields, in one array (copied: a store may reuse its buffers). */
export async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p.slice())
  return concatBytes(...parts)
}

export async function listAll(store: Pick<BlockStore, 'list'>) {
  const out = []
  for await (const c of store.list()) out.push(c)
  return out
}

/** The `StoreError` `promise` rejects with, checked to have `code`. */
export async function expectCode(
  promise: Promise<unknown>,
  code: StoreErrorCode,
): Promise<StoreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(StoreError)
  expect((err as StoreError).code).toBe(code)
  return err as StoreError
}

export function expectTree(got: HashTree | undefined, want: HashTree): void {
  expect(got).toBeDefined()
  expect(bytesToHex(got!.root)).toBe(bytesToHex(want.root))
  expect(got!.length).toBe(want.length)
  expect(got!.blocks).toBe(want.blocks)
  expect(bytesToHex(got!.hashes)).toBe(bytesToHex(want.hashes))
}
