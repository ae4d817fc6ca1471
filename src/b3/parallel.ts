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
   * Batches out on the workers at most (default `3 * pool.size`). The next batch is filled
   * while they are out, so this is also the number of batch buffers ever allocated.
   */
  maxInFlight?: number
}

/** Default blocks per batch: 2 MiB amortises a message round trip (tens of µs) to ~1%. */
export const DEFAULT_BATCH_BLOCKS = 8
/** Default batches out per worker: one being hashed, the next ones queued behind it. */
export const DEFAULT_IN_FLIGHT_PER_WORKER = 3

/**
 * Bytes of input `buildTreeParallel` holds at most, beside the tree (64 bytes per block), the
 * hashes waiting to be folded in order (32 bytes per block) and the source's own chunk:
 * `maxInFlight` batch buffers (out on the workers or being filled; a new one is made only
 * when none has come back) and a copy of the last block.
 */
export function parallelMemoryBound(poolSize: number, options: ParallelTreeOptions = {}): number {
  const batchBlocks = options.batchBlocks ?? DEFAULT_BATCH_BLOCKS
  const maxInFlight = options.maxInFlight ?? DEFAULT_IN_FLIGHT_PER_WORKER * poolSize
  return maxInFlight * batchBlocks * TREE_BLOCK_LEN + TREE_BLOCK_LEN
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
 * workers, at most `maxInFlight` batches at a time (see `parallelMemoryBound`), and their
 * chaining values are folded in order. The last block is hashed here, with this thread's
 * active kernel (call `ready()` first), as the root when it is the only one.
 */
export async function buildTreeParallel(
  source: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>,
  pool: HashPool,
  options: ParallelTreeOptions = {},
): Promise<HashTree> {
  const { signal, onProgress } = options
  const batchBlocks = options.batchBlocks ?? DEFAULT_BATCH_BLOCKS
  const maxInFlight = options.maxInFlight ?? DEFAULT_IN_FLIGHT_PER_WORKER * pool.size
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
  // Batch buffers come back with the hashes and are reused: no allocation in steady state.
  const spare: ArrayBuffer[] = []
  const nextBatch = (): Uint8Array<ArrayBuffer> =>
    new Uint8Array(spare.pop() ?? new ArrayBuffer(batchLen))
  let batch = nextBatch()
  let filled = 0
  let length = 0
  let sent = 0

  // Batches come back in any order: a free worker gets the next batch even while an older one
  // is still out. Their hashes wait in `returned` (first block -> hashes) to be folded in order.
  let outstanding = 0
  let failure: { readonly error: unknown } | undefined
  const returned = new Map<number, Uint8Array>()
  let wake: (() => void) | undefined
  const settled = (): Promise<void> => new Promise<void>((resolve) => (wake = resolve))

  const assembleReturned = (): void => {
    const before = assembler.blocks
    for (let cvs = returned.get(before); cvs !== undefined; cvs = returned.get(assembler.blocks)) {
      returned.delete(assembler.blocks)
      for (let i = 0; i < cvs.length; i += HASH_LEN)
        assembler.addBlock(cvs.subarray(i, i + HASH_LEN))
    }
    if (assembler.blocks !== before) onProgress?.(assembler.blocks * TREE_BLOCK_LEN)
  }

  // Sends the first `count` blocks of `batch` (detaching it).
  const send = (count: number): void => {
    const first = sent
    outstanding++
    pool
      .hashBlocks(batch.buffer, first, count, false)
      .then(
        (cvs) => {
          // Copied out so the buffer can carry the next batch.
          returned.set(first, cvs.slice(0, HASH_LEN * count))
          if (cvs.buffer.byteLength === batchLen) spare.push(cvs.buffer as ArrayBuffer)
        },
        (error: unknown) => {
          failure ??= { error }
        },
      )
      .finally(() => {
        outstanding--
        wake?.()
      })
    sent += count
  }

  // Waits until fewer than `limit` batches are out, folding in what came back.
  const drainTo = async (limit: number): Promise<void> => {
    for (;;) {
      if (failure !== undefined) throw failure.error
      assembleReturned()
      if (outstanding < limit) return
      await race(settled())
    }
  }

  try {
    for (;;) {
      const chunk = await race(reader.read())
      if (chunk === undefined) break
      signal?.throwIfAborted()
      let off = 0
      while (off < chunk.length) {
        if (filled === batchLen) {
          // More input follows, so none of these blocks is the last one.
          send(batchBlocks)
          await drainTo(maxInFlight)
          batch = nextBatch()
          filled = 0
        }
        const n = Math.min(batchLen - filled, chunk.length - off)
        batch.set(chunk.subarray(off, off + n), filled)
        filled += n
        off += n
      }
      length += chunk.length
    }
    reader.release()
    // `batch` ends with the last block (empty for empty content); full blocks may precede it.
    const lastStart = filled === 0 ? 0 : Math.floor((filled - 1) / TREE_BLOCK_LEN) * TREE_BLOCK_LEN
    const lastBlock = batch.slice(lastStart, filled)
    if (lastStart > 0) send(lastStart / TREE_BLOCK_LEN)
    // Hashed here while the workers finish theirs.
    const last = blockHash(lastBlock, sent, sent === 0)
    await drainTo(1)
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
