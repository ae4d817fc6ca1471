/**
 * The block store of a full node: content files on the filesystem, records in LevelDB. This
 * file composes the parts, one concern each:
 *
 * - fs-files.ts: the layout under `dir` (`content/<roothex>`, `trees/<roothex>`, `tmp/`,
 *   `db/`), durable writes, the pool of open content files;
 * - fs-records.ts: the records (`c:<roothex>`) and pointers (`p:<pointer>`, pointer-index.ts)
 *   in LevelDB through a `LevelKvStore`;
 * - fs-record-table.ts: the records in memory, in least-recently-used order, with the totals
 *   eviction reads;
 * - fs-recovery.ts: what opening does after a crash;
 * - shared with IndexedDB: import-pipeline.ts (hashing and cutting an import into blocks),
 *   eviction.ts (which content a limit evicts), tree-cache.ts.
 *
 * Crash safety: `put` streams into `tmp/`, hashing as it goes; both files are fsynced, renamed
 * into place, the directories fsynced, and only then is the record written (synchronously):
 * the record is the commit point. Deleting and evicting remove the record first, then the
 * files. Opening recovers, so a restart finds exactly what was committed.
 *
 * A tree file is checked against itself each time it is loaded (`STORE_CORRUPT` when it does
 * not hold together); content files are checked by readers (checked-store.ts) and the node's
 * scrubber, not here.
 *
 * Access times are updated in memory on every read and written to LevelDB in batches.
 */

import { randomBytes } from 'node:crypto'
import { type FileHandle, open, readFile, rename, rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { HASH_LEN } from '../b3/constants.ts'
import { readySync } from '../b3/engine.ts'
import { blockLength, blockStart } from '../b3/geometry.ts'
import type { HashTree } from '../b3/tree.ts'
import type { Logger } from '../core/logger.ts'
import type { LevelKvStore } from '../kv/level-kv-store.ts'
import { treeConsistent } from './block-check.ts'
import {
  type BlockStore,
  type PutOptions,
  type StoredContent,
  StoreError,
  type StoreUsage,
} from './block-store.ts'
import {
  ContentFiles,
  errno,
  type FsPaths,
  makeFsPaths,
  removeContentFiles,
  syncDir,
  treeFileSize,
  writeAll,
} from './fs-files.ts'
import { FsRecordTable } from './fs-record-table.ts'
import {
  deleteRecord,
  encodeRecord,
  type FsRecord,
  openRecordDb,
  putRecord,
  recordKey,
  rootOf,
} from './fs-records.ts'
import { recoverFsStore } from './fs-recovery.ts'
import { ImportPipeline, PutTracker, pumpSource, reuseStored } from './import-pipeline.ts'
import { stopSource } from './import-source.ts'
import { PointerIndex } from './pointer-index.ts'
import { checkBlockIndex, checkRange, closedError, hexOf, notFound } from './store-keys.ts'
import { TreeCache } from './tree-cache.ts'

export interface FsBlockStoreOptions {
  /** The store's directory (created if missing). One process at a time: LevelDB locks it. */
  readonly dir: string
  /** Content bytes kept at most (trees not counted); least recently used content is evicted. */
  readonly limitBytes?: number
  readonly logger?: Logger
  /** How often access times are written to LevelDB (default 5 s; always on close). */
  readonly accessFlushMs?: number
  /** An unused content file handle is closed after this long (default 30 s). */
  readonly handleIdleMs?: number
  /** Content file handles kept open at most (default 256). */
  readonly maxOpenFiles?: number
  /** Bytes of trees cached in memory at most (default 32 MiB). */
  readonly treeCacheBytes?: number
  /**
   * Testing only: called during a commit after the files are renamed into place and before
   * the record is written (a crash here must leave nothing visible).
   */
  readonly testHooks?: {
    readonly afterRename?: (rootHex: string) => void | Promise<void>
  }
}

/** Bytes read from a content file per chunk of `read()`. */
const READ_CHUNK = 1024 * 1024

/** Serialises the store's mutations (commits, deletes, pins, evictions, access flushes). */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve()

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn)
    this.tail = result.catch(() => {})
    return result
  }
}

/** Opens (and recovers) the filesystem block store in `options.dir`. */
export async function openFsBlockStore(options: FsBlockStoreOptions): Promise<BlockStore> {
  readySync()
  const limit = options.limitBytes ?? Number.POSITIVE_INFINITY
  if (!(limit >= 0)) throw new RangeError('limitBytes must be a non-negative number')
  const paths = await makeFsPaths(options.dir)
  const log = options.logger?.child({ component: 'store' })

  // The database lock comes first: it keeps a second process from "recovering" our temp files.
  const kv = await openRecordDb(paths.db)
  try {
    const recovered = await recoverFsStore(kv, paths, log)
    const store = new FsBlockStore(kv, paths, new FsRecordTable(recovered, limit), options, log)
    await store.enforceLimit()
    log?.info(
      { dir: resolve(options.dir), contents: recovered.size, bytes: store.bytes, limit },
      'block store opened',
    )
    return store
  } catch (e) {
    await kv.close().catch(() => {})
    throw e
  }
}

