/**
 * The resolver: turns a pointer into the tree of stored, verified content, fetching from an
 * origin at most once.
 *
 * - `blake3`: the store's tree; on a miss, the origins that accept a root (the IPFS origin,
 *   as CIDv1 raw + blake3) are asked, and the store checks the root (`expectedRoot`); with no
 *   such origin, `ORIGIN_NOT_FOUND`.
 * - `ipfs`, `http`: `store.getPointer(formatPointer(p))` is a cache hit; on a miss the first
 *   origin that accepts the pointer streams it into `store.put` (hashed while written, nothing
 *   stored if the origin throws), then the pointer is remembered with `setPointer`.
 *
 * Accepting origins are tried in order: when one fails with an `OriginError` (or its bytes do
 * not hash to the expected root) the next is tried; the last failure is thrown. Store errors
 * (`STORE_FULL`…) and aborts are thrown at once.
 *
 * Concurrent resolves of one pointer share one fetch (keyed by `formatPointer`). A caller
 * whose signal aborts stops waiting (rejecting with its signal's reason); the shared fetch is
 * aborted only once every caller waiting on it has gone.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import type { HashTree } from '../b3/tree.ts'
import type { Logger } from '../core/logger.ts'
import { type BlockStore, StoreError } from '../store/block-store.ts'
import type { Origin } from './origin.ts'
import { formatPointer, OriginError, type Pointer, parsePointer } from './pointer.ts'

/** Counters the node exports (prom-client); every method is called synchronously. */
export interface ResolverMetrics {
  /**
   * One origin attempt finished: `ok` when its bytes were stored; `bytes` received from the
   * origin; `code` the failure's error code (`ORIGIN_INTEGRITY`, `STORE_FULL`…) when not ok
   * and the error has one.
   */
  originFetch(name: string, ok: boolean, bytes: number, code?: string): void
  /** A resolve answered from the store. */
  cacheHit(): void
  /** A resolve that had to wait for an origin (started a fetch or joined one). */
  cacheMiss(): void
}

export interface ResolverLimits {
  /** Largest content fetched from an origin, in bytes. */
  readonly maxBytes: number
  /** Deadline of one origin fetch, in milliseconds. */
  readonly timeoutMs: number
}

export interface ResolverOptions {
  readonly store: BlockStore
  /** Tried in order for each pointer: the first that accepts it, then the next on failure. */
  readonly origins: readonly Origin[]
  readonly limits: ResolverLimits
  readonly logger?: Logger
  readonly metrics?: ResolverMetrics
  /** Pin what origins bring in (default false: fetched content is cache, evictable). */
  readonly pin?: boolean
}

export interface ResolveOptions {
  readonly signal?: AbortSignal
  /** Who asked (a session's remote peer id), handed to the origins of a fetch it starts. */
  readonly requester?: string
}

export interface Resolver {
  /**
   * The tree of the content the pointer names, from the store or fetched into it. Accepts a
   * pointer's string spelling too (parsed with `parsePointer`). Errors: `OriginError`,
   * `StoreError`, or the signal's reason.
   */
  resolve(pointer: Pointer | string, options?: ResolveOptions): Promise<HashTree>
}

interface Flight {
  readonly promise: Promise<HashTree>
  readonly controller: AbortController
  waiters: number
  settled: boolean
}

/** An async iterable that counts the bytes going through it. */
function counted(
  source: AsyncIterable<Uint8Array>,
  count: (n: number) => void,
): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const it = source[Symbol.asyncIterator]()
      return {
        async next() {
          const step = await it.next()
          if (!step.done) count(step.value.length)
          return step
        },
        async return(value?: unknown) {
          await it.return?.(value)
          return { done: true, value: undefined }
        },
      }
    },
  }
}

