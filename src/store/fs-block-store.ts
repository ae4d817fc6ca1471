/**
 * The block store of a full node: content files on the filesystem, records in LevelDB.
 *
 * Layout under `dir`:
 *
 * - `content/<roothex>`: the raw bytes, so raw serving is a plain file read;
 * - `trees/<roothex>`: the flat post-order hashes (`(2 * blocks - 1) * 32` bytes);
 * - `db/`: LevelDB (classic-level) with `c:<roothex>` → `{length, blocks, pinned, lastAccess}`
 *   and `p:<pointer>` → `<roothex>`;
 * - `tmp/`: imports in progress.
 *
 * Crash safety: `put` streams into `tmp/`, hashing as it goes; both files are fsynced, renamed
 * into place, the directories fsynced, and only then is the record written (synchronously):
 * the record is the commit point. Deleting and evicting remove the record first, then the
 * files. Opening recovers: it empties `tmp/`, deletes files without a record and records whose
 * files are missing or of the wrong size, so a restart finds exactly what was committed.
 *
 * A tree file is checked against itself each time it is loaded (`STORE_CORRUPT` when it does
 * not hold together); content files are checked by readers (checked-store.ts) and the node's
 * scrubber, not here.
 *
 * Everything else is kept in memory once opened (the records, in least-recently-used order,
 * and the byte totals); access times are updated in memory on every read and written to
 * LevelDB in batches.
 */

import { randomBytes } from 'node:crypto'
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { HASH_LEN, TREE_BLOCK_LEN } from '../b3/constants.ts'
import { readySync } from '../b3/engine.ts'
import { blockCount, blockLength, blockStart } from '../b3/geometry.ts'
import { type HashTree, TreeBuilder } from '../b3/tree.ts'
import { treeConsistent } from './block-check.ts'
import {
  type BlockStore,
  type PutOptions,
  type StoredContent,
  StoreError,
  type StoreUsage,
} from './block-store.ts'
import { nextOrAbort, stopSource } from './import-source.ts'
import { closedError, hexOf, notFound } from './store-keys.ts'

/** A log method in pino's shape: a bindings object, then a message. */
export type StoreLogFn = (obj: object, msg?: string) => void

/** The part of a pino logger the store uses (a pino `Logger` fits). */
export interface StoreLogger {
  child(bindings: Record<string, unknown>): StoreLogger
  debug: StoreLogFn
  info: StoreLogFn
  warn: StoreLogFn
  error: StoreLogFn
}

export interface FsBlockStoreOptions {
  /** The store's directory (created if missing). One process at a time: LevelDB locks it. */
  readonly dir: string
  /** Content bytes kept at most (trees not counted); least recently used content is evicted. */
  readonly limitBytes?: number
  readonly logger?: StoreLogger
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
const CONTENT_PREFIX = 'c:'
const CONTENT_END = 'c;'
const POINTER_PREFIX = 'p:'
const POINTER_END = 'p;'
const HEX_ROOT = /^[0-9a-f]{64}$/

/** The mutable in-memory form of a record. */
interface Rec {
  length: number
  blocks: number
  pinned: boolean
  lastAccess: number
}

/** A cached content file handle, shared by concurrent reads and closed when none uses it. */
interface OpenFile {
  readonly handle: Promise<FileHandle>
  refs: number
  lastUse: number
  retired: boolean
}

function rootOf(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

function treeFileSize(blocks: number): number {
  return (2 * blocks - 1) * HASH_LEN
}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined
}

function parseRecord(json: string): Rec | undefined {
  try {
    const r = JSON.parse(json) as Partial<Rec>
    if (
      Number.isSafeInteger(r.length) &&
      (r.length as number) >= 0 &&
      r.blocks === blockCount(r.length as number) &&
      typeof r.pinned === 'boolean' &&
      typeof r.lastAccess === 'number' &&
      Number.isFinite(r.lastAccess)
    ) {
      return {
        length: r.length as number,
        blocks: r.blocks,
        pinned: r.pinned,
        lastAccess: r.lastAccess,
      }
    }
  } catch {
    // Unreadable: treated as missing.
  }
  return undefined
}

function recordJson(rec: Rec): string {
  return JSON.stringify({
    length: rec.length,
    blocks: rec.blocks,
    pinned: rec.pinned,
    lastAccess: rec.lastAccess,
  })
}

async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

async function writeAll(fh: FileHandle, data: Uint8Array): Promise<void> {
  let off = 0
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off)
    off += bytesWritten
  }
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!)
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
}

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
  const dir = resolve(options.dir)
  const paths = {
    content: join(dir, 'content'),
    trees: join(dir, 'trees'),
    tmp: join(dir, 'tmp'),
    db: join(dir, 'db'),
  }
  for (const p of [paths.content, paths.trees, paths.tmp]) await mkdir(p, { recursive: true })
  const log = options.logger?.child({ component: 'store' })

  // The database lock comes first: it keeps a second process from "recovering" our temp files.
  const db = new ClassicLevel<string, string>(paths.db, {
    keyEncoding: 'utf8',
    valueEncoding: 'utf8',
  })
  await db.open()
  try {
    const recovered = await recover(db, paths, log)
    const store = new FsBlockStore(db, paths, limit, recovered, options, log)
    await store.enforceLimit()
    log?.info({ dir, contents: recovered.size, bytes: store.bytes, limit }, 'block store opened')
    return store
  } catch (e) {
    await db.close().catch(() => {})
    throw e
  }
}