class FsBlockStore implements BlockStore {
  private readonly kv: LevelKvStore
  private readonly paths: FsPaths
  private readonly log: Logger | undefined
  private readonly hooks: FsBlockStoreOptions['testHooks']
  private readonly table: FsRecordTable
  private readonly pointers: PointerIndex
  private readonly mutex = new Mutex()
  private readonly files: ContentFiles
  private readonly trees: TreeCache
  private readonly puts = new PutTracker()
  private closed = false
  private closePromise: Promise<void> | undefined
  private readonly timers: ReturnType<typeof setInterval>[] = []

  constructor(
    kv: LevelKvStore,
    paths: FsPaths,
    table: FsRecordTable,
    options: FsBlockStoreOptions,
    log: Logger | undefined,
  ) {
    this.kv = kv
    this.paths = paths
    this.table = table
    this.log = log
    this.hooks = options.testHooks
    this.pointers = new PointerIndex(kv, { isStored: (root) => table.has(bytesToHex(root)) })
    const handleIdleMs = options.handleIdleMs ?? 30_000
    this.files = new ContentFiles(paths.content, {
      maxOpen: Math.max(1, options.maxOpenFiles ?? 256),
      idleMs: handleIdleMs,
      isClosed: () => this.closed,
    })
    this.trees = new TreeCache({ maxBytes: options.treeCacheBytes ?? 32 * 1024 * 1024 })
    const flush = setInterval(() => {
      this.flushAccess().catch((e: unknown) =>
        this.log?.error({ err: e }, 'writing access times failed'),
      )
    }, options.accessFlushMs ?? 5_000)
    const sweep = setInterval(() => this.files.sweep(), Math.max(50, handleIdleMs / 2))
    flush.unref()
    sweep.unref()
    this.timers.push(flush, sweep)
  }

  get bytes(): number {
    return this.table.bytes
  }