export function createResolver(options: ResolverOptions): Resolver {
  const { store, origins, limits, logger, metrics } = options
  if (!(limits.maxBytes >= 0) || !(limits.timeoutMs >= 0)) {
    throw new RangeError('limits.maxBytes and limits.timeoutMs must be non-negative numbers')
  }
  const inflight = new Map<string, Flight>()

  async function lookup(pointer: Pointer, key: string): Promise<HashTree | undefined> {
    if (pointer.kind === 'blake3') return store.getTree(pointer.root)
    const root = await store.getPointer(key)
    return root === undefined ? undefined : store.getTree(root)
  }

  async function fetchFrom(
    origin: Origin,
    pointer: Pointer,
    key: string,
    signal: AbortSignal,
    requester: string | undefined,
  ): Promise<HashTree> {
    let bytes = 0
    const started = Date.now()
    try {
      const source = counted(
        origin.fetch(pointer, {
          signal,
          maxBytes: limits.maxBytes,
          timeoutMs: limits.timeoutMs,
          ...(requester === undefined ? {} : { requester }),
        }),
        (n) => {
          bytes += n
        },
      )
      let tree: HashTree
      try {
        tree = await store.put(source, {
          expectedRoot: pointer.kind === 'blake3' ? pointer.root : undefined,
          maxBytes: limits.maxBytes,
          pin: options.pin,
          signal,
        })
      } catch (e) {
        if (e instanceof StoreError && e.code === 'STORE_ROOT_MISMATCH') {
          throw new OriginError('ORIGIN_INTEGRITY', `${origin.name}: ${e.message}`, { cause: e })
        }
        if (e instanceof StoreError && e.code === 'STORE_TOO_LARGE') {
          throw new OriginError('ORIGIN_TOO_LARGE', `${origin.name}: ${e.message}`, { cause: e })
        }
        throw e
      }
      if (pointer.kind !== 'blake3') await store.setPointer(key, tree.root)
      metrics?.originFetch(origin.name, true, bytes)
      logger?.info(
        {
          pointer: key,
          origin: origin.name,
          root: bytesToHex(tree.root),
          bytes,
          ms: Date.now() - started,
        },
        'origin fetch stored',
      )
      return tree
    } catch (e) {
      const code = (e as { code?: unknown })?.code
      metrics?.originFetch(origin.name, false, bytes, typeof code === 'string' ? code : undefined)
      logger?.warn(
        {
          pointer: key,
          origin: origin.name,
          bytes,
          ms: Date.now() - started,
          code,
          err: e instanceof Error ? e.message : String(e),
        },
        'origin fetch failed',
      )
      throw e
    }
  }

  async function fetchAndStore(
    pointer: Pointer,
    key: string,
    signal: AbortSignal,
    requester: string | undefined,
  ) {
    const candidates = origins.filter((o) => o.accepts(pointer))
    if (candidates.length === 0) {
      if (pointer.kind === 'blake3') {
        throw new OriginError(
          'ORIGIN_NOT_FOUND',
          `${bytesToHex(pointer.root)} is not stored here and no origin can fetch content by its BLAKE3 root`,
        )
      }
      throw new OriginError(
        'ORIGIN_UNAVAILABLE',
        `no origin is configured for ${pointer.kind} pointers`,
      )
    }
    let last: unknown
    for (const origin of candidates) {
      signal.throwIfAborted()
      try {
        return await fetchFrom(origin, pointer, key, signal, requester)
      } catch (e) {
        if (signal.aborted) throw signal.reason
        if (!(e instanceof OriginError)) throw e
        last = e
      }
    }
    throw last
  }

  function start(pointer: Pointer, key: string, requester: string | undefined): Flight {
    const controller = new AbortController()
    const flight: Flight = {
      controller,
      waiters: 0,
      settled: false,
      promise: fetchAndStore(pointer, key, controller.signal, requester).finally(() => {
        flight.settled = true
        if (inflight.get(key) === flight) inflight.delete(key)
      }),
    }
    // Waiters that all left do not observe the outcome: it must not be an unhandled rejection.
    flight.promise.catch(() => {})
    inflight.set(key, flight)
    return flight
  }

  async function wait(flight: Flight, key: string, signal?: AbortSignal): Promise<HashTree> {
    flight.waiters++
    try {
      if (signal === undefined) return await flight.promise
      return await new Promise<HashTree>((resolve, reject) => {
        const onAbort = (): void => reject(signal.reason)
        if (signal.aborted) return onAbort()
        signal.addEventListener('abort', onAbort, { once: true })
        flight.promise
          .then(resolve, reject)
          .finally(() => signal.removeEventListener('abort', onAbort))
      })
    } finally {
      flight.waiters--
      if (flight.waiters === 0 && !flight.settled) {
        // The last waiter gave up: stop the fetch, and let the next resolve start afresh.
        logger?.debug({ pointer: key }, 'origin fetch abandoned by every waiter')
        if (inflight.get(key) === flight) inflight.delete(key)
        flight.controller.abort(signal?.reason)
      }
    }
  }

  return {
    async resolve(input: Pointer | string, resolveOptions: ResolveOptions = {}) {
      const { signal } = resolveOptions
      signal?.throwIfAborted()
      const pointer = typeof input === 'string' ? parsePointer(input) : input
      const key = formatPointer(pointer)
      let flight = inflight.get(key)
      if (flight === undefined) {
        const cached = await lookup(pointer, key)
        if (cached !== undefined) {
          metrics?.cacheHit()
          logger?.debug(
            { pointer: key, root: bytesToHex(cached.root) },
            'pointer resolved from store',
          )
          return cached
        }
        signal?.throwIfAborted()
        // Someone may have started the fetch while the store was looked up.
        flight = inflight.get(key) ?? start(pointer, key, resolveOptions.requester)
      }
      metrics?.cacheMiss()
      return wait(flight, key, signal)
    },
  }
}