interface Paths {
  readonly content: string
  readonly trees: string
  readonly tmp: string
  readonly db: string
}

/** Brings the files and the records back into agreement; returns the records, LRU first. */
async function recover(
  db: ClassicLevel<string, string>,
  paths: Paths,
  log: StoreLogger | undefined,
): Promise<Map<string, Rec>> {
  const tmpEntries = await readdir(paths.tmp)
  for (const name of tmpEntries) {
    await rm(join(paths.tmp, name), { recursive: true, force: true })
  }
  if (tmpEntries.length > 0) log?.info({ count: tmpEntries.length }, 'removed unfinished imports')

  const loaded: [string, Rec][] = []
  const dropKeys: string[] = []
  for await (const [key, value] of db.iterator({ gte: CONTENT_PREFIX, lt: CONTENT_END })) {
    const hex = key.slice(CONTENT_PREFIX.length)
    const rec = parseRecord(value)
    if (rec === undefined || !HEX_ROOT.test(hex)) dropKeys.push(key)
    else loaded.push([hex, rec])
  }

  const contentNames = new Set(await readdir(paths.content))
  const treeNames = new Set(await readdir(paths.trees))
  const valid = new Map<string, Rec>()
  await forEachLimited(loaded, 32, async ([hex, rec]) => {
    let ok = contentNames.has(hex) && treeNames.has(hex)
    if (ok) {
      const [c, t] = await Promise.all([
        stat(join(paths.content, hex)).catch(() => undefined),
        stat(join(paths.trees, hex)).catch(() => undefined),
      ])
      ok =
        c?.isFile() === true &&
        c.size === rec.length &&
        t?.isFile() === true &&
        t.size === treeFileSize(rec.blocks)
    }
    if (ok) valid.set(hex, rec)
    else dropKeys.push(CONTENT_PREFIX + hex)
  })
  if (dropKeys.length > 0) {
    await db.batch(
      dropKeys.map((key) => ({ type: 'del' as const, key })),
      { sync: true },
    )
    log?.warn({ count: dropKeys.length }, 'dropped records of missing or damaged content')
  }

  let strays = 0
  for (const [folder, names] of [
    [paths.content, contentNames],
    [paths.trees, treeNames],
  ] as const) {
    for (const name of names) {
      if (valid.has(name)) continue
      await rm(join(folder, name), { recursive: true, force: true })
      strays++
    }
  }
  if (strays > 0) log?.info({ count: strays }, 'removed files without a record')

  const stalePointers: string[] = []
  for await (const [key, value] of db.iterator({ gte: POINTER_PREFIX, lt: POINTER_END })) {
    if (!valid.has(value)) stalePointers.push(key)
  }
  if (stalePointers.length > 0) {
    await db.batch(stalePointers.map((key) => ({ type: 'del' as const, key })))
  }

  const ordered = [...valid].sort((a, b) => a[1].lastAccess - b[1].lastAccess)
  return new Map(ordered)
}

