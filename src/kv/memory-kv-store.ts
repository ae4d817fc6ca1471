/**
 * The in-memory `KvStore`: entries sorted by key in chunks (sorted arrays of at most
 * `chunkSize` entries, in key order), found by two binary searches: the chunk by its last key,
 * then the entry. An insert moves at most one chunk's entries (a full chunk splits in two), so
 * n inserts cost O(n log n + n·chunkSize), not the O(n²) of one sorted array spliced.
 *
 * A snapshot or an iteration keeps the chunks it started on; the next write copies the list of
 * chunks and each chunk it changes first (copy on write, per chunk), so readers see one point
 * in time and writers never wait. Pure TypeScript: it runs anywhere, and the IndexedDB store's
 * snapshots are made of the same sorted view.
 */
import {
  boundsOf,
  changeOperation,
  checkKey,
  checkOperations,
  checkValue,
  compareKeys,
  copyBytes,
  type KvBounds,
  type KvCallOptions,
  type KvChange,
  type KvEntry,
  KvError,
  type KvOperation,
  type KvRange,
  type KvSnapshot,
  type KvStore,
  withinBounds,
} from './kv-store.ts'

/** Entries per chunk before it splits in two (the default of MemoryKvStore). */
export const DEFAULT_CHUNK_SIZE = 512

type Chunks = readonly (readonly KvEntry[])[]

/** A position: chunk index and index in that chunk. */
type Cursor = [chunk: number, index: number]

/**
 * The first entry whose key is at or after `key` (after it when not `inclusive`); the chunk
 * index is `chunks.length` when there is none.
 */
function firstFrom(chunks: Chunks, key: Uint8Array, inclusive: boolean): Cursor {
  // Past `key`: compareKeys(entry, key) >= 0 (inclusive) or > 0.
  const past = (entry: KvEntry): boolean => {
    const c = compareKeys(entry.key, key)
    return inclusive ? c >= 0 : c > 0
  }
  let lo = 0
  let hi = chunks.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const chunk = chunks[mid]!
    if (past(chunk[chunk.length - 1]!)) hi = mid
    else lo = mid + 1
  }
  if (lo === chunks.length) return [lo, 0]
  const chunk = chunks[lo]!
  let a = 0
  let b = chunk.length - 1 // its last entry is past `key`
  while (a < b) {
    const mid = (a + b) >>> 1
    if (past(chunk[mid]!)) b = mid
    else a = mid + 1
  }
  return [lo, a]
}

/** The last entry whose key is at or before `key` (before it when not `inclusive`); chunk -1 when none. */
function lastUpTo(chunks: Chunks, key: Uint8Array, inclusive: boolean): Cursor {
  const [c, i] = firstFrom(chunks, key, !inclusive)
  if (i > 0) return [c, i - 1]
  return c > 0 ? [c - 1, chunks[c - 1]!.length - 1] : [-1, 0]
}

/** The entry under `key`, if any. */
function find(chunks: Chunks, key: Uint8Array): KvEntry | undefined {
  const [c, i] = firstFrom(chunks, key, true)
  const e = chunks[c]?.[i]
  return e !== undefined && compareKeys(e.key, key) === 0 ? e : undefined
}

/**
 * Sorted entries that are never changed once shared: reads of a store's snapshot, or of an
 * IndexedDB snapshot's copy.
 */
export class SortedKvView {
  private readonly chunks: Chunks

  constructor(chunks: Chunks) {
    this.chunks = chunks
  }

  /** Builds a view from entries already in key order (as IndexedDB returns them). */
  static fromSorted(entries: readonly KvEntry[]): SortedKvView {
    return new SortedKvView(entries.length === 0 ? [] : [entries])
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const e = find(this.chunks, key)
    return e === undefined ? undefined : copyBytes(e.value)
  }

  *entriesIn(bounds: KvBounds, signal?: AbortSignal): Generator<KvEntry> {
    if (bounds.empty) return
    const chunks = this.chunks
    let [c, i]: Cursor = bounds.reverse
      ? bounds.upper === undefined
        ? [chunks.length - 1, (chunks[chunks.length - 1]?.length ?? 0) - 1]
        : lastUpTo(chunks, bounds.upper.key, bounds.upper.inclusive)
      : bounds.lower === undefined
        ? [0, 0]
        : firstFrom(chunks, bounds.lower.key, bounds.lower.inclusive)
    let n = 0
    while (n < bounds.limit && c >= 0 && c < chunks.length) {
      signal?.throwIfAborted()
      const e = chunks[c]![i]!
      if (!withinBounds(e.key, bounds)) return
      n++
      yield { key: copyBytes(e.key), value: copyBytes(e.value) }
      if (bounds.reverse) {
        if (--i < 0 && --c >= 0) i = chunks[c]!.length - 1
      } else if (++i >= chunks[c]!.length) {
        c++
        i = 0
      }
    }
  }
}

/** A snapshot over a fixed view; `isOpen` says whether its store still is. */
export class ViewSnapshot implements KvSnapshot {
  private closed = false
  private readonly view: SortedKvView
  private readonly storeOpen: () => boolean

  constructor(view: SortedKvView, storeOpen: () => boolean) {
    this.view = view
    this.storeOpen = storeOpen
  }

  private check(): void {
    if (!this.storeOpen()) throw new KvError('KV_CLOSED', 'the key-value store is closed')
    if (this.closed) throw new KvError('KV_SNAPSHOT_CLOSED', 'the snapshot is closed')
  }

