/**
 * The shape of the state's authenticated map, and its root computed from entries alone.
 *
 * A binary sparse Merkle tree over 256-bit key paths, compacted: a subtree with no entry is the
 * empty hash (32 zero bytes), a subtree with exactly one entry is that entry's leaf (at the
 * shallowest depth where it is alone, as in Diem's JMT), and only a subtree with two or more
 * entries is an internal node. The shape depends on the set of entries only, never on the
 * order they came in, so every node computes the same root.
 */
import {
  checkBytes,
  EMPTY_HASH,
  keyPath,
  leafHash,
  nodeHash,
  pathBit,
  valueHash,
} from './state-hash.ts'

/** An entry of the map as the tree sees it: its path and its value. */
export interface PathEntry {
  readonly path: Uint8Array
  readonly value: Uint8Array
}

export interface StateEntry {
  readonly table: string
  readonly key: Uint8Array
  readonly value: Uint8Array
}

/** Unsigned byte order of two paths (equal length). */
export function comparePaths(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return 0
}

/** Index of the first of `sorted[lo..hi)` whose bit `depth` is 1 (they are sorted by path). */
export function splitAt<T extends { readonly path: Uint8Array }>(
  sorted: readonly T[],
  lo: number,
  hi: number,
  depth: number,
): number {
  let a = lo
  let b = hi
  while (a < b) {
    const mid = (a + b) >> 1
    if (pathBit(sorted[mid]!.path, depth) === 0) a = mid + 1
    else b = mid
  }
  return a
}

function rootOf(sorted: readonly PathEntry[], lo: number, hi: number, depth: number): Uint8Array {
  if (hi === lo) return EMPTY_HASH
  if (hi - lo === 1) return leafHash(sorted[lo]!.path, valueHash(sorted[lo]!.value))
  const mid = splitAt(sorted, lo, hi, depth)
  return nodeHash(rootOf(sorted, lo, mid, depth + 1), rootOf(sorted, mid, hi, depth + 1))
}

/**
 * The root of the map holding exactly `entries` (a later entry for the same table and key wins),
 * computed in memory: a genesis root, or a check of a stored tree.
 */
export function stateRootOf(entries: Iterable<StateEntry>): Uint8Array {
  const byPath = new Map<string, PathEntry>()
  for (const e of entries) {
    checkBytes('a value', e.value)
    const path = keyPath(e.table, e.key)
    byPath.set(String.fromCharCode(...path), { path, value: e.value })
  }
  const sorted = [...byPath.values()].sort((a, b) => comparePaths(a.path, b.path))
  return rootOf(sorted, 0, sorted.length, 0)
}