  // --- helpers ------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw closedError()
  }

  private toStored(hex: string, rec: FsRecord): StoredContent {
    return {
      root: rootOf(hex),
      length: rec.length,
      blocks: rec.blocks,
      pinned: rec.pinned,
      lastAccess: rec.lastAccess,
    }
  }

  /** The record of `root` (`STORE_NOT_FOUND` without one), once the store is open and `signal` live. */
  private lookup(root: Uint8Array, signal?: AbortSignal): [string, FsRecord] {
    this.assertOpen()
    const hex = hexOf(root)
    signal?.throwIfAborted()
    const rec = this.table.get(hex)
    if (rec === undefined) throw notFound(hex)
    return [hex, rec]
  }

  /** Forgets `hex` in memory (record, totals, handle, tree); the caller removes the record. */
  private forget(hex: string, rec: FsRecord): void {
    this.table.remove(hex, rec)
    this.files.retire(hex)
    this.trees.delete(hex)
  }

  /** After removing their records: forgets and deletes evicted content. */
  private async dropVictims(victims: readonly [string, FsRecord][], reason: string): Promise<void> {
    for (const [hex, rec] of victims) {
      this.forget(hex, rec)
      await removeContentFiles(this.paths, hex)
      this.log?.info({ root: hex, length: rec.length, reason }, 'evicted content')
    }
  }

  /** Evicts down to the limit (it may have been lowered since the last run). */
  async enforceLimit(): Promise<void> {
    if (this.table.bytes <= this.table.limit) return
    await this.mutex.run(async () => {
      const victims = this.table.victimsFor(0, true) ?? []
      if (victims.length === 0) return
      await this.kv.batch(
        victims.map(([hex]) => deleteRecord(hex)),
        { sync: true },
      )
      await this.dropVictims(victims, 'over limit at open')
      if (this.table.bytes > this.table.limit) {
        this.log?.warn(
          { bytes: this.table.bytes, limit: this.table.limit },
          'pinned content exceeds the limit',
        )
      }
    })
  }

  private async flushAccessNow(): Promise<void> {
    if (!this.table.hasDirty) return
    const ops = this.table.takeDirty().map(([hex, rec]) => putRecord(hex, rec))
    if (ops.length > 0) await this.kv.batch(ops)
  }

  private flushAccess(): Promise<void> {
    if (this.closed || !this.table.hasDirty) return Promise.resolve()
    return this.mutex.run(async () => {
      if (!this.closed) await this.flushAccessNow()
    })
  }

  // --- put ----------------------------------------------------------------------------------

  put(source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<HashTree> {
    if (this.closed) return Promise.reject(closedError())
    return this.puts.track(this.doPut(source, options))
  }

  private async doPut(source: AsyncIterable<Uint8Array>, options: PutOptions): Promise<HashTree> {
    const { maxBytes, onProgress } = options
    const { signal, pin, expectedHex } = this.puts.begin(options)

    // Already stored: no need to read the source at all.
    if (expectedHex !== undefined && this.table.has(expectedHex)) {
      const known = await reuseStored(
        this,
        rootOf(expectedHex),
        this.table.get(expectedHex),
        pin,
        maxBytes,
      )
      if (known !== undefined) {
        stopSource(source[Symbol.asyncIterator]())
        return known
      }
    }

    const started = performance.now()
    const id = randomBytes(12).toString('hex')
    const dataTmp = join(this.paths.tmp, `${id}.data`)
    const treeTmp = join(this.paths.tmp, `${id}.tree`)
    let fh: FileHandle | undefined
    try {
      const data = await open(dataTmp, 'wx')
      fh = data
      const pipeline = new ImportPipeline({
        maxBytes,
        room: () => this.table.limit - this.table.pinnedBytes,
      })
      await pumpSource(
        source[Symbol.asyncIterator](),
        pipeline,
        async (blocks) => {
          for (const block of blocks) await writeAll(data, block)
        },
        { signal, onProgress },
      )
      const { tree, hex, tail } = pipeline.finish(expectedHex)
      if (tail !== undefined) await writeAll(data, tail)
      signal.throwIfAborted()
      await data.sync()
      await data.close()
      fh = undefined
      const tfh = await open(treeTmp, 'wx')
      try {
        await writeAll(tfh, tree.hashes)
        await tfh.sync()
      } finally {
        await tfh.close()
      }
      await this.mutex.run(() => this.commit(hex, tree, dataTmp, treeTmp, pin, signal))
      this.log?.debug(
        { root: hex, length: tree.length, ms: Math.round(performance.now() - started) },
        'put content',
      )
      return tree
    } catch (e) {
      if (fh !== undefined) await fh.close().catch(() => {})
      await rm(dataTmp, { force: true }).catch(() => {})
      await rm(treeTmp, { force: true }).catch(() => {})
      if (e instanceof StoreError && e.code !== 'STORE_CLOSED') {
        this.log?.warn({ code: e.code, err: e.message }, 'put refused')
      }
      throw e
    }
  }

  /** The commit point of a put, under the mutex. */
  private async commit(
    hex: string,
    tree: HashTree,
    dataTmp: string,
    treeTmp: string,
    pin: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    signal.throwIfAborted()
    const existing = this.table.get(hex)
    if (existing !== undefined) {
      // Stored meanwhile (a concurrent put of the same content): keep the first copy.
      await rm(dataTmp, { force: true })
      await rm(treeTmp, { force: true })
      if (pin && !existing.pinned) {
        await this.kv.put(recordKey(hex), encodeRecord({ ...existing, pinned: true }), {
          sync: true,
        })
        this.table.setPinned(existing, true)
      }
      this.table.touch(hex)
      return
    }
    const victims = this.table.victimsFor(tree.length)
    if (victims === undefined) {
      throw new StoreError(
        'STORE_FULL',
        `${tree.length} bytes do not fit: ${this.table.pinnedBytes} of ${this.table.limit} bytes are pinned`,
      )
    }
    const rec: FsRecord = {
      length: tree.length,
      blocks: tree.blocks,
      pinned: pin,
      lastAccess: this.table.now(),
    }
    const contentFile = join(this.paths.content, hex)
    const treeFile = join(this.paths.trees, hex)
    try {
      await rename(treeTmp, treeFile)
      await rename(dataTmp, contentFile)
      await syncDir(this.paths.trees)
      await syncDir(this.paths.content)
      await this.hooks?.afterRename?.(hex)
      await this.kv.batch([...victims.map(([v]) => deleteRecord(v)), putRecord(hex, rec)], {
        sync: true,
      })
    } catch (e) {
      await rm(contentFile, { force: true }).catch(() => {})
      await rm(treeFile, { force: true }).catch(() => {})
      throw e
    }
    this.table.add(hex, rec)
    this.trees.set(hex, tree)
    await this.dropVictims(victims, 'lru')
  }

  // --- reads --------------------------------------------------------------------------------

  async stat(root: Uint8Array): Promise<StoredContent | undefined> {
    this.assertOpen()
    const hex = hexOf(root)
    const rec = this.table.get(hex)
    return rec === undefined ? undefined : this.toStored(hex, rec)
  }

  async getTree(root: Uint8Array): Promise<HashTree | undefined> {
    this.assertOpen()
    const hex = hexOf(root)
    const rec = this.table.get(hex)
    if (rec === undefined) return undefined
    this.table.touch(hex)
    const cached = this.trees.get(hex)
    if (cached !== undefined) return cached
    let data: Buffer
    try {
      data = await readFile(join(this.paths.trees, hex))
    } catch (e) {
      if (errno(e) === 'ENOENT') return undefined // deleted meanwhile
      throw e
    }
    const hashes = new Uint8Array(data)
    const want = treeFileSize(rec.blocks)
    if (hashes.length !== want || hexOf(hashes.subarray(hashes.length - HASH_LEN)) !== hex) {
      throw new StoreError('STORE_CORRUPT', `tree file of ${hex} is damaged`)
    }
    const tree: HashTree = { root: rootOf(hex), length: rec.length, blocks: rec.blocks, hashes }
    // Checked once per load (blocks − 1 merges): a damaged inner hash would make bad proofs.
    if (!treeConsistent(tree)) {
      throw new StoreError('STORE_CORRUPT', `tree file of ${hex} is damaged`)
    }
    if (this.table.get(hex) === rec) this.trees.set(hex, tree)
    return tree
  }

  async getBlock(root: Uint8Array, k: number, signal?: AbortSignal): Promise<Uint8Array> {
    const [hex, rec] = this.lookup(root, signal)
    checkBlockIndex(hex, k, rec.blocks)
    this.table.touch(hex)
    const start = blockStart(k)
    const out = new Uint8Array(blockLength(rec.length, k))
    if (out.length === 0) return out
    await this.files.read(hex, out, start)
    return out
  }

  async *read(
    root: Uint8Array,
    range?: { start: number; end: number },
    signal?: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    const [hex, rec] = this.lookup(root, signal)
    const start = range?.start ?? 0
    const end = range?.end ?? rec.length
    checkRange(hex, start, end, rec.length)
    this.table.touch(hex)
    if (start === end) return
    const [file, fh] = await this.files.acquire(hex)
    try {
      for (let pos = start; pos < end; ) {
        this.assertOpen()
        signal?.throwIfAborted()
        const chunk = new Uint8Array(Math.min(READ_CHUNK, end - pos))
        await this.files.readAt(fh, hex, chunk, pos)
        pos += chunk.length
        yield chunk
      }
    } finally {
      this.files.release(file)
    }
  }

  async readInto(
    root: Uint8Array,
    position: number,
    target: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    const [hex, rec] = this.lookup(root, signal)
    checkRange(hex, position, position + target.length, rec.length)
    this.table.touch(hex)
    if (target.length === 0) return
    await this.files.read(hex, target, position)
  }

  // --- mutations ----------------------------------------------------------------------------

  private async setPinned(root: Uint8Array, pinned: boolean): Promise<void> {
    this.assertOpen()
    const hex = hexOf(root)
    return this.mutex.run(async () => {
      this.assertOpen()
      const rec = this.table.get(hex)
      if (rec === undefined) throw notFound(hex)
      if (rec.pinned === pinned) return
      await this.kv.put(recordKey(hex), encodeRecord({ ...rec, pinned }), { sync: true })
      this.table.setPinned(rec, pinned)
      this.log?.debug({ root: hex, pinned }, pinned ? 'pinned content' : 'unpinned content')
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
    return this.mutex.run(async () => {
      this.assertOpen()
      const rec = this.table.get(hex)
      if (rec === undefined) return false
      await this.kv.delete(recordKey(hex), { sync: true })
      this.forget(hex, rec)
      await removeContentFiles(this.paths, hex)
      this.log?.debug({ root: hex, length: rec.length }, 'deleted content')
      return true
    })
  }

  async *list(): AsyncGenerator<StoredContent> {
    this.assertOpen()
    for (const [hex, rec] of this.table.entries()) {
      if (this.table.get(hex) === rec) yield this.toStored(hex, rec)
    }
  }

  async usage(): Promise<StoreUsage> {
    this.assertOpen()
    return this.table.usage()
  }

  async setPointer(pointer: string, root: Uint8Array): Promise<void> {
    this.assertOpen()
    await this.pointers.set(pointer, root)
  }

  async getPointer(pointer: string): Promise<Uint8Array | undefined> {
    this.assertOpen()
    return this.pointers.get(pointer)
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose()
    return this.closePromise
  }

  private async doClose(): Promise<void> {
    this.closed = true
    this.puts.abort(closedError())
    for (const t of this.timers) clearInterval(t)
    await this.puts.settled()
    await this.mutex
      .run(() => this.flushAccessNow())
      .catch((e: unknown) => {
        this.log?.error({ err: e }, 'writing access times failed')
      })
    this.files.closeAll()
    this.trees.clear()
    await this.kv.close()
    this.log?.info({ contents: this.table.size, bytes: this.table.bytes }, 'block store closed')
  }
}