  async get(key: Uint8Array, options: KvCallOptions = {}): Promise<Uint8Array | undefined> {
    options.signal?.throwIfAborted()
    this.check()
    checkKey(key)
    return this.view.get(key)
  }

  async *entries(range: KvRange = {}): AsyncGenerator<KvEntry> {
    this.check()
    const bounds = boundsOf(range)
    for (const e of this.view.entriesIn(bounds, range.signal)) {
      this.check()
      yield e
    }
  }

  async close(): Promise<void> {
    this.closed = true
  }
}

export interface MemoryKvStoreOptions {
  /** Entries per chunk before it splits (default DEFAULT_CHUNK_SIZE; at least 2). */
  readonly chunkSize?: number
}

export class MemoryKvStore implements KvStore {
  private readonly chunkSize: number
  private chunks: KvEntry[][] = []
  /** `chunks` (the list) is held by a snapshot or an iteration: copy it before the next write. */
  private shared = false
  /** Chunks this store alone holds (copied since the last view was taken): changed in place. */
  private owned = new Set<KvEntry[]>()
  private closed = false

  constructor(options: MemoryKvStoreOptions = {}) {
    const size = options.chunkSize ?? DEFAULT_CHUNK_SIZE
    if (!Number.isSafeInteger(size) || size < 2) {
      throw new RangeError(`chunkSize is an integer of at least 2, got ${size}`)
    }
    this.chunkSize = size
  }

  private check(): void {
    if (this.closed) throw new KvError('KV_CLOSED', 'the key-value store is closed')
  }

  /** The current entries as a view that later writes will not change. */
  private currentView(): SortedKvView {
    this.shared = true
    // Every chunk is now seen by the view: the next write to one copies it.
    if (this.owned.size > 0) this.owned = new Set()
    return new SortedKvView(this.chunks)
  }

  /** Chunk `c`, safe to change in place (copied first if a view may hold it). */
  private writableChunk(c: number): KvEntry[] {
    if (this.shared) {
      this.chunks = this.chunks.slice()
      this.shared = false
    }
    let chunk = this.chunks[c]!
    if (!this.owned.has(chunk)) {
      chunk = chunk.slice()
      this.chunks[c] = chunk
      this.owned.add(chunk)
    }
    return chunk
  }

  /** Replaces chunk `c` by `parts` (a split, or nothing for an emptied chunk). */
  private replaceChunk(c: number, parts: KvEntry[][]): void {
    if (this.shared) {
      this.chunks = this.chunks.slice()
      this.shared = false
    }
    this.owned.delete(this.chunks[c]!)
    this.chunks.splice(c, 1, ...parts)
    for (const p of parts) this.owned.add(p)
  }

  private apply(op: KvOperation): void {
    let [c, i] = firstFrom(this.chunks, op.key, true)
    const found = c < this.chunks.length && compareKeys(this.chunks[c]![i]!.key, op.key) === 0
    if (op.type === 'put') {
      const entry = { key: copyBytes(op.key), value: copyBytes(op.value) }
      if (this.chunks.length === 0) {
        this.replaceChunk(0, [[entry]])
        return
      }
      if (c === this.chunks.length) {
        // After every key: the end of the last chunk.
        c--
        i = this.chunks[c]!.length
      }
      const chunk = this.writableChunk(c)
      if (found) {
        chunk[i] = entry
        return
      }
      chunk.splice(i, 0, entry)
      if (chunk.length > this.chunkSize) {
        const half = chunk.length >>> 1
        this.replaceChunk(c, [chunk.slice(0, half), chunk.slice(half)])
      }
    } else if (found) {
      const chunk = this.writableChunk(c)
      chunk.splice(i, 1)
      if (chunk.length === 0) this.replaceChunk(c, [])
    }
  }

  async get(key: Uint8Array, options: KvCallOptions = {}): Promise<Uint8Array | undefined> {
    options.signal?.throwIfAborted()
    this.check()
    checkKey(key)
    const e = find(this.chunks, key)
    return e === undefined ? undefined : copyBytes(e.value)
  }

  async *entries(range: KvRange = {}): AsyncGenerator<KvEntry> {
    this.check()
    const bounds = boundsOf(range)
    for (const e of this.currentView().entriesIn(bounds, range.signal)) {
      this.check()
      yield e
    }
  }

  async put(key: Uint8Array, value: Uint8Array, options: KvCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    this.check()
    checkKey(key)
    checkValue(value)
    this.apply({ type: 'put', key, value })
  }

  async delete(key: Uint8Array, options: KvCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    this.check()
    checkKey(key)
    this.apply({ type: 'delete', key })
  }

  async batch(operations: readonly KvOperation[], options: KvCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    this.check()
    // Validated before the first write: a bad operation leaves the store as it was.
    checkOperations(operations)
    for (const op of operations) this.apply(op)
  }

  async update(key: Uint8Array, change: KvChange, options: KvCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    this.check()
    checkKey(key)
    // Read and write in one synchronous step: nothing can come between.
    const e = find(this.chunks, key)
    const op = changeOperation(key, change(e === undefined ? undefined : copyBytes(e.value)))
    if (op !== undefined) this.apply(op)
  }

  async snapshot(options: KvCallOptions = {}): Promise<KvSnapshot> {
    options.signal?.throwIfAborted()
    this.check()
    return new ViewSnapshot(this.currentView(), () => !this.closed)
  }

  async close(): Promise<void> {
    this.closed = true
    this.chunks = []
    this.owned = new Set()
  }
}