class FsBlockStore implements BlockStore {
  private readonly db: ClassicLevel<string, string>
  private readonly paths: Paths
  private readonly limit: number
  private readonly log: StoreLogger | undefined
  private readonly hooks: FsBlockStoreOptions['testHooks']
  /** Every stored content, least recently used first. */
  private readonly records: Map<string, Rec>
  bytes = 0
  private pinnedBytes = 0
  /** Strictly increasing access clock: LRU order survives a restart without ties. */
  private clock = 0
  private readonly dirty = new Set<string>()
  private readonly mutex = new Mutex()
  private readonly files = new Map<string, OpenFile>()
  private readonly maxOpenFiles: number
  private readonly handleIdleMs: number
  private readonly treeCache = new Map<string, HashTree>()
  private treeCacheUsed = 0
  private readonly treeCacheBytes: number
  private readonly puts = new Set<Promise<unknown>>()
  private readonly closing = new AbortController()
  private closed = false
  private closePromise: Promise<void> | undefined
  private readonly timers: ReturnType<typeof setInterval>[] = []

  constructor(
    db: ClassicLevel<string, string>,
    paths: Paths,
    limit: number,
    records: Map<string, Rec>,
    options: FsBlockStoreOptions,
    log: StoreLogger | undefined,
  ) {
    this.db = db
    this.paths = paths
    this.limit = limit
    this.records = records
    this.log = log
    this.hooks = options.testHooks
    this.maxOpenFiles = Math.max(1, options.maxOpenFiles ?? 256)
    this.handleIdleMs = options.handleIdleMs ?? 30_000
    this.treeCacheBytes = options.treeCacheBytes ?? 32 * 1024 * 1024
    for (const rec of records.values()) {
      this.bytes += rec.length
      if (rec.pinned) this.pinnedBytes += rec.length
      this.clock = Math.max(this.clock, rec.lastAccess)
    }
    const flush = setInterval(() => {
      this.flushAccess().catch((e: unknown) =>
        this.log?.error({ err: e }, 'writing access times failed'),
      )
    }, options.accessFlushMs ?? 5_000)
    const sweep = setInterval(() => this.sweepFiles(), Math.max(50, this.handleIdleMs / 2))
    flush.unref()
    sweep.unref()
    this.timers.push(flush, sweep)
  }

