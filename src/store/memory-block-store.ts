/**
 * A `BlockStore` in memory: the reference implementation of the interface (isomorphic, no
 * Node built-ins) and the store of tests. It does everything the interface promises, only
 * not durably: content is hashed with `TreeBuilder` while it streams in, becomes visible only
 * once the stream completed and matched (`expectedRoot`), and an optional size limit evicts
 * unpinned content, least recently used first.
 *
 * Access times: `put`, `getTree`, `getBlock` and `read` refresh them; `stat` and `list` do
 * not. `setPointer` does not check the root (like the filesystem store); `getPointer` answers
 * only while the content is stored, and drops the entry when it is not (pointer-index.ts).
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { blockIndexOf, blockStart } from '../b3/geometry.ts'
import { type HashTree, TreeBuilder } from '../b3/tree.ts'
import { equalBytes } from '../core/bytes.ts'
import { MemoryKvStore } from '../kv/memory-kv-store.ts'
import {
  type BlockStore,
  type PutOptions,
  type StoredContent,
  StoreError,
  type StoreUsage,
} from './block-store.ts'
import { nextOrAbort, stopSource } from './import-source.ts'
import { PointerIndex } from './pointer-index.ts'
import { checkBlockIndex, checkRange } from './store-keys.ts'

export interface MemoryBlockStoreOptions {
  /** Bytes of content the store may hold (`Infinity` by default). */
  readonly limitBytes?: number
  /** The clock behind `lastAccess` (`Date.now` by default). */
  readonly now?: () => number
}

interface Entry {
  readonly tree: HashTree
  readonly data: Uint8Array
  pinned: boolean
  lastAccess: number
  /** Order of the last access: breaks `lastAccess` ties for LRU eviction. */
  seq: number
}

function keyOf(root: Uint8Array): string {
  if (!(root instanceof Uint8Array) || root.length !== 32) {
    throw new StoreError('STORE_NOT_FOUND', `a root is 32 bytes, got ${root?.length}`)
  }
  return bytesToHex(root)
}

function copyTree(tree: HashTree): HashTree {
  return {
    root: tree.root.slice(),
    length: tree.length,
    blocks: tree.blocks,
    hashes: tree.hashes.slice(),
  }
}

export class MemoryBlockStore implements BlockStore {
  private readonly entries = new Map<string, Entry>()
  private readonly pointers = new PointerIndex(new MemoryKvStore(), {
    isStored: (root) => this.entries.has(bytesToHex(root)),
    dropStaleOnRead: true,
  })
  private readonly limit: number
  private readonly now: () => number
  private seq = 0
  private closed = false

  constructor(options: MemoryBlockStoreOptions = {}) {
    const limit = options.limitBytes ?? Number.POSITIVE_INFINITY
    if (!(typeof limit === 'number' && limit >= 0)) {
      throw new RangeError(`limitBytes must be a non-negative number, got ${limit}`)
    }
    this.limit = limit
    this.now = options.now ?? Date.now
  }

  private open(): void {
    if (this.closed) throw new StoreError('STORE_CLOSED', 'the store is closed')
  }

  private touch(entry: Entry): void {
    entry.lastAccess = this.now()
    entry.seq = ++this.seq
  }

  private entry(root: Uint8Array): Entry {
    const entry = this.entries.get(keyOf(root))
    if (entry === undefined)
      throw new StoreError('STORE_NOT_FOUND', `${bytesToHex(root)} is not stored`)
    return entry
  }

  private bytesHeld(): { bytes: number; pinnedBytes: number } {
    let bytes = 0
    let pinnedBytes = 0
    for (const e of this.entries.values()) {
      bytes += e.tree.length
      if (e.pinned) pinnedBytes += e.tree.length
    }
    return { bytes, pinnedBytes }
  }

