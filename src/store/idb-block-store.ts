/**
 * The block store of a browser tab node: IndexedDB (`idb-schema.ts` has the layout). Runs in
 * a window and in workers; no DOM, no Node built-ins.
 *
 * Import (`idb-staging.ts`): the stream is hashed as it arrives and cut into 256 KiB blocks,
 * written a few at a time under a fresh blob id, each batch in its own transaction (a
 * transaction commits by itself as soon as we await the source, so none spans the network).
 * The last blocks, the tree and the record are written in one final transaction (`commit`
 * here), which also evicts what must go: that is the commit point. An import that fails removes its blocks; one cut short by a
 * closed tab leaves them staged, and the next open removes them (`idb-recovery.ts`).
 *
 * The database is the source of truth (other tabs may share it): records are read per call,
 * and every decision that needs the totals (eviction, `STORE_FULL`) is taken inside the
 * transaction that acts on it. Only access times are kept in memory, written in batches.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import type { IDBPDatabase } from 'idb'
import { HASH_LEN } from '../b3/constants.ts'
import { ready } from '../b3/engine.ts'
import { blockIndexOf, blockLength, blockStart } from '../b3/geometry.ts'
import type { HashTree } from '../b3/tree.ts'
import { IdbKvStore } from '../kv/idb-kv-store.ts'
import {
  type BlockStore,
  type PutOptions,
  type StoredContent,
  StoreError,
  type StoreUsage,
} from './block-store.ts'
import { chooseVictims } from './eviction.ts'
import { recover } from './idb-recovery.ts'
import {
  type BlockDb,
  blobRange,
  type ContentRecord,
  inTransaction,
  openBlockDb,
  POINTER_INDEX_STORE,
  treeBytes,
} from './idb-schema.ts'
import { importStaged } from './idb-staging.ts'
import { PutTracker, reuseStored } from './import-pipeline.ts'
import { stopSource } from './import-source.ts'
import { PointerIndex } from './pointer-index.ts'
import { checkBlockIndex, checkRange, closedError, hexOf, notFound } from './store-keys.ts'
import { TreeCache } from './tree-cache.ts'

export interface IdbBlockStoreOptions {
  /** The IndexedDB database (default `fulmen-blocks`). */
  readonly name?: string
  /** Content bytes kept at most (trees not counted); least recently used content is evicted. */
  readonly limitBytes?: number
  /** How often access times are written (default 5 s; always on close). */
  readonly accessFlushMs?: number
}

export const DEFAULT_IDB_STORE_NAME = 'fulmen-blocks'

/** Bytes of trees cached in memory at most. */
const TREE_CACHE_BYTES = 8 * 1024 * 1024

/**
 * The unpinned records to evict, least recently used first, so that `incoming` more bytes
 * fit under `limit`; undefined when even evicting all of them is not enough (unless
 * `bestEffort`: then as many as can go).
 */
function victimsFor(
  records: readonly ContentRecord[],
  lastAccess: (r: ContentRecord) => number,
  limit: number,
  incoming: number,
  bestEffort = false,
): ContentRecord[] | undefined {
  let bytes = 0
  let pinnedBytes = 0
  for (const r of records) {
    bytes += r.length
    if (r.pinned) pinnedBytes += r.length
  }
  const unpinned = records
    .filter((r) => !r.pinned)
    .sort((a, b) => lastAccess(a) - lastAccess(b) || (a.root < b.root ? -1 : 1))
  return chooseVictims(unpinned, (r) => r, { bytes, pinnedBytes }, limit, incoming, bestEffort)
}

/** Opens (and cleans up) the IndexedDB block store. */
export async function openIdbBlockStore(options: IdbBlockStoreOptions = {}): Promise<BlockStore> {
  const name = options.name ?? DEFAULT_IDB_STORE_NAME
  const limit = options.limitBytes ?? Number.POSITIVE_INFINITY
  if (!(typeof limit === 'number' && limit >= 0)) {
    throw new RangeError(`limitBytes must be a non-negative number, got ${limit}`)
  }
  await ready()
  let store: IdbBlockStore | undefined
  const db = await openBlockDb(name, {
    onBlocking: () => void store?.close(),
    onTerminated: () => store?.terminated(),
  })
  try {
    const records = await recover(db, name)
    store = new IdbBlockStore(db, name, limit, records, options.accessFlushMs ?? 5_000)
    await store.enforceLimit()
    await store.prunePointers()
    return store
  } catch (e) {
    db.close()
    throw e
  }
}

