/**
 * `KvStore`: ordered key-value storage with atomic batches, range iteration and read snapshots,
 * the seam under consensus, state and the DA claim pool. Keys and values are bytes; keys sort
 * by unsigned byte order (shorter first on a common prefix) in every backend: memory
 * (memory-kv-store.ts), LevelDB on Node (level-kv-store.ts), IndexedDB in a page
 * (idb-kv-store.ts). The promises are one suite: testing/kv-store-contract.ts.
 */
import { FulmenError } from '../core/errors.ts'

export type KvErrorCode =
  /** The store (or the snapshot's store) is closed. */
  | 'KV_CLOSED'
  /** The snapshot was closed before this read. */
  | 'KV_SNAPSHOT_CLOSED'
  /** A key that is not a non-empty Uint8Array. */
  | 'KV_INVALID_KEY'
  /** A value that is not a Uint8Array. */
  | 'KV_INVALID_VALUE'
  /** A range with both `gt` and `gte` (or `lt` and `lte`), or a limit that is not a count. */
  | 'KV_INVALID_RANGE'
  /** Another process holds the LevelDB directory's lock. */
  | 'KV_LOCKED'
  /** A stored record is not bytes (another program wrote the database). */
  | 'KV_CORRUPT'

export class KvError extends FulmenError<KvErrorCode> {
  override readonly name = 'KvError'
}

export interface KvEntry {
  readonly key: Uint8Array
  readonly value: Uint8Array
}

export type KvOperation =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'delete'; readonly key: Uint8Array }

/**
 * Which keys an iteration visits: those with `prefix` (when given) and within every bound given;
 * no bound means the whole store.
 */
export interface KvRange {
  readonly prefix?: Uint8Array
  readonly gt?: Uint8Array
  readonly gte?: Uint8Array
  readonly lt?: Uint8Array
  readonly lte?: Uint8Array
  /** Highest key first. */
  readonly reverse?: boolean
  /** At most this many entries (a non-negative integer; absent: all). */
  readonly limit?: number
  readonly signal?: AbortSignal
}

export interface KvCallOptions {
  readonly signal?: AbortSignal
}

/** What a store and a snapshot both read. */
export interface KvReader {
  get(key: Uint8Array, options?: KvCallOptions): Promise<Uint8Array | undefined>
  /**
   * Entries in key order (or reverse). On a store, writes made while the iteration runs may
   * or may not be seen, but no key is yielded twice and order holds; a snapshot never changes.
   */
  entries(range?: KvRange): AsyncIterable<KvEntry>
}

/** What `update` does with a key, given its value (undefined when absent). */
export type KvChange = (current: Uint8Array | undefined) => Uint8Array | null | undefined

/** The write `update` makes of what its change returned, checked. */
export function changeOperation(
  key: Uint8Array,
  result: Uint8Array | null | undefined,
): KvOperation | undefined {
  if (result === undefined) return undefined
  if (result === null) return { type: 'delete', key }
  checkValue(result)
  return { type: 'put', key, value: result }
}

/** A read view fixed at the moment `snapshot()` resolved. Close it when done. */
export interface KvSnapshot extends KvReader {
  close(): Promise<void>
}

export interface KvStore extends KvReader {
  put(key: Uint8Array, value: Uint8Array, options?: KvCallOptions): Promise<void>
  delete(key: Uint8Array, options?: KvCallOptions): Promise<void>
  /** Applies every operation or none, in order (a later one on the same key wins). */
  batch(operations: readonly KvOperation[], options?: KvCallOptions): Promise<void>
  /**
   * Reads `key` and writes what `change` returns, atomically against every other write to the
   * store (in IndexedDB, from any tab): a Uint8Array is put, `null` deletes, `undefined` leaves
   * the key as it is. `change` is synchronous (an IndexedDB transaction cannot outlive an
   * await); if it throws, nothing is written and `update` rejects with its error.
   */
  update(key: Uint8Array, change: KvChange, options?: KvCallOptions): Promise<void>
  snapshot(options?: KvCallOptions): Promise<KvSnapshot>
  /** Idempotent; closes open snapshots; every later call fails with `KV_CLOSED`. */
  close(): Promise<void>
}

// --- shared by the backends ----------------------------------------------------------------