  async put(source: AsyncIterable<Uint8Array>, options: PutOptions = {}): Promise<HashTree> {
    this.open()
    const { expectedRoot, maxBytes = Number.POSITIVE_INFINITY, signal } = options
    signal?.throwIfAborted()
    const iterator = source[Symbol.asyncIterator]()
    if (expectedRoot !== undefined) {
      // Already stored: the source is not read at all.
      const known = this.entries.get(keyOf(expectedRoot))
      if (known !== undefined) {
        stopSource(iterator)
        if (known.tree.length > maxBytes) {
          throw new StoreError('STORE_TOO_LARGE', `content exceeds maxBytes (${maxBytes})`)
        }
        if (options.pin) known.pinned = true
        this.touch(known)
        return copyTree(known.tree)
      }
    }
    const builder = new TreeBuilder()
    const chunks: Uint8Array[] = []
    let length = 0
    let finished = false
    try {
      for (;;) {
        const step = await nextOrAbort(iterator, signal)
        if (step.done) {
          finished = true
          break
        }
        this.open()
        const chunk = step.value
        length += chunk.length
        if (length > maxBytes) {
          throw new StoreError('STORE_TOO_LARGE', `more than the limit of ${maxBytes} bytes`)
        }
        if (length > this.limit - this.bytesHeld().pinnedBytes) {
          throw new StoreError(
            'STORE_FULL',
            `content of more than ${length - chunk.length} bytes does not fit in a store of ${this.limit} bytes`,
          )
        }
        builder.update(chunk)
        chunks.push(chunk.slice())
        options.onProgress?.(length)
      }
    } finally {
      // Stop the source (cut a download) unless it ended by itself.
      if (!finished) stopSource(iterator)
    }
    signal?.throwIfAborted()
    this.open()
    const tree = builder.finalize()
    if (expectedRoot !== undefined && !equalBytes(expectedRoot, tree.root)) {
      throw new StoreError(
        'STORE_ROOT_MISMATCH',
        `content hashes to ${bytesToHex(tree.root)}, expected ${bytesToHex(expectedRoot)}`,
      )
    }
    const key = bytesToHex(tree.root)
    const existing = this.entries.get(key)
    if (existing !== undefined) {
      if (options.pin) existing.pinned = true
      this.touch(existing)
      return copyTree(existing.tree)
    }
    this.makeRoom(tree.length)
    const data = new Uint8Array(length)
    let off = 0
    for (const c of chunks) {
      data.set(c, off)
      off += c.length
    }
    const entry: Entry = { tree, data, pinned: options.pin ?? false, lastAccess: 0, seq: 0 }
    this.touch(entry)
    this.entries.set(key, entry)
    return copyTree(tree)
  }

  /** Evicts unpinned content, least recently used first, until `length` more bytes fit. */
  private makeRoom(length: number): void {
    const { bytes, pinnedBytes } = this.bytesHeld()
    if (pinnedBytes + length > this.limit) {
      throw new StoreError(
        'STORE_FULL',
        `content of ${length} bytes does not fit: ${pinnedBytes} of ${this.limit} bytes are pinned`,
      )
    }
    let held = bytes
    const victims = [...this.entries.entries()]
      .filter(([, e]) => !e.pinned)
      .sort(([, a], [, b]) => a.seq - b.seq)
    for (const [key, e] of victims) {
      if (held + length <= this.limit) break
      this.entries.delete(key)
      held -= e.tree.length
    }
  }

  async stat(root: Uint8Array): Promise<StoredContent | undefined> {
    this.open()
    const e = this.entries.get(keyOf(root))
    if (e === undefined) return undefined
    return {
      root: e.tree.root.slice(),
      length: e.tree.length,
      blocks: e.tree.blocks,
      pinned: e.pinned,
      lastAccess: e.lastAccess,
    }
  }

  async getTree(root: Uint8Array): Promise<HashTree | undefined> {
    this.open()
    const e = this.entries.get(keyOf(root))
    if (e === undefined) return undefined
    this.touch(e)
    return copyTree(e.tree)
  }

  async getBlock(root: Uint8Array, k: number, signal?: AbortSignal): Promise<Uint8Array> {
    this.open()
    signal?.throwIfAborted()
    const e = this.entry(root)
    checkBlockIndex(bytesToHex(root), k, e.tree.blocks)
    this.touch(e)
    return e.data.slice(blockStart(k), blockStart(k + 1))
  }

  async *read(
    root: Uint8Array,
    range?: { start: number; end: number },
    signal?: AbortSignal,
  ): AsyncGenerator<Uint8Array> {
    this.open()
    signal?.throwIfAborted()
    const e = this.entry(root)
    const start = range?.start ?? 0
    const end = range?.end ?? e.tree.length
    checkRange(bytesToHex(root), start, end, e.tree.length)
    this.touch(e)
    for (let off = start; off < end; ) {
      signal?.throwIfAborted()
      const next = Math.min(end, blockStart(blockIndexOf(off) + 1))
      yield e.data.slice(off, next)
      off = next
    }
  }

  async pin(root: Uint8Array): Promise<void> {
    this.open()
    this.entry(root).pinned = true
  }

  async unpin(root: Uint8Array): Promise<void> {
    this.open()
    this.entry(root).pinned = false
  }

  async delete(root: Uint8Array): Promise<boolean> {
    this.open()
    return this.entries.delete(keyOf(root))
  }

  async *list(): AsyncGenerator<StoredContent> {
    this.open()
    for (const e of [...this.entries.values()]) {
      yield {
        root: e.tree.root.slice(),
        length: e.tree.length,
        blocks: e.tree.blocks,
        pinned: e.pinned,
        lastAccess: e.lastAccess,
      }
    }
  }

  async usage(): Promise<StoreUsage> {
    this.open()
    const { bytes, pinnedBytes } = this.bytesHeld()
    return { bytes, contents: this.entries.size, pinnedBytes, limit: this.limit }
  }

  async setPointer(pointer: string, root: Uint8Array): Promise<void> {
    this.open()
    keyOf(root)
    await this.pointers.set(pointer, root)
  }

  async getPointer(pointer: string): Promise<Uint8Array | undefined> {
    this.open()
    return this.pointers.get(pointer)
  }

  async close(): Promise<void> {
    this.closed = true
  }
}
