/**
 * The import pipeline the filesystem and IndexedDB stores share: a store reads its source
 * through `pumpSource`, which feeds each chunk to an `ImportPipeline` and hands the whole
 * blocks it completed to the store's writer; `finish` gives the last (partial) block and the
 * tree, checked against the expected root. The pipeline is pure over Uint8Arrays (no I/O):
 * it counts bytes against the limits, hashes, and cuts 256 KiB blocks (src/b3/geometry.ts).
 *
 * Also shared: `PutTracker`, the puts in flight that `close()` waits for and aborts.
 */
import { blockIndexOf, blockStart } from '../b3/geometry.ts'
import { type HashTree, TreeBuilder } from '../b3/tree.ts'
import { type BlockStore, type PutOptions, StoreError } from './block-store.ts'
import { nextOrAbort, stopSource } from './import-source.ts'
import { hexOf } from './store-keys.ts'

export interface ImportLimits {
  /** Refuse (`STORE_TOO_LARGE`) once more than this many bytes arrive. */
  readonly maxBytes?: number
  /** Bytes the store could make room for (`STORE_FULL` beyond), asked at every chunk. */
  readonly room: () => number
}

export interface ImportResult {
  readonly tree: HashTree
  /** The root's hex. */
  readonly hex: string
  /**
   * The bytes after the last whole block, as their own buffer; for empty content the one
   * empty block. Undefined when the content ends on a block boundary.
   */
  readonly tail: Uint8Array | undefined
}

/** One import's state: bytes seen, the tree being built, the block being filled. */
export class ImportPipeline {
  private readonly limits: ImportLimits
  private readonly builder = new TreeBuilder()
  /** Bytes taken so far. */
  private total = 0
  /** The block being filled (allocated when its first byte arrives). */
  private block: Uint8Array | undefined
  private finished = false

  constructor(limits: ImportLimits) {
    this.limits = limits
  }

  get bytes(): number {
    return this.total
  }

  /**
   * Takes the next chunk: checks the limits, hashes it, and returns the blocks it completed,
   * each its own buffer (IndexedDB clones a view's whole buffer). Errors: `TypeError` for a
   * chunk that is not a Uint8Array, `StoreError` `STORE_TOO_LARGE` or `STORE_FULL`.
   */
  push(chunk: unknown): Uint8Array[] {
    if (this.finished) throw new Error('the import is finished')
    if (!(chunk instanceof Uint8Array)) throw new TypeError('a put source yields Uint8Arrays')
    const before = this.total
    const total = before + chunk.length
    const { maxBytes } = this.limits
    if (maxBytes !== undefined && total > maxBytes) {
      throw new StoreError('STORE_TOO_LARGE', `content exceeds maxBytes (${maxBytes})`)
    }
    if (total > this.limits.room()) {
      throw new StoreError(
        'STORE_FULL',
        `content of more than ${before} bytes does not fit in the store`,
      )
    }
    this.total = total
    this.builder.update(chunk)
    const done: Uint8Array[] = []
    for (let pos = before; pos < total; ) {
      const k = blockIndexOf(pos)
      const start = blockStart(k)
      const end = blockStart(k + 1)
      this.block ??= new Uint8Array(end - start)
      const n = Math.min(end, total) - pos
      this.block.set(chunk.subarray(pos - before, pos - before + n), pos - start)
      pos += n
      if (pos === end) {
        done.push(this.block)
        this.block = undefined
      }
    }
    return done
  }

  /**
   * Ends the import: the tree and the last block. Errors: `StoreError` `STORE_ROOT_MISMATCH`
   * when the content does not hash to `expectedHex`.
   */
  finish(expectedHex?: string): ImportResult {
    if (this.finished) throw new Error('the import is finished')
    this.finished = true
    const tree = this.builder.finalize()
    const hex = hexOf(tree.root)
    if (expectedHex !== undefined && hex !== expectedHex) {
      throw new StoreError(
        'STORE_ROOT_MISMATCH',
        `content hashes to ${hex}, expected ${expectedHex}`,
      )
    }
    const filled = this.total - blockStart(blockIndexOf(this.total))
    let tail: Uint8Array | undefined
    if (this.total === 0) tail = new Uint8Array(0)
    else if (filled > 0) tail = this.block!.slice(0, filled)
    this.block = undefined
    return { tree, hex, tail }
  }
}

export interface PumpOptions {
  readonly signal: AbortSignal
  readonly onProgress?: ((bytesDone: number) => void) | undefined
}

/**
 * Reads `iterator` to its end through `pipeline`: each chunk's whole blocks go to `write`
 * (awaited before the next chunk is read), then progress is reported. On any error the
 * source is told to stop and the error rethrown.
 */
export async function pumpSource(
  iterator: AsyncIterator<Uint8Array>,
  pipeline: ImportPipeline,
  write: (blocks: Uint8Array[]) => void | Promise<void>,
  options: PumpOptions,
): Promise<void> {
  const { signal, onProgress } = options
  try {
    for (;;) {
      const step = await nextOrAbort(iterator, signal)
      if (step.done === true) return
      const blocks = pipeline.push(step.value)
      if (blocks.length > 0) await write(blocks)
      signal.throwIfAborted()
      onProgress?.(pipeline.bytes)
    }
  } catch (e) {
    stopSource(iterator)
    throw e
  }
}

export interface PutStart {
  readonly signal: AbortSignal
  readonly pin: boolean
  readonly expectedHex: string | undefined
}

/**
 * `put` of content already stored (its `record`, undefined when it is not): refreshes (and
 * maybe pins) it and returns its tree, without reading the source. Undefined when it is not
 * stored or was deleted meanwhile: then the put imports it after all.
 */
export async function reuseStored(
  store: Pick<BlockStore, 'pin' | 'getTree'>,
  root: Uint8Array,
  record: { readonly length: number; readonly pinned: boolean } | undefined,
  pin: boolean,
  maxBytes: number | undefined,
): Promise<HashTree | undefined> {
  if (record === undefined) return undefined
  if (maxBytes !== undefined && record.length > maxBytes) {
    throw new StoreError('STORE_TOO_LARGE', `content exceeds maxBytes (${maxBytes})`)
  }
  try {
    if (pin && !record.pinned) await store.pin(root)
    return await store.getTree(root)
  } catch (e) {
    if (e instanceof StoreError && e.code === 'STORE_NOT_FOUND') return undefined
    throw e
  }
}

/**
 * The puts in flight of one store: `close()` aborts them (with `STORE_CLOSED`) and waits for
 * them to settle.
 */
export class PutTracker {
  private readonly running = new Set<Promise<unknown>>()
  private readonly closing = new AbortController()

  /**
   * What a put starts from: the signal it runs under (the caller's and the store's closing,
   * checked here), whether to pin, and the expected root's hex.
   */
  begin(options: PutOptions): PutStart {
    const signal =
      options.signal === undefined
        ? this.closing.signal
        : AbortSignal.any([options.signal, this.closing.signal])
    signal.throwIfAborted()
    const { expectedRoot } = options
    return {
      signal,
      pin: options.pin === true,
      expectedHex: expectedRoot === undefined ? undefined : hexOf(expectedRoot),
    }
  }

  track<T>(task: Promise<T>): Promise<T> {
    this.running.add(task)
    const forget = () => this.running.delete(task)
    task.then(forget, forget)
    return task
  }

  /** Aborts every put with `reason`. */
  abort(reason: unknown): void {
    this.closing.abort(reason)
  }

  /** Resolves once every put in flight has settled. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running])
  }
}