class IdbBlockStore implements BlockStore {
  private readonly db: BlockDb
  private readonly name: string
  private readonly limit: number
  /** Access times not yet written: root hex → lastAccess. */
  private readonly pending = new Map<string, number>()
  /** Strictly increasing access clock: LRU order has no ties within this context. */
  private clock = 0
  private readonly trees = new TreeCache({
    maxBytes: TREE_CACHE_BYTES,
    maxEntryBytes: TREE_CACHE_BYTES / 4,
  })
  private readonly puts = new PutTracker()
  private readonly pointers: PointerIndex
  private closed = false
  private closePromise: Promise<void> | undefined
  private readonly timer: ReturnType<typeof setInterval>

  constructor(
    db: BlockDb,
    name: string,
    limit: number,
    records: readonly ContentRecord[],
    flushMs: number,
  ) {
    this.db = db
    this.name = name
    this.limit = limit
    for (const r of records) this.clock = Math.max(this.clock, r.lastAccess)
    // On the block database's own connection: closing the store closes both.
    const kv = new IdbKvStore(db as unknown as IDBPDatabase, POINTER_INDEX_STORE)
    this.pointers = new PointerIndex(kv, {
      isStored: async (root) => (await this.db.count('contents', bytesToHex(root))) > 0,
    })
    this.timer = setInterval(() => void this.flushAccess().catch(() => {}), flushMs)
    // Node (tests with a fake IndexedDB) must not stay alive for this timer.
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  // --- helpers ------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw closedError()
  }

  private now(): number {
    this.clock = Math.max(Date.now(), this.clock + 1)
    return this.clock
  }

  private touch(hex: string): void {
    this.pending.set(hex, this.now())
  }

  private lastAccess(r: ContentRecord): number {
    return Math.max(r.lastAccess, this.pending.get(r.root) ?? 0)
  }

  private toStored(r: ContentRecord): StoredContent {
    return {
      root: hexToBytes(r.root),
      length: r.length,
      blocks: r.blocks,
      pinned: r.pinned,
      lastAccess: this.lastAccess(r),
    }
  }

  private async record(hex: string): Promise<ContentRecord | undefined> {
    return this.db.get('contents', hex)
  }

  private async allRecords(): Promise<ContentRecord[]> {
    return this.db.getAll('contents')
  }

  private forget(hex: string): void {
    this.pending.delete(hex)
    this.trees.delete(hex)
  }

  /** Block `k` of the blob, checked to be exactly as long as the record says. */
  private async loadBlock(r: ContentRecord, k: number): Promise<Uint8Array> {
    this.assertOpen()
    const block = await this.db.get('blocks', [r.blob, k])
    if (block === undefined) throw notFound(r.root) // deleted or evicted meanwhile
    if (block.length !== blockLength(r.length, k)) {
      throw new StoreError('STORE_CORRUPT', `block ${k} of ${r.root} has the wrong size`)
    }
    return block
  }

  /** Evicts (in one transaction) whatever is over the limit; run at open. */
  async enforceLimit(): Promise<void> {
    if (this.limit === Number.POSITIVE_INFINITY) return
    const tx = this.db.transaction(['contents', 'trees', 'blocks'], 'readwrite', {
      durability: 'strict',
    })
    const dropped = await inTransaction(tx, async () => {
      const records = await tx.objectStore('contents').getAll()
      // Pinned content over the limit stays: only unpinned content is ever evicted.
      const all = victimsFor(records, (r) => this.lastAccess(r), this.limit, 0, true) ?? []
      await Promise.all(
        all.flatMap((v) => [
          tx.objectStore('contents').delete(v.root),
          tx.objectStore('trees').delete(v.root),
          tx.objectStore('blocks').delete(blobRange(v.blob)),
        ]),
      )
      return all
    })
    for (const v of dropped) this.forget(v.root)
  }

  private async flushAccessNow(): Promise<void> {
    if (this.pending.size === 0) return
    const touched = [...this.pending]
    const tx = this.db.transaction('contents', 'readwrite')
    await inTransaction(tx, async () => {
      const records = await Promise.all(touched.map(([hex]) => tx.store.get(hex)))
      await Promise.all(
        records.map((r, i) => {
          const t = touched[i]![1]
          return r !== undefined && r.lastAccess < t
            ? tx.store.put({ ...r, lastAccess: t })
            : undefined
        }),
      )
    })
    // Keep touches that happened while writing.
    for (const [hex, t] of touched) if (this.pending.get(hex) === t) this.pending.delete(hex)
  }

  private flushAccess(): Promise<void> {
    return this.closed ? Promise.resolve() : this.flushAccessNow()
  }

  // --- put ----------------------------------------------------------------------------------

