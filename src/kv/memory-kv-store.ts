/**
 * The in-memory `KvStore`: one array of entries sorted by key, binary-searched. A snapshot or
 * an iteration keeps the array it started on; the next write copies it first (copy on write),
 * so readers see one point in time and writers never wait. Pure TypeScript: it runs anywhere,
 * and the IndexedDB store's snapshots are made of the same sorted view.
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

/** Index of `key` in `entries`, or `-(insertion point) - 1` when absent. */
function search(entries: readonly KvEntry[], key: Uint8Array): number {
  let lo = 0
  let hi = entries.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const c = compareKeys(entries[mid]!.key, key)
    if (c === 0) return mid
    if (c < 0) lo = mid + 1
    else hi = mid - 1
  }
  return -lo - 1
}

/** First index at or after the lower bound (forward) or last at or before the upper (reverse). */
function startIndex(entries: readonly KvEntry[], bounds: KvBounds): number {
  if (!bounds.reverse) {
    if (bounds.lower === undefined) return 0
    const i = search(entries, bounds.lower.key)
    return i >= 0 ? (bounds.lower.inclusive ? i : i + 1) : -i - 1
  }
  if (bounds.upper === undefined) return entries.length - 1
  const i = search(entries, bounds.upper.key)
  return i >= 0 ? (bounds.upper.inclusive ? i : i - 1) : -i - 2
}

/**
 * A sorted array of entries that is never changed once shared: reads of a store's snapshot,
 * or of an IndexedDB snapshot's copy.
 */
export class SortedKvView {
  private readonly entries: readonly KvEntry[]

  constructor(entries: readonly KvEntry[]) {
    this.entries = entries
  }

  /** Builds a view from entries already in key order (as IndexedDB returns them). */
  static fromSorted(entries: readonly KvEntry[]): SortedKvView {
    return new SortedKvView(entries)
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const i = search(this.entries, key)
    return i >= 0 ? copyBytes(this.entries[i]!.value) : undefined
  }

  *entriesIn(bounds: KvBounds, signal?: AbortSignal): Generator<KvEntry> {
    if (bounds.empty) return
    const step = bounds.reverse ? -1 : 1
    let n = 0
    for (
      let i = startIndex(this.entries, bounds);
      i >= 0 && i < this.entries.length && n < bounds.limit;
      i += step
    ) {
      signal?.throwIfAborted()
      const e = this.entries[i]!
      if (!withinBounds(e.key, bounds)) return
      n++
      yield { key: copyBytes(e.key), value: copyBytes(e.value) }
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

export class MemoryKvStore implements KvStore {
  private sorted: KvEntry[] = []
  /** `sorted` is held by a snapshot or an iteration: copy before the next write. */
  private shared = false
  private closed = false

  private check(): void {
    if (this.closed) throw new KvError('KV_CLOSED', 'the key-value store is closed')
  }

  /** The current entries as a view that later writes will not change. */
  private currentView(): SortedKvView {
    this.shared = true
    return new SortedKvView(this.sorted)
  }

  private writable(): KvEntry[] {
    if (this.shared) {
      this.sorted = this.sorted.slice()
      this.shared = false
    }
    return this.sorted
  }

  private apply(op: KvOperation): void {
    const entries = this.writable()
    const i = search(entries, op.key)
    if (op.type === 'put') {
      const entry = { key: copyBytes(op.key), value: copyBytes(op.value) }
      if (i >= 0) entries[i] = entry
      else entries.splice(-i - 1, 0, entry)
    } else if (i >= 0) {
      entries.splice(i, 1)
    }
  }

  async get(key: Uint8Array, options: KvCallOptions = {}): Promise<Uint8Array | undefined> {
    options.signal?.throwIfAborted()
    this.check()
    checkKey(key)
    const i = search(this.sorted, key)
    return i >= 0 ? copyBytes(this.sorted[i]!.value) : undefined
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
    const i = search(this.sorted, key)
    const op = changeOperation(key, change(i >= 0 ? copyBytes(this.sorted[i]!.value) : undefined))
    if (op !== undefined) this.apply(op)
  }

  async snapshot(options: KvCallOptions = {}): Promise<KvSnapshot> {
    options.signal?.throwIfAborted()
    this.check()
    return new ViewSnapshot(this.currentView(), () => !this.closed)
  }

  async close(): Promise<void> {
    this.closed = true
    this.sorted = []
  }
}
