/**
 * Hashing tree blocks on several workers. Blocks of Fleek's tree are independent (block `k`
 * is a subtree at chunk offset `256 k`), so full blocks can be hashed anywhere, in any order,
 * and their chaining values folded in order by `TreeAssembler`.
 *
 * This module is isomorphic: it only speaks Comlink over an `Endpoint`. How a worker is
 * started is injected (`spawn`): `src/node/b3-workers.ts` for `worker_threads`,
 * `src/browser/b3-workers.ts` for Web Workers. Both run `workers/b3-worker.ts`.
 */
import * as Comlink from 'comlink'
import { blockHash } from './block.ts'
import { HASH_LEN, TREE_BLOCK_LEN } from './constants.ts'
import { B3Error } from './errors.ts'
import { type HashTree, type ProgressListener, TreeAssembler } from './tree.ts'

/** What `workers/b3-worker.ts` exposes. */
export interface B3WorkerApi {
  /**
   * Hashes `count` consecutive tree blocks stored back to back in `buffer`, the first being
   * block `firstBlock`: every block is 256 KiB except the last, which is the rest of the
   * buffer (capped at 256 KiB). Returns `32 * count` bytes: the blocks' chaining values, or
   * for the last one the root hash when `lastIsRoot` (only for a lone block 0).
   *
   * The result is normally a view of the start of `buffer` itself, transferred back: the
   * caller can reuse `result.buffer` for its next batch once it has read the values.
   */
  hashBlocks(
    buffer: ArrayBuffer,
    firstBlock: number,
    count: number,
    lastIsRoot: boolean,
  ): Uint8Array
  /** Name of the kernel the worker hashes with (`wasm-simd` or `portable`). */
  kernel(): string
}

/** A started worker: its Comlink endpoint and how to stop it. */
export interface SpawnedWorker {
  readonly endpoint: Comlink.Endpoint
  // biome-ignore lint/suspicious/noConfusingVoidType: Worker.terminate() is void in browsers, a Promise in Node.
  terminate(): void | Promise<unknown>
  /**
   * Optional: registers a listener for the worker dying (failing to load, an uncaught error,
   * exiting). A dead worker never answers; with this, its calls reject instead of hanging.
   */
  onFailure?(listener: (error: unknown) => void): void
}

/** Starts one worker running `workers/b3-worker.ts`. */
export type SpawnWorker = () => SpawnedWorker

export interface HashPoolOptions {
  /** Number of workers (>= 1). */
  readonly size: number
  readonly spawn: SpawnWorker
}

export interface HashPool {
  readonly size: number
  /**
   * `B3WorkerApi.hashBlocks` on the least busy live worker (round-robin among equals).
   * `buffer` is transferred: it is detached here once the call is made, and normally comes
   * back as the result's `buffer`.
   */
  hashBlocks(
    buffer: ArrayBuffer,
    firstBlock: number,
    count: number,
    lastIsRoot?: boolean,
  ): Promise<Uint8Array>
  /** The kernel each worker uses, in worker order. */
  kernels(): Promise<string[]>
  /** Terminates the workers; calls still running reject. Safe to call twice. */
  close(): Promise<void>
}

interface Slot {
  readonly worker: SpawnedWorker
  readonly remote: Comlink.Remote<B3WorkerApi>
  /** Rejecters of the calls out on this worker. */
  readonly pending: Set<(reason: unknown) => void>
  failure?: { readonly error: unknown }
}