/** Unsigned byte order, shorter first on a common prefix: LevelDB's and IndexedDB's order. */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!
  }
  return a.length - b.length
}

/** The least key above every key with `prefix`, or undefined when there is none (all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1)
      end[i]!++
      return end
    }
  }
  return undefined
}

export function checkKey(key: unknown): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length === 0) {
    throw new KvError('KV_INVALID_KEY', 'a key is a non-empty Uint8Array')
  }
}

export function checkValue(value: unknown): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new KvError('KV_INVALID_VALUE', 'a value is a Uint8Array')
  }
}

export function checkOperations(operations: readonly KvOperation[]): void {
  for (const op of operations) {
    checkKey(op.key)
    if (op.type === 'put') checkValue(op.value)
    else if (op.type !== 'delete') {
      throw new KvError('KV_INVALID_VALUE', `unknown batch operation ${String(op)}`)
    }
  }
}

/** A range reduced to one lower and one upper bound, each inclusive or not. */
export interface KvBounds {
  readonly lower?: { readonly key: Uint8Array; readonly inclusive: boolean }
  readonly upper?: { readonly key: Uint8Array; readonly inclusive: boolean }
  readonly reverse: boolean
  readonly limit: number
  /** The bounds admit no key (the backend need not ask its storage). */
  readonly empty: boolean
}

type Bound = { readonly key: Uint8Array; readonly inclusive: boolean }

function tighterLower(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  const c = compareKeys(a.key, b.key)
  if (c !== 0) return c > 0 ? a : b
  return a.inclusive ? b : a
}

function tighterUpper(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  const c = compareKeys(a.key, b.key)
  if (c !== 0) return c < 0 ? a : b
  return a.inclusive ? b : a
}

/** Validates `range` and folds its prefix and bounds into one lower and one upper bound. */
export function boundsOf(range: KvRange = {}): KvBounds {
  if (range.gt !== undefined && range.gte !== undefined) {
    throw new KvError('KV_INVALID_RANGE', 'a range has gt or gte, not both')
  }
  if (range.lt !== undefined && range.lte !== undefined) {
    throw new KvError('KV_INVALID_RANGE', 'a range has lt or lte, not both')
  }
  const limit = range.limit ?? Number.POSITIVE_INFINITY
  if (!(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit >= 0))) {
    throw new KvError('KV_INVALID_RANGE', `limit ${limit} is not a count`)
  }
  for (const k of [range.prefix, range.gt, range.gte, range.lt, range.lte]) {
    if (k !== undefined && !(k instanceof Uint8Array)) {
      throw new KvError('KV_INVALID_RANGE', 'range bounds are Uint8Arrays')
    }
  }
  let lower: Bound | undefined
  if (range.gt !== undefined) lower = { key: range.gt, inclusive: false }
  if (range.gte !== undefined) lower = { key: range.gte, inclusive: true }
  let upper: Bound | undefined
  if (range.lt !== undefined) upper = { key: range.lt, inclusive: false }
  if (range.lte !== undefined) upper = { key: range.lte, inclusive: true }
  if (range.prefix !== undefined && range.prefix.length > 0) {
    lower = tighterLower(lower, { key: range.prefix, inclusive: true })
    const end = prefixEnd(range.prefix)
    if (end !== undefined) upper = tighterUpper(upper, { key: end, inclusive: false })
  }
  let empty = limit === 0
  if (lower !== undefined && upper !== undefined) {
    const c = compareKeys(lower.key, upper.key)
    if (c > 0 || (c === 0 && !(lower.inclusive && upper.inclusive))) empty = true
  }
  return { lower, upper, reverse: range.reverse === true, limit, empty }
}

/** Whether `key` lies within `bounds` (the limit aside). */
export function withinBounds(key: Uint8Array, bounds: KvBounds): boolean {
  if (bounds.lower !== undefined) {
    const c = compareKeys(key, bounds.lower.key)
    if (c < 0 || (c === 0 && !bounds.lower.inclusive)) return false
  }
  if (bounds.upper !== undefined) {
    const c = compareKeys(key, bounds.upper.key)
    if (c > 0 || (c === 0 && !bounds.upper.inclusive)) return false
  }
  return true
}

/** A private copy of `bytes`: callers may reuse their buffers, and we hand out no shared ones. */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return bytes.slice()
}