  // --- helpers ------------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw closedError()
  }

  private now(): number {
    this.clock = Math.max(Date.now(), this.clock + 1)
    return this.clock
  }

  /** Marks `hex` as just used: in memory now, in LevelDB at the next flush. */
  private touch(hex: string): void {
    const rec = this.records.get(hex)
    if (rec === undefined) return
    rec.lastAccess = this.now()
    this.records.delete(hex)
    this.records.set(hex, rec)
    this.dirty.add(hex)
  }

  private contentPath(hex: string): string {
    return join(this.paths.content, hex)
  }

  private treePath(hex: string): string {
    return join(this.paths.trees, hex)
  }

  private toStored(hex: string, rec: Rec): StoredContent {
    return {
      root: rootOf(hex),
      length: rec.length,
      blocks: rec.blocks,
      pinned: rec.pinned,
      lastAccess: rec.lastAccess,
    }
  }

  private async acquire(hex: string): Promise<[OpenFile, FileHandle]> {
    let file = this.files.get(hex)
    if (file === undefined) {
      const handle = open(this.contentPath(hex), 'r')
      handle.catch(() => {})
      file = { handle, refs: 1, lastUse: Date.now(), retired: false }
      this.files.set(hex, file)
      this.trimFiles()
    } else {
      // Most recently used last, so trimming closes the oldest first.
      this.files.delete(hex)
      this.files.set(hex, file)
      file.refs++
      file.lastUse = Date.now()
    }
    try {
      return [file, await file.handle]
    } catch (e) {
      file.refs--
      if (this.files.get(hex) === file) this.files.delete(hex)
      if (errno(e) === 'ENOENT') throw notFound(hex)
      throw e
    }
  }

  private release(file: OpenFile): void {
    file.refs--
    file.lastUse = Date.now()
    if (file.retired && file.refs === 0) this.closeFile(file)
  }

  private closeFile(file: OpenFile): void {
    file.handle.then((fh) => fh.close()).catch(() => {})
  }

  /** Stops caching the handle of `hex`; it closes once its last reader is done. */
  private retireFile(hex: string): void {
    const file = this.files.get(hex)
    if (file === undefined) return
    this.files.delete(hex)
    file.retired = true
    if (file.refs === 0) this.closeFile(file)
  }

  private trimFiles(): void {
    if (this.files.size <= this.maxOpenFiles) return
    for (const [hex, file] of this.files) {
      if (this.files.size <= this.maxOpenFiles) break
      if (file.refs === 0) this.retireFile(hex)
    }
  }

  private sweepFiles(): void {
    const cutoff = Date.now() - this.handleIdleMs
    for (const [hex, file] of this.files) {
      if (file.refs === 0 && file.lastUse <= cutoff) this.retireFile(hex)
    }
  }

  /** Reads exactly `buf.length` bytes at `position` of the content file of `hex`. */
  private async readAt(fh: FileHandle, hex: string, buf: Uint8Array, position: number) {
    let off = 0
    try {
      while (off < buf.length) {
        const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off)
        if (bytesRead === 0) {
          throw new StoreError('STORE_CORRUPT', `content file of ${hex} is shorter than its record`)
        }
        off += bytesRead
      }
    } catch (e) {
      if (this.closed && !(e instanceof StoreError)) throw closedError()
      throw e
    }
  }

  private cacheTree(hex: string, tree: HashTree): void {
    const old = this.treeCache.get(hex)
    if (old !== undefined) {
      this.treeCache.delete(hex)
      this.treeCacheUsed -= old.hashes.length
    }
    if (tree.hashes.length > this.treeCacheBytes) return
    this.treeCache.set(hex, tree)
    this.treeCacheUsed += tree.hashes.length
    for (const [key, t] of this.treeCache) {
      if (this.treeCacheUsed <= this.treeCacheBytes) break
      this.treeCache.delete(key)
      this.treeCacheUsed -= t.hashes.length
    }
  }

  private uncacheTree(hex: string): void {
    const old = this.treeCache.get(hex)
    if (old === undefined) return
    this.treeCache.delete(hex)
    this.treeCacheUsed -= old.hashes.length
  }

  /** Forgets `hex` in memory (record, totals, handle, tree); the caller removes the record. */
  private forget(hex: string, rec: Rec): void {
    this.records.delete(hex)
    this.dirty.delete(hex)
    this.bytes -= rec.length
    if (rec.pinned) this.pinnedBytes -= rec.length
    this.retireFile(hex)
    this.uncacheTree(hex)
  }

  private async removeFiles(hex: string): Promise<void> {
    await rm(this.contentPath(hex), { force: true })
    await rm(this.treePath(hex), { force: true })
  }

  /**
   * Unpinned content to evict, LRU first, so that `need` more bytes fit; undefined if they
   * cannot fit even then (unless `bestEffort`: then as much as can go).
   */
  private victimsFor(need: number, bestEffort = false): [string, Rec][] | undefined {
    if (!bestEffort && this.pinnedBytes + need > this.limit) return undefined
    const victims: [string, Rec][] = []
    let bytes = this.bytes
    for (const entry of this.records) {
      if (bytes + need <= this.limit) break
      if (entry[1].pinned) continue
      victims.push(entry)
      bytes -= entry[1].length
    }
    return victims
  }

  /** After removing their records: forgets and deletes evicted content. */
  private async dropVictims(victims: readonly [string, Rec][], reason: string): Promise<void> {
    for (const [hex, rec] of victims) {
      this.forget(hex, rec)
      await this.removeFiles(hex)
      this.log?.info({ root: hex, length: rec.length, reason }, 'evicted content')
    }
  }

  /** Evicts down to the limit (it may have been lowered since the last run). */
  async enforceLimit(): Promise<void> {
    if (this.bytes <= this.limit) return
    await this.mutex.run(async () => {
      const victims = this.victimsFor(0, true) ?? []
      if (victims.length === 0) return
      await this.db.batch(
        victims.map(([hex]) => ({ type: 'del' as const, key: CONTENT_PREFIX + hex })),
        { sync: true },
      )
      await this.dropVictims(victims, 'over limit at open')
      if (this.bytes > this.limit) {
        this.log?.warn({ bytes: this.bytes, limit: this.limit }, 'pinned content exceeds the limit')
      }
    })
  }

  private async flushAccessNow(): Promise<void> {
    if (this.dirty.size === 0) return
    const ops: { type: 'put'; key: string; value: string }[] = []
    for (const hex of this.dirty) {
      const rec = this.records.get(hex)
      if (rec !== undefined) {
        ops.push({ type: 'put', key: CONTENT_PREFIX + hex, value: recordJson(rec) })
      }
    }
    this.dirty.clear()
    if (ops.length > 0) await this.db.batch(ops)
  }

  private flushAccess(): Promise<void> {
    if (this.closed || this.dirty.size === 0) return Promise.resolve()
    return this.mutex.run(async () => {
      if (!this.closed) await this.flushAccessNow()
    })
  }

  // --- put ----------------------------------------------------------------------------------

  put(source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<HashTree> {
    if (this.closed) return Promise.reject(closedError())
    const task = this.doPut(source, options)
    this.puts.add(task)
    const forget = () => this.puts.delete(task)
    task.then(forget, forget)
    return task
  }

  private async doPut(source: AsyncIterable<Uint8Array>, options: PutOptions): Promise<HashTree> {
    const { expectedRoot, maxBytes, onProgress } = options
    const pin = options.pin === true
    const signal =
      options.signal === undefined
        ? this.closing.signal
        : AbortSignal.any([options.signal, this.closing.signal])
    signal.throwIfAborted()
    const expectedHex = expectedRoot === undefined ? undefined : hexOf(expectedRoot)

    // Already stored: no need to read the source at all.
    if (expectedHex !== undefined && this.records.has(expectedHex)) {
      const known = await this.putKnown(expectedHex, pin, maxBytes)
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
      fh = await open(dataTmp, 'wx')
      const builder = new TreeBuilder()
      const buffer = new Uint8Array(TREE_BLOCK_LEN)
      let filled = 0
      let total = 0
      const it = source[Symbol.asyncIterator]()
      try {
        for (;;) {
          const step = await nextOrAbort(it, signal)
          if (step.done === true) break
          const chunk = step.value
          if (!(chunk instanceof Uint8Array)) throw new TypeError('a put source yields Uint8Arrays')
          total += chunk.length
          if (maxBytes !== undefined && total > maxBytes) {
            throw new StoreError('STORE_TOO_LARGE', `content exceeds maxBytes (${maxBytes})`)
          }
          if (total > this.limit - this.pinnedBytes) {
            throw new StoreError(
              'STORE_FULL',
              `content of more than ${total - chunk.length} bytes does not fit in the store`,
            )
          }
          builder.update(chunk)
          for (let off = 0; off < chunk.length; ) {
            const n = Math.min(TREE_BLOCK_LEN - filled, chunk.length - off)
            buffer.set(chunk.subarray(off, off + n), filled)
            filled += n
            off += n
            if (filled === TREE_BLOCK_LEN) {
              await writeAll(fh, buffer)
              filled = 0
            }
          }
          signal.throwIfAborted()
          onProgress?.(total)
        }
      } catch (e) {
        stopSource(it)
        throw e
      }
      if (filled > 0) await writeAll(fh, buffer.subarray(0, filled))
      signal.throwIfAborted()
      const tree = builder.finalize()
      const hex = hexOf(tree.root)
      if (expectedHex !== undefined && hex !== expectedHex) {
        throw new StoreError(
          'STORE_ROOT_MISMATCH',
          `content hashes to ${hex}, expected ${expectedHex}`,
        )
      }
      await fh.sync()
      await fh.close()
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

  /** `put` of content already stored: refresh (and maybe pin) it and return its tree. */
  private async putKnown(
    hex: string,
    pin: boolean,
    maxBytes: number | undefined,
  ): Promise<HashTree | undefined> {
    const rec = this.records.get(hex)
    if (rec === undefined) return undefined
    if (maxBytes !== undefined && rec.length > maxBytes) {
      throw new StoreError('STORE_TOO_LARGE', `content exceeds maxBytes (${maxBytes})`)
    }
    try {
      if (pin && !rec.pinned) await this.pin(rootOf(hex))
      return await this.getTree(rootOf(hex))
    } catch (e) {
      // Deleted meanwhile: import it after all.
      if (e instanceof StoreError && e.code === 'STORE_NOT_FOUND') return undefined
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
    const existing = this.records.get(hex)
    if (existing !== undefined) {
      // Stored meanwhile (a concurrent put of the same content): keep the first copy.
      await rm(dataTmp, { force: true })
      await rm(treeTmp, { force: true })
      if (pin && !existing.pinned) {
        await this.db.put(CONTENT_PREFIX + hex, recordJson({ ...existing, pinned: true }), {
          sync: true,
        })
        existing.pinned = true
        this.pinnedBytes += existing.length
      }
      this.touch(hex)
      return
    }
    const victims = this.victimsFor(tree.length)
    if (victims === undefined) {
      throw new StoreError(
        'STORE_FULL',
        `${tree.length} bytes do not fit: ${this.pinnedBytes} of ${this.limit} bytes are pinned`,
      )
    }
    const rec: Rec = {
      length: tree.length,
      blocks: tree.blocks,
      pinned: pin,
      lastAccess: this.now(),
    }
    const contentFile = this.contentPath(hex)
    const treeFile = this.treePath(hex)
    try {
      await rename(treeTmp, treeFile)
      await rename(dataTmp, contentFile)
      await syncDir(this.paths.trees)
      await syncDir(this.paths.content)
      await this.hooks?.afterRename?.(hex)
      await this.db.batch(
        [
          ...victims.map(([v]) => ({ type: 'del' as const, key: CONTENT_PREFIX + v })),
          { type: 'put' as const, key: CONTENT_PREFIX + hex, value: recordJson(rec) },
        ],
        { sync: true },
      )
    } catch (e) {
      await rm(contentFile, { force: true }).catch(() => {})
      await rm(treeFile, { force: true }).catch(() => {})
      throw e
    }
    this.records.set(hex, rec)
    this.bytes += rec.length
    if (pin) this.pinnedBytes += rec.length
    this.cacheTree(hex, tree)
    await this.dropVictims(victims, 'lru')
  }

  // --- reads --------------------------------------------------------------------------------

  async stat(root: Uint8Array): Promise<StoredContent | undefined> {
    this.assertOpen()
    const hex = hexOf(root)
    const rec = this.records.get(hex)
    return rec === undefined ? undefined : this.toStored(hex, rec)
  }

  async getTree(root: Uint8Array): Promise<HashTree | undefined> {
    this.assertOpen()
    const hex = hexOf(root)
    const rec = this.records.get(hex)
    if (rec === undefined) return undefined
    this.touch(hex)
    const cached = this.treeCache.get(hex)
    if (cached !== undefined) {
      this.treeCache.delete(hex)
      this.treeCache.set(hex, cached)
      return cached
    }
    let data: Buffer
    try {
      data = await readFile(this.treePath(hex))
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
    if (this.records.get(hex) === rec) this.cacheTree(hex, tree)
    return tree
  }

  async getBlock(root: Uint8Array, k: number, signal?: AbortSignal): Promise<Uint8Array> {
    this.assertOpen()
    const hex = hexOf(root)
    signal?.throwIfAborted()
    const rec = this.records.get(hex)
    if (rec === undefined) throw notFound(hex)
    if (!Number.isSafeInteger(k) || k < 0 || k >= rec.blocks) {
      throw new StoreError(
        'STORE_INVALID_BLOCK',
        `block ${k} does not exist: content ${hex} has ${rec.blocks} block(s)`,
      )
    }
    this.touch(hex)
    const start = blockStart(k)
    const out = new Uint8Array(blockLength(rec.length, k))
    if (out.length === 0) return out
    const [file, fh] = await this.acquire(hex)
    try {
      await this.readAt(fh, hex, out, start)
    } finally {
      this.release(file)
    }
    return out
  }

  async *read(
    root: Uint8Array,
    range?: { start: number; end: number },
    signal?: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    this.assertOpen()
    const hex = hexOf(root)
    signal?.throwIfAborted()
    const rec = this.records.get(hex)
    if (rec === undefined) throw notFound(hex)
    const start = range?.start ?? 0
    const end = range?.end ?? rec.length
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      start < 0 ||
      start > end ||
      end > rec.length
    ) {
      throw new StoreError(
        'STORE_INVALID_RANGE',
        `range [${start}, ${end}) is not within content ${hex} of ${rec.length} bytes`,
      )
    }
    this.touch(hex)
    if (start === end) return
    const [file, fh] = await this.acquire(hex)
    try {
      for (let pos = start; pos < end; ) {
        this.assertOpen()
        signal?.throwIfAborted()
        const chunk = new Uint8Array(Math.min(READ_CHUNK, end - pos))
        await this.readAt(fh, hex, chunk, pos)
        pos += chunk.length
        yield chunk
      }
    } finally {
      this.release(file)
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
    const rec = this.records.get(hex)
    if (rec === undefined) throw notFound(hex)
    const end = position + target.length
    if (!Number.isSafeInteger(position) || position < 0 || end > rec.length) {
      throw new StoreError(
        'STORE_INVALID_RANGE',
        `range [${position}, ${end}) is not within content ${hex} of ${rec.length} bytes`,
      )
    }
    this.touch(hex)
    if (target.length === 0) return
    const [file, fh] = await this.acquire(hex)
    try {
      await this.readAt(fh, hex, target, position)
    } finally {
      this.release(file)
    }
  }

  // --- mutations ----------------------------------------------------------------------------

  private async setPinned(root: Uint8Array, pinned: boolean): Promise<void> {
    this.assertOpen()
    const hex = hexOf(root)
    return this.mutex.run(async () => {
      this.assertOpen()
      const rec = this.records.get(hex)
      if (rec === undefined) throw notFound(hex)
      if (rec.pinned === pinned) return
      await this.db.put(CONTENT_PREFIX + hex, recordJson({ ...rec, pinned }), { sync: true })
      rec.pinned = pinned
      this.pinnedBytes += pinned ? rec.length : -rec.length
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
      const rec = this.records.get(hex)
      if (rec === undefined) return false
      await this.db.del(CONTENT_PREFIX + hex, { sync: true })
      this.forget(hex, rec)
      await this.removeFiles(hex)
      this.log?.debug({ root: hex, length: rec.length }, 'deleted content')
      return true
    })
  }

  async *list(): AsyncGenerator<StoredContent> {
    this.assertOpen()
    for (const [hex, rec] of [...this.records]) {
      if (this.records.get(hex) === rec) yield this.toStored(hex, rec)
    }
  }

  async usage(): Promise<StoreUsage> {
    this.assertOpen()
    return {
      bytes: this.bytes,
      contents: this.records.size,
      pinnedBytes: this.pinnedBytes,
      limit: this.limit,
    }
  }

  async setPointer(pointer: string, root: Uint8Array): Promise<void> {
    this.assertOpen()
    await this.db.put(POINTER_PREFIX + pointer, hexOf(root))
  }

  async getPointer(pointer: string): Promise<Uint8Array | undefined> {
    this.assertOpen()
    const hex = await this.db.get(POINTER_PREFIX + pointer)
    if (hex === undefined || !this.records.has(hex)) return undefined
    return rootOf(hex)
  }

  close(): Promise<void> {
    this.closePromise ??= this.doClose()
    return this.closePromise
  }

  private async doClose(): Promise<void> {
    this.closed = true
    this.closing.abort(closedError())
    for (const t of this.timers) clearInterval(t)
    await Promise.allSettled([...this.puts])
    await this.mutex
      .run(() => this.flushAccessNow())
      .catch((e: unknown) => {
        this.log?.error({ err: e }, 'writing access times failed')
      })
    for (const file of this.files.values()) this.closeFile(file)
    this.files.clear()
    this.treeCache.clear()
    this.treeCacheUsed = 0
    await this.db.close()
    this.log?.info({ contents: this.records.size, bytes: this.bytes }, 'block store closed')
  }
}