  put(source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<HashTree> {
    if (this.closed) return Promise.reject(closedError())
    return this.puts.track(this.doPut(source, options))
  }

  private async doPut(source: AsyncIterable<Uint8Array>, options: PutOptions): Promise<HashTree> {
    const { maxBytes, onProgress } = options
    const { signal, pin, expectedHex } = this.puts.begin(options)
    const it = source[Symbol.asyncIterator]()

    // Already stored: no need to read the source at all.
    if (expectedHex !== undefined) {
      const root = hexToBytes(expectedHex)
      const known = await reuseStored(this, root, await this.record(expectedHex), pin, maxBytes)
      if (known !== undefined) {
        stopSource(it)
        return known
      }
    }

    // Early refusal only; the commit decides with the totals of its own transaction.
    const pinnedBytes = (await this.allRecords())
      .filter((r) => r.pinned)
      .reduce((n, r) => n + r.length, 0)
    return importStaged(
      this.db,
      this.name,
      it,
      {
        limits: { maxBytes, room: () => this.limit - pinnedBytes },
        signal,
        onProgress,
        expectedHex,
        assertOpen: () => this.assertOpen(),
      },
      (staged) => this.commit(staged.blob, staged.tree, staged.start, staged.last, pin),
    )
  }

  /** The commit point: last blocks, tree, record and evictions in one transaction. */
  private async commit(
    blob: string,
    tree: HashTree,
    start: number,
    last: Uint8Array[],
    pin: boolean,
  ): Promise<void> {
    this.assertOpen()
    const hex = bytesToHex(tree.root)
    const tx = this.db.transaction(['contents', 'trees', 'blocks', 'staging'], 'readwrite', {
      durability: 'strict',
    })
    const contents = tx.objectStore('contents')
    const trees = tx.objectStore('trees')
    const blocks = tx.objectStore('blocks')
    const staging = tx.objectStore('staging')
    const victims = await inTransaction(tx, async () => {
      if ((await staging.get(blob)) === undefined) {
        throw new StoreError('STORE_CORRUPT', 'the import was cleaned up by another context')
      }
      await staging.delete(blob)
      const existing = await contents.get(hex)
      if (existing !== undefined) {
        // Stored meanwhile (a concurrent put of the same content): keep the first copy.
        await blocks.delete(blobRange(blob))
        if (pin && !existing.pinned) await contents.put({ ...existing, pinned: true })
        return []
      }
      const victims = victimsFor(
        await contents.getAll(),
        (r) => this.lastAccess(r),
        this.limit,
        tree.length,
      )
      if (victims === undefined) {
        throw new StoreError('STORE_FULL', `${tree.length} bytes do not fit: too much is pinned`)
      }
      const writes: Promise<unknown>[] = []
      for (const v of victims) {
        writes.push(contents.delete(v.root), trees.delete(v.root), blocks.delete(blobRange(v.blob)))
      }
      for (const [i, b] of last.entries()) writes.push(blocks.put(b, [blob, start + i]))
      writes.push(trees.put(tree.hashes, hex))
      writes.push(
        contents.put({
          root: hex,
          length: tree.length,
          blocks: tree.blocks,
          pinned: pin,
          lastAccess: this.now(),
          blob,
        }),
      )
      await Promise.all(writes)
      return victims
    })
    for (const v of victims) this.forget(v.root)
    this.touch(hex)
    this.trees.set(hex, tree)
  }

  // --- reads --------------------------------------------------------------------------------

  async stat(root: Uint8Array): Promise<StoredContent | undefined> {
    this.assertOpen()
    const r = await this.record(hexOf(root))
    return r === undefined ? undefined : this.toStored(r)
  }

  async getTree(root: Uint8Array): Promise<HashTree | undefined> {
    this.assertOpen()
    const hex = hexOf(root)
    const tx = this.db.transaction(['contents', 'trees'])
    const found = await inTransaction(tx, async () => {
      const r = await tx.objectStore('contents').get(hex)
      if (r === undefined) return undefined
      const cached = this.trees.get(hex)
      if (cached !== undefined) return { r, tree: cached }
      const hashes = await tx.objectStore('trees').get(hex)
      return { r, hashes }
    })
    if (found === undefined) return undefined
    this.touch(hex)
    if (found.tree !== undefined) return found.tree
    const { r, hashes } = found
    if (
      hashes === undefined ||
      hashes.length !== treeBytes(r.blocks) ||
      bytesToHex(hashes.subarray(hashes.length - HASH_LEN)) !== hex
    ) {
      throw new StoreError('STORE_CORRUPT', `the tree of ${hex} is damaged`)
    }
    const tree: HashTree = { root: hexToBytes(hex), length: r.length, blocks: r.blocks, hashes }
    this.trees.set(hex, tree)
    return tree
  }

  async getBlock(root: Uint8Array, k: number, signal?: AbortSignal): Promise<Uint8Array> {
    this.assertOpen()
    const hex = hexOf(root)
    signal?.throwIfAborted()
    const r = await this.record(hex)
    if (r === undefined) throw notFound(hex)
    checkBlockIndex(hex, k, r.blocks)
    this.touch(hex)
    return this.loadBlock(r, k)
  }

  /** The record, once the range is checked against it. */
  private async forRange(hex: string, start: number, end: number | undefined) {
    const r = await this.record(hex)
    if (r === undefined) throw notFound(hex)
    const stop = end ?? r.length
    checkRange(hex, start, stop, r.length)
    this.touch(hex)
    return { r, stop }
  }

  async *read(
    root: Uint8Array,
    range?: { start: number; end: number },
    signal?: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    this.assertOpen()
    const hex = hexOf(root)
    signal?.throwIfAborted()
    const start = range?.start ?? 0
    const { r, stop } = await this.forRange(hex, start, range?.end)
    if (start === stop) return
    const first = blockIndexOf(start)
    const last = blockIndexOf(stop - 1)
    // One block read ahead while the consumer handles the current one.
    let next: Promise<Uint8Array> | undefined = this.loadBlock(r, first)
    try {
      for (let k = first; k <= last; k++) {
        const current = next!
        next = k < last ? this.loadBlock(r, k + 1) : undefined
        next?.catch(() => {})
        const block = await current
        signal?.throwIfAborted()
        const base = blockStart(k)
        const from = Math.max(start, base) - base
        const to = Math.min(stop, base + block.length) - base
        yield from === 0 && to === block.length ? block : block.subarray(from, to)
      }
    } finally {
      next?.catch(() => {})
    }
  }

  async readInto(
    root: Uint8Array,
    position: number,
    target: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    this.assertOpen()
    const hex = hexOf(root)
    signal?.throwIfAborted()
    const { r } = await this.forRange(hex, position, position + target.length)
    for (let pos = position; pos < position + target.length; ) {
      signal?.throwIfAborted()
      const k = blockIndexOf(pos)
      const block = await this.loadBlock(r, k)
      const from = pos - blockStart(k)
      const n = Math.min(block.length - from, position + target.length - pos)
      target.set(block.subarray(from, from + n), pos - position)
      pos += n
    }
  }

  // --- mutations ----------------------------------------------------------------------------

  private async setPinned(root: Uint8Array, pinned: boolean): Promise<void> {
    this.assertOpen()
    const hex = hexOf(root)
    const tx = this.db.transaction('contents', 'readwrite', { durability: 'strict' })
    await inTransaction(tx, async () => {
      const r = await tx.store.get(hex)
      if (r === undefined) throw notFound(hex)
      if (r.pinned !== pinned) await tx.store.put({ ...r, pinned })
    })
  }

  pin(root: Uint8Array): Promise<void> {
    return this.setPinned(root, true)
  }

  unpin(root: Uint8Array): Promise<void> {
    return this.setPinned(root, false)
  }

  async delete(root: Uint8Array): Promise<boolean> {
    this.assertOpen()
    const hex = hexOf(root)
    const tx = this.db.transaction(['contents', 'trees', 'blocks'], 'readwrite', {
      durability: 'strict',
    })
    const deleted = await inTransaction(tx, async () => {
      const r = await tx.objectStore('contents').get(hex)
      if (r === undefined) return false
      await Promise.all([
        tx.objectStore('contents').delete(hex),
        tx.objectStore('trees').delete(hex),
        tx.objectStore('blocks').delete(blobRange(r.blob)),
      ])
      return true
    })
    this.forget(hex)
    return deleted
  }

  async *list(): AsyncGenerator<StoredContent> {
    this.assertOpen()
    for (const r of await this.allRecords()) yield this.toStored(r)
  }

  async usage(): Promise<StoreUsage> {
    this.assertOpen()
    let bytes = 0
    let pinnedBytes = 0
    const records = await this.allRecords()
    for (const r of records) {
      bytes += r.length
      if (r.pinned) pinnedBytes += r.length
    }
    return { bytes, contents: records.length, pinnedBytes, limit: this.limit }
  }

  async setPointer(pointer: string, root: Uint8Array): Promise<void> {
    this.assertOpen()
    await this.pointers.set(pointer, root)
  }

  async getPointer(pointer: string): Promise<Uint8Array | undefined> {
    this.assertOpen()
    return this.pointers.get(pointer)
  }

  /** Drops pointers to content no longer stored (at open, after recovery). */
  async prunePointers(): Promise<void> {
    await this.pointers.prune()
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose()
    return this.closePromise
  }

  private async doClose(): Promise<void> {
    this.closed = true
    this.puts.abort(closedError())
    clearInterval(this.timer)
    await this.puts.settled()
    await this.flushAccessNow().catch(() => {})
    this.trees.clear()
    this.db.close()
  }

  /** The browser closed the connection: nothing more can be done. */
  terminated(): void {
    this.closed = true
    this.puts.abort(closedError())
    clearInterval(this.timer)
  }
}