export function createHashPool(options: HashPoolOptions): HashPool {
  const { size, spawn } = options
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new B3Error('B3_INVALID_ARGUMENT', `a hash pool needs at least one worker, got ${size}`)
  }
  const slots: Slot[] = []
  try {
    for (let i = 0; i < size; i++) {
      const worker = spawn()
      const slot: Slot = {
        worker,
        remote: Comlink.wrap<B3WorkerApi>(worker.endpoint),
        pending: new Set(),
      }
      worker.onFailure?.((error) => {
        slot.failure ??= { error }
        for (const reject of slot.pending) reject(error)
        slot.pending.clear()
      })
      slots.push(slot)
    }
  } catch (e) {
    for (const s of slots) void Promise.resolve(s.worker.terminate()).catch(() => {})
    throw e
  }
  let next = 0
  let closed: Error | undefined

  // The live worker with the fewest calls out, starting the search after the last one picked.
  const pick = (): Slot | undefined => {
    let best: number | undefined
    for (let j = 0; j < size; j++) {
      const i = (next + j) % size
      const slot = slots[i]!
      if (
        slot.failure === undefined &&
        (best === undefined || slot.pending.size < slots[best]!.pending.size)
      )
        best = i
    }
    if (best === undefined) return undefined
    next = (best + 1) % size
    return slots[best]
  }

  // A terminated or dead worker never answers: every call can be settled from here.
  const call = <T>(slot: Slot | undefined, run: (slot: Slot) => Promise<T>): Promise<T> => {
    if (closed !== undefined) return Promise.reject(closed)
    if (slot === undefined)
      return Promise.reject(new Error('every worker of the hash pool has failed'))
    if (slot.failure !== undefined) return Promise.reject(slot.failure.error)
    return new Promise<T>((resolve, reject) => {
      slot.pending.add(reject)
      run(slot)
        .then(resolve, reject)
        .finally(() => slot.pending.delete(reject))
    })
  }

  return {
    size,
    hashBlocks(buffer, firstBlock, count, lastIsRoot = false) {
      return call(pick(), (slot) =>
        slot.remote.hashBlocks(Comlink.transfer(buffer, [buffer]), firstBlock, count, lastIsRoot),
      )
    },
    kernels() {
      return Promise.all(slots.map((slot) => call(slot, (s) => s.remote.kernel())))
    },
    async close() {
      if (closed !== undefined) return
      closed = new Error('the hash pool is closed')
      for (const slot of slots) {
        for (const reject of slot.pending) reject(closed)
        slot.pending.clear()
      }
      await Promise.all(slots.map((s) => Promise.resolve(s.worker.terminate()).catch(() => {})))
    },
  }
}

export interface ParallelTreeOptions {
  /** Rejects with the signal's reason, after the batches in flight have come back. */
  signal?: AbortSignal
  /** Bytes whose blocks are hashed and assembled so far (in order). */
  onProgress?: ProgressListener
  /** `false`: return only the root (a streaming hash), as with `buildTree`. */
  keepTree?: boolean
  /** Full blocks per message to a worker (default 8: 2 MiB). */
  batchBlocks?: number
  /**
   * Buffers held at most (default `3 * pool.size`): batches out on the workers, the batch
   * being filled and batch buffers kept for reuse. The next batch is filled while the others
   * are out, so without `transferChunks` this is also the number of batch buffers ever
   * allocated.
   */
  maxInFlight?: number
  /**
   * The caller gives up the source's chunks (default `false`). A chunk that arrives at a block
   * boundary (nothing partially buffered), is the whole of its own `ArrayBuffer` (not a
   * `SharedArrayBuffer`) and holds at least one full block is then transferred to a worker as
   * a batch of its full blocks instead of being copied: the chunk is detached once read. Its
   * tail, if any, is copied as usual. An adopted chunk counts as one of the `maxInFlight`
   * buffers, so chunks far larger than a batch keep fewer batches out and load the workers
   * unevenly (1–4 MiB chunks suit).
   *
   * Only for sources that hand out fresh buffers they never touch again: a Node
   * `fs.createReadStream`, `Blob.stream()`, a `fetch` body. Never for views of data the
   * caller still needs, nor for a source that reuses its buffer.
   */
  transferChunks?: boolean
}

/** Default blocks per batch: 2 MiB amortises a message round trip (tens of µs) to ~1%. */
export const DEFAULT_BATCH_BLOCKS = 8
/** Default batches out per worker: one being hashed, the next ones queued behind it. */
export const DEFAULT_IN_FLIGHT_PER_WORKER = 3

