/**
 * The IndexedDB `KvStore`, for pages and workers. Keys are IndexedDB binary keys (a Uint8Array
 * key is stored as its bytes and compared by unsigned byte order, as LevelDB does); values are
 * Uint8Arrays. A write or a batch is one readwrite transaction: all or nothing, also against
 * other tabs on the same database.
 *
 * Snapshots. An IndexedDB transaction commits as soon as a task ends with no request pending,
 * so a transaction cannot stay open across the caller's awaits; keeping one alive with dummy
 * requests would hold readwrite transactions back (they wait for earlier overlapping ones),
 * which breaks "writes go on". Versioning every key (MVCC) would need pins shared by every tab
 * and garbage collection. So a snapshot reads the whole store in one readonly transaction
 * (getAllKeys and getAll, which see the same state) and answers from that sorted copy: one
 * consistent point in time, sound against writers in any tab, at the cost of memory linear in
 * the store. Fit for the small stores this runs on in a tab (claim pools, indexes); a large
 * store should iterate with `entries()` instead.
 *
 * `entries()` on the store reads pages of entries, each in its own transaction, and resumes
 * after the last key it yielded: order holds and no key repeats, but pages may see different
 * moments.
 */
import { type IDBPDatabase, openDB } from 'idb'
import {
  boundsOf,
  changeOperation,
  checkKey,
  checkOperations,
  checkValue,
  type KvBounds,
  type KvCallOptions,
  type KvChange,
  type KvEntry,
  KvError,
  type KvOperation,
  type KvRange,
  type KvSnapshot,
  type KvStore,
} from './kv-store.ts'
import { SortedKvView, ViewSnapshot } from './memory-kv-store.ts'

const STORE = 'entries'
/** Entries one iteration reads per transaction. */
const PAGE = 256

export interface IdbKvStoreOptions {
  /** The database's name. */
  readonly name: string
}

function keyRange(bounds: KvBounds): IDBKeyRange | undefined {
  const { lower, upper } = bounds
  if (lower !== undefined && upper !== undefined) {
    return IDBKeyRange.bound(lower.key, upper.key, !lower.inclusive, !upper.inclusive)
  }
  if (lower !== undefined) return IDBKeyRange.lowerBound(lower.key, !lower.inclusive)
  if (upper !== undefined) return IDBKeyRange.upperBound(upper.key, !upper.inclusive)
  return undefined
}

/** `key` as an IndexedDB binary key (IndexedDB copies the bytes; a shared buffer is copied first). */
function idbKey(key: Uint8Array): Uint8Array<ArrayBuffer> {
  return key.buffer instanceof ArrayBuffer ? (key as Uint8Array<ArrayBuffer>) : key.slice()
}

/** A key as IndexedDB returns it (an ArrayBuffer for a binary key). */
function keyBytes(key: IDBValidKey): Uint8Array {
  if (key instanceof ArrayBuffer) return new Uint8Array(key)
  if (ArrayBuffer.isView(key)) return new Uint8Array(key.buffer, key.byteOffset, key.byteLength)
  throw new KvError('KV_CORRUPT', `a stored key is not bytes: ${String(key)}`)
}

function valueBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value
  throw new KvError('KV_CORRUPT', 'a stored value is not a Uint8Array')
}

/** The bytes of `value` alone: structured clone of a view would store its whole buffer. */
function ownBytes(value: Uint8Array): Uint8Array {
  return value.byteOffset === 0 && value.byteLength === value.buffer.byteLength
    ? value
    : value.slice()
}

export async function openIdbKvStore(options: IdbKvStoreOptions): Promise<IdbKvStore> {
  // Whatever version the database is at: one made by older code (the tab's DA pool kept its
  // own object store) gains ours in the next version, and keeps what it had.
  let db = await openDB(options.name)
  if (!db.objectStoreNames.contains(STORE)) {
    const version = db.version + 1
    db.close()
    db = await openDB(options.name, version, {
      upgrade(d) {
        if (!d.objectStoreNames.contains(STORE)) d.createObjectStore(STORE)
      },
    })
  }
  return new IdbKvStore(db)
}

export class IdbKvStore implements KvStore {
  private closed = false
  private readonly db: IDBPDatabase
  /** The object store the entries live in (another database's schema may hold it). */
  private readonly store: string

  /**
   * Over `db`'s object store `store` (default `entries`); it must exist and take binary keys
   * out of line. Closing the KvStore closes `db`.
   */
  constructor(db: IDBPDatabase, store: string = STORE) {
    this.db = db
    this.store = store
    // Another context deleting or upgrading the database: let it, and refuse further calls.
    db.addEventListener('versionchange', () => {
      void this.close()
    })
  }