/**
 * Bytes of input `buildTreeParallel` holds at most, beside the tree (64 bytes per block), the
 * hashes waiting to be folded in order (32 bytes per block) and the source's own chunk:
 * `maxInFlight` buffers (batches out on the workers, the batch being filled, batch buffers
 * kept for reuse; a new one is made only when none has come back) and a copy of the last
 * block.
 *
 * With `transferChunks`, each of those `maxInFlight` buffers may instead be an adopted chunk
 * out on a worker: the bound is then `maxInFlight` times the larger of a batch and the
 * source's largest chunk (`largestChunk`, when given; else the bound assumes chunks no larger
 * than a batch).
 */
export function parallelMemoryBound(
  poolSize: number,
  options: ParallelTreeOptions & { readonly largestChunk?: number } = {},
): number {
  const batchBlocks = options.batchBlocks ?? DEFAULT_BATCH_BLOCKS
  const maxInFlight = options.maxInFlight ?? DEFAULT_IN_FLIGHT_PER_WORKER * poolSize
  const batchLen = batchBlocks * TREE_BLOCK_LEN
  const buffer = options.transferChunks
    ? Math.max(batchLen, options.largestChunk ?? batchLen)
    : batchLen
  return maxInFlight * buffer + TREE_BLOCK_LEN
}

/**
 * Whether `chunk` is the whole of its own transferable `ArrayBuffer`. Checked by tag rather
 * than `instanceof`, which fails for buffers from another realm.
 */
function ownsWholeBuffer(chunk: Uint8Array): chunk is Uint8Array<ArrayBuffer> {
  return (
    chunk.byteOffset === 0 &&
    chunk.byteLength === chunk.buffer.byteLength &&
    Object.prototype.toString.call(chunk.buffer) === '[object ArrayBuffer]'
  )
}

interface ChunkReader {
  read(): Promise<Uint8Array | undefined>
  cancel(reason: unknown): void
  release(): void
}

function openSource(source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): ChunkReader {
  if (typeof (source as ReadableStream<Uint8Array>).getReader === 'function') {
    const reader = (source as ReadableStream<Uint8Array>).getReader()
    return {
      read: async () => {
        const r = await reader.read()
        return r.done ? undefined : r.value
      },
      cancel: (reason) => void reader.cancel(reason).catch(() => {}),
      release: () => reader.releaseLock(),
    }
  }
  const it = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
  return {
    read: async () => {
      const r = await it.next()
      return r.done ? undefined : r.value
    },
    // Not awaited: an async generator runs return() only once its pending next() settles.
    cancel: () => void Promise.resolve(it.return?.()).catch(() => {}),
    release: () => {},
  }
}

/**
 * Builds the tree of a byte stream like `buildTree`, with full blocks hashed on `pool`.
 *
 * The stream is cut into 256 KiB blocks; batches of `batchBlocks` full blocks go to the
 * workers, at most `maxInFlight` buffers at a time (see `parallelMemoryBound`), and their
 * chaining values are folded in order. With `transferChunks`, suitable chunks go to the
 * workers as they are, uncopied. The last block is hashed here, with this thread's active
 * kernel (call `ready()` first), unless it went out whole in an adopted chunk.
 *
 * Only block 0 can be the root (when it is the only block), so it is never sent before a byte
 * past it is seen. Any other block's hash is its chaining value whether or not it turns out to
 * be the last one: the hash of the last block sent is kept aside until the end of the stream
 * says whether it goes to `TreeAssembler.finish`.
 */
export async function buildTreeParallel(
  source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  pool: HashPool,
  options: ParallelTreeOptions = {},
): Promise<HashTree> {
  const { signal, onProgress } = options
  const batchBlocks = options.batchBlocks ?? DEFAULT_BATCH_BLOCKS
  const maxInFlight = options.maxInFlight ?? DEFAULT_IN_FLIGHT_PER_WORKER * pool.size
  const transferChunks = options.transferChunks ?? false
  if (!Number.isSafeInteger(batchBlocks) || batchBlocks < 1) {
    throw new B3Error(
      'B3_INVALID_ARGUMENT',
      `batchBlocks must be a positive integer, got ${batchBlocks}`,
    )
  }
  if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1) {
    throw new B3Error(
      'B3_INVALID_ARGUMENT',
      `maxInFlight must be a positive integer, got ${maxInFlight}`,
    )
  }
  signal?.throwIfAborted()

  // Settles (rejects) only on abort; every wait below races against it.
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    if (signal === undefined) return
    onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
  })
  aborted.catch(() => {})
  const race = <T>(p: Promise<T>): Promise<T> =>
    signal === undefined ? p : Promise.race([p, aborted])

  const batchLen = batchBlocks * TREE_BLOCK_LEN
  const assembler = new TreeAssembler(options.keepTree ?? true)
  const reader = openSource(source)
  // Buffers held: `outstanding` out on the workers (batches or adopted chunks), `batch` (being
  // filled, made only when needed) and `spare`: batch buffers come back with the hashes and
  // are reused, so there is no allocation in steady state. At most `maxInFlight` in all.
  const spare: ArrayBuffer[] = []
  let batch: Uint8Array<ArrayBuffer> | undefined
  let filled = 0
  // Bytes read so far, and full blocks sent to the workers (all before `batch`).
  let length = 0
  let sent = 0

  // Batches come back in any order: a free worker gets the next batch even while an older one
  // is still out. Their hashes wait in `returned` (first block -> hashes) to be folded in order.
  let outstanding = 0
  let failure: { readonly error: unknown } | undefined
  const returned = new Map<number, Uint8Array>()
  let wake: (() => void) | undefined
  const settled = (): Promise<void> => new Promise<void>((resolve) => (wake = resolve))
  const held = (): number => outstanding + spare.length + (batch === undefined ? 0 : 1)

  // Folds the hashes that are next in order, up to the last block read: whether that one is
  // the last of the content (`finish`) or not (`addBlock`) is known only once a byte past it
  // is read.
  const assembleReturned = (): void => {
    const before = assembler.blocks
    for (let cvs = returned.get(before); cvs !== undefined; cvs = returned.get(assembler.blocks)) {
      returned.delete(assembler.blocks)
      let i = 0
      while (i < cvs.length && (assembler.blocks + 1) * TREE_BLOCK_LEN < length) {
        assembler.addBlock(cvs.subarray(i, i + HASH_LEN))
        i += HASH_LEN
      }
      if (i < cvs.length) {
        returned.set(assembler.blocks, cvs.subarray(i))
        break
      }
    }
    if (assembler.blocks !== before) onProgress?.(assembler.blocks * TREE_BLOCK_LEN)
  }

  // Sends the first `count` blocks of `buffer` (detaching it). Batch buffers are kept for
  // reuse when they come back; adopted chunks are let go.
  const sendBuffer = (buffer: ArrayBuffer, count: number, reuse: boolean): void => {
    const first = sent
    const call = pool.hashBlocks(buffer, first, count, false)
    outstanding++
    sent += count
    // One callback per outcome: a buffer kept for reuse is never counted twice in `held()`.
    const done = (error?: { readonly error: unknown }): void => {
      if (error !== undefined) failure ??= error
      outstanding--
      wake?.()
    }
    call.then(
      (cvs) => {
        try {
          // Copied out so the buffer can carry the next batch (or be freed).
          returned.set(first, cvs.slice(0, HASH_LEN * count))
          if (reuse && cvs.buffer.byteLength === batchLen) spare.push(cvs.buffer as ArrayBuffer)
        } catch (error) {
          return done({ error })
        }
        done()
      },
      (error: unknown) => done({ error }),
    )
  }

  // Sends the first `count` blocks of the batch.
  const sendBatch = (count: number): void => {
    sendBuffer(batch!.buffer, count, true)
    batch = undefined
    filled = 0
  }

  // Waits until fewer than `limit` buffers are out, folding in what came back.
  const drainTo = async (limit: number): Promise<void> => {
    for (;;) {
      if (failure !== undefined) throw failure.error
      assembleReturned()
      if (outstanding < limit) return
      await race(settled())
    }
  }

  // A batch buffer: one that came back, or a new one while fewer than `maxInFlight` are held.
  const acquireBatch = async (): Promise<Uint8Array<ArrayBuffer>> => {
    for (;;) {
      if (failure !== undefined) throw failure.error
      assembleReturned()
      const reused = spare.pop()
      if (reused !== undefined) return new Uint8Array(reused)
      if (held() < maxInFlight) return new Uint8Array(new ArrayBuffer(batchLen))
      await race(settled())
    }
  }

  // Waits until `count` more buffers may be held, letting spare batch buffers go first.
  const reserve = async (count: number): Promise<void> => {
    for (;;) {
      if (failure !== undefined) throw failure.error
      assembleReturned()
      while (spare.length > 0 && held() + count > maxInFlight) spare.pop()
      if (held() + count <= maxInFlight) return
      await race(settled())
    }
  }

  // Sends `chunk`'s full blocks to a worker in the chunk's own buffer if it can be adopted,
  // copying its tail into the batch. Returns the bytes of `chunk` consumed (0 or all).
  const adopt = async (chunk: Uint8Array): Promise<number> => {
    const full = Math.floor(chunk.length / TREE_BLOCK_LEN)
    const tail = chunk.length - full * TREE_BLOCK_LEN
    // One buffer for the chunk, one for a batch to hold its tail.
    const needed = tail > 0 ? 2 : 1
    if (
      full === 0 ||
      filled % TREE_BLOCK_LEN !== 0 ||
      needed > maxInFlight ||
      !ownsWholeBuffer(chunk) ||
      // Block 0 alone may be the root: it waits in the batch for a byte past it.
      (sent === 0 && filled === 0 && tail === 0 && full === 1)
    )
      return 0
    if (filled > 0) {
      // Full blocks before the chunk's, which follow them: none of them is the last one.
      sendBatch(filled / TREE_BLOCK_LEN)
    } else if (batch !== undefined) {
      spare.push(batch.buffer)
      batch = undefined
    }
    await reserve(needed)
    if (tail > 0) {
      batch = await acquireBatch()
      batch.set(chunk.subarray(full * TREE_BLOCK_LEN))
      filled = tail
    }
    sendBuffer(chunk.buffer, full, false)
    return chunk.length
  }

  try {
    for (;;) {
      const chunk = await race(reader.read())
      if (chunk === undefined) break
      signal?.throwIfAborted()
      length += chunk.length
      let off = transferChunks ? await adopt(chunk) : 0
      while (off < chunk.length) {
        // More input follows, so none of these blocks is the last one.
        if (filled === batchLen) sendBatch(batchBlocks)
        batch ??= await acquireBatch()
        const n = Math.min(batchLen - filled, chunk.length - off)
        batch.set(chunk.subarray(off, off + n), filled)
        filled += n
        off += n
      }
    }
    reader.release()
    let last: Uint8Array
    if (filled === 0 && sent > 0) {
      // The content ends with an adopted chunk's last block: its hash waits in `returned`.
      await drainTo(1)
      last = returned.get(sent - 1)!
    } else {
      // `batch` ends with the last block (empty content: none); full blocks may precede it.
      const lastStart =
        filled === 0 ? 0 : Math.floor((filled - 1) / TREE_BLOCK_LEN) * TREE_BLOCK_LEN
      const lastBlock = batch?.slice(lastStart, filled) ?? new Uint8Array(0)
      if (lastStart > 0) sendBatch(lastStart / TREE_BLOCK_LEN)
      // Hashed here while the workers finish theirs.
      last = blockHash(lastBlock, sent, sent === 0)
      await drainTo(1)
    }
    signal?.throwIfAborted()
    onProgress?.(length)
    return assembler.finish(last, length)
  } catch (e) {
    reader.cancel(e)
    // Leave nothing running on the pool's workers on our behalf.
    while (outstanding > 0) await settled()
    throw e
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort)
  }
}