  private check(): void {
    if (this.closed) throw new KvError('KV_CLOSED', 'the key-value store is closed')
  }

  async get(key: Uint8Array, options: KvCallOptions = {}): Promise<Uint8Array | undefined> {
    options.signal?.throwIfAborted()
    this.check()
    checkKey(key)
    const value: unknown = await this.db.get(this.store, idbKey(key))
    return value === undefined ? undefined : valueBytes(value)
  }

  /** One page: up to `PAGE` entries within `bounds`, read in one transaction. */
  private async page(bounds: KvBounds, count: number): Promise<KvEntry[]> {
    const tx = this.db.transaction(this.store, 'readonly')
    const range = keyRange(bounds)
    const out: KvEntry[] = []
    if (!bounds.reverse) {
      const [keys, values] = await Promise.all([
        tx.store.getAllKeys(range, count),
        tx.store.getAll(range, count),
      ])
      for (let i = 0; i < keys.length; i++) {
        out.push({ key: keyBytes(keys[i]!), value: valueBytes(values[i]) })
      }
    } else {
      let cursor = await tx.store.openCursor(range, 'prev')
      while (cursor !== null && out.length < count) {
        out.push({ key: keyBytes(cursor.key), value: valueBytes(cursor.value) })
        if (out.length < count) cursor = await cursor.continue()
      }
    }
    await tx.done
    return out
  }

  async *entries(range: KvRange = {}): AsyncGenerator<KvEntry> {
    this.check()
    let bounds = boundsOf(range)
    if (bounds.empty) return
    let left = bounds.limit
    while (left > 0) {
      range.signal?.throwIfAborted()
      this.check()
      const page = await this.page(bounds, Math.min(PAGE, left))
      for (const e of page) {
        range.signal?.throwIfAborted()
        this.check()
        yield e
      }
      left -= page.length
      if (page.length < PAGE) return
      // The next page starts after the last key yielded.
      const last = { key: page.at(-1)!.key, inclusive: false }
      bounds = bounds.reverse ? { ...bounds, upper: last } : { ...bounds, lower: last }
    }
  }

  private async write(operations: readonly KvOperation[]): Promise<void> {
    const tx = this.db.transaction(this.store, 'readwrite')
    try {
      for (const op of operations) {
        // Not awaited one by one: the transaction orders its requests, tx.done reports them.
        if (op.type === 'put') void tx.store.put(ownBytes(op.value), idbKey(op.key)).catch(() => {})
        else void tx.store.delete(idbKey(op.key)).catch(() => {})
      }
    } catch (e) {
      // A request refused on the spot: abort, or the ones before it would commit alone.
      tx.abort()
      await tx.done.catch(() => {})
      throw e
    }
    await tx.done
  }

  async put(key: Uint8Array, value: Uint8Array, options: KvCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    this.check()
    checkKey(key)
    checkValue(value)
    await this.write([{ type: 'put', key, value }])
  }

  async delete(key: Uint8Array, options: KvCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    this.check()
    checkKey(key)
    await this.write([{ type: 'delete', key }])
  }

  async batch(operations: readonly KvOperation[], options: KvCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    this.check()
    checkOperations(operations)
    if (operations.length > 0) await this.write(operations)
  }

  async update(key: Uint8Array, change: KvChange, options: KvCallOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    this.check()
    checkKey(key)
    // One readwrite transaction: no other write, from this tab or another, comes between.
    const tx = this.db.transaction(this.store, 'readwrite')
    let op: KvOperation | undefined
    try {
      const current: unknown = await tx.store.get(idbKey(key))
      op = changeOperation(key, change(current === undefined ? undefined : valueBytes(current)))
      if (op?.type === 'put') void tx.store.put(ownBytes(op.value), idbKey(key)).catch(() => {})
      else if (op?.type === 'delete') void tx.store.delete(idbKey(key)).catch(() => {})
    } catch (e) {
      tx.abort()
      await tx.done.catch(() => {})
      throw e
    }
    await tx.done
  }

  async snapshot(options: KvCallOptions = {}): Promise<KvSnapshot> {
    options.signal?.throwIfAborted()
    this.check()
    const tx = this.db.transaction(this.store, 'readonly')
    const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()])
    await tx.done
    const entries = keys.map((k, i) => ({ key: keyBytes(k), value: valueBytes(values[i]) }))
    return new ViewSnapshot(SortedKvView.fromSorted(entries), () => !this.closed)
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.db.close()
  }
}
