/**
 * One request under the prefix → one `Response` of verified bytes: from the block cache when
 * it holds every block asked for, otherwise cached blocks first and the rest from the sources
 * (nodes, then gateways), each new block stored as it is verified. The response starts only
 * once the first block from the network is verified, so a failure of every source is a 502;
 * a failure after that errors the body (the page sees a network error), and no unverified
 * byte is ever enqueued. Every source saying it has no such content is a 404.
 *
 * An `If-None-Match` naming the root is a 304 (content behind an id never changes), known from
 * the URL itself for a BLAKE3 id. A HEAD gets the headers a GET would, from what the cache
 * knows or, for content never seen, from a fetch of the header and block 0 (the length, and
 * the type sniffed): never the body. An IPFS or HTTP pointer not yet resolved is fetched whole
 * first, either way: its root is not known before its digest is checked.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { formatContentId } from '../../b3/content-id.ts'
import { blockIndexOf, blockSpan, blockStart } from '../../b3/geometry.ts'
import type { Pointer } from '../../origin/pointer.ts'
import type { BlockCache } from './block-cache.ts'
import { type BlockFeed, openBlockFeed } from './block-feed.ts'
import type { BlockSource } from './block-source.ts'
import { OCTET_STREAM, sniffContentType } from './content-type.ts'
import type { CachedContent } from './sw-database.ts'
import { SwError } from './sw-errors.ts'
import { rangeStart, resolveRange } from './sw-range.ts'
import { etagMatches, type SwRequest } from './sw-request.ts'
import type { ServedFrom, StatsRecorder } from './sw-stats.ts'

export interface ResponderContext {
  readonly cache: BlockCache
  /** The sources to try, in order (the client is created on first use). */
  sources(): Promise<readonly BlockSource[]>
  readonly stats: StatsRecorder
  /** Pointers being resolved now: concurrent requests for one share the fetch. */
  resolve(request: SwRequest, signal: AbortSignal): Promise<{ root: string; from?: Origin }>
  /** Given a promise that settles when the body is done: the worker must live until then. */
  keepAlive?(settled: Promise<void>): void
}

/** Where a response's bytes came from, for its headers. */
export interface Origin {
  readonly source: ServedFrom
  readonly node: string
}

const CACHE: Origin = { source: 'cache', node: 'cache' }

function unsatisfiable(length: number): SwError {
  return new SwError('SW_RANGE_NOT_SATISFIABLE', `range not satisfiable for ${length} bytes`, {
    length,
  })
}

/**
 * Learns what a response needs before block `first` can be sent: the length (a range request
 * for content never seen) and the type (sniffed from block 0). Reads block 0 only.
 */
async function probe(
  ctx: ResponderContext,
  root: string,
  meta: CachedContent | undefined,
  signal: AbortSignal,
): Promise<CachedContent> {
  const cached = meta === undefined ? undefined : await ctx.cache.block(root, 0)
  if (meta !== undefined && (cached !== undefined || meta.length === 0)) {
    await ctx.cache.remember(root, meta.length, sniffContentType(cached ?? new Uint8Array(0)))
  } else {
    const pointer: Pointer = { kind: 'blake3', root: hexToBytes(root) }
    const feed = await openBlockFeed(
      await ctx.sources(),
      pointer,
      { first: 0, end: 1, ...(meta === undefined ? {} : { length: meta.length }) },
      signal,
    )
    const block = await feed.next()
    feed.cancel()
    await ctx.cache.remember(root, feed.length, sniffContentType(block?.bytes ?? new Uint8Array(0)))
    if (block !== undefined) await ctx.cache.putBlock(root, 0, block.bytes).catch(() => {})
  }
  return (await ctx.cache.content(root))!
}

/** What every answer for content `root` says (a 200/206, a 304, a HEAD), length and type aside. */
function contentHeaders(root: string, origin: Origin): Headers {
  return new Headers({
    etag: `"${root}"`,
    'cache-control': 'public, max-age=31536000, immutable',
    'x-content-id': formatContentId(hexToBytes(root), 'cid'),
    'x-fulmen-node': origin.node,
    'x-fulmen-source': origin.source,
  })
}

/** `304 Not Modified`: the page already has this content. */
function notModified(root: string): Response {
  return new Response(null, { status: 304, headers: contentHeaders(root, CACHE) })
}

/** The headers a GET would get, without a body: the length and type from the cache, or probed. */
async function headResponse(
  request: SwRequest,
  ctx: ResponderContext,
  root: string,
  resolvedFrom: Origin | undefined,
  signal: AbortSignal,
): Promise<Response> {
  let meta = await ctx.cache.content(root)
  const known = meta !== undefined
  if (meta === undefined || (request.type === undefined && meta.type === undefined))
    meta = await probe(ctx, root, meta, signal)
  const range = resolveRange(request.range, meta.length)
  if (range.kind === 'unsatisfiable') throw unsatisfiable(meta.length)
  const span = range.kind === 'range' ? range : { start: 0, end: meta.length }
  const origin = known ? CACHE : (resolvedFrom ?? { source: 'node', node: '' })
  const headers = contentHeaders(root, origin)
  headers.set('content-type', request.type ?? meta.type ?? OCTET_STREAM)
  headers.set('content-length', String(span.end - span.start))
  headers.set('accept-ranges', 'bytes')
  if (range.kind === 'range')
    headers.set('content-range', `bytes ${span.start}-${span.end - 1}/${meta.length}`)
  return new Response(null, { status: range.kind === 'range' ? 206 : 200, headers })
}

export async function verifiedResponse(
  request: SwRequest,
  ctx: ResponderContext,
  signal: AbortSignal,
): Promise<Response> {
  const { cache } = ctx
  let root: string
  let resolvedFrom: Origin | undefined
  if (request.pointer.kind === 'blake3') {
    root = bytesToHex(request.pointer.root)
  } else {
    const resolved = await ctx.resolve(request, signal)
    root = resolved.root
    resolvedFrom = resolved.from
  }
  if (etagMatches(request.ifNoneMatch, root)) return notModified(root)
  if (request.method === 'HEAD') return headResponse(request, ctx, root, resolvedFrom, signal)
  let meta = await cache.content(root)
  const start = rangeStart(request.range)
  const needsLength = meta === undefined && (start === undefined || start >= TREE_BLOCK_LEN)
  if (needsLength) meta = await probe(ctx, root, meta, signal)
  if (meta !== undefined) {
    const r = resolveRange(request.range, meta.length)
    const firstBlock = r.kind === 'range' ? blockIndexOf(r.start) : 0
    if (r.kind === 'unsatisfiable') throw unsatisfiable(meta.length)
    if (request.type === undefined && meta.type === undefined && firstBlock > 0)
      meta = await probe(ctx, root, meta, signal)
  }

  let feed: BlockFeed | undefined
  let length: number
  // Cache writes run behind the response, one at a time; block writes queue behind the
  // content record (`putBlock` needs it), and none of them delays the first byte.
  let writing: Promise<void> = Promise.resolve()
  let fromCacheUntil: number // blocks before this come from the cache
  if (meta !== undefined) {
    length = meta.length
    const r = resolveRange(request.range, length)
    const span = r.kind === 'range' ? r : { start: 0, end: length }
    const { first, end } = blockSpan(span)
    const missing = await cache.firstMissing(root, first, end)
    fromCacheUntil = missing ?? end
    if (missing !== undefined)
      feed = await openBlockFeed(
        await ctx.sources(),
        { kind: 'blake3', root: hexToBytes(root) },
        { first: missing, end, length },
        signal,
      )
    writing = cache.remember(root, length).catch(() => {})
  } else {
    feed = await openBlockFeed(
      await ctx.sources(),
      { kind: 'blake3', root: hexToBytes(root) },
      { first: 0 },
      signal,
    )
    length = feed.length
    fromCacheUntil = 0
  }

  const range = resolveRange(request.range, length)
  if (range.kind === 'unsatisfiable') {
    feed?.cancel()
    throw unsatisfiable(length)
  }
  const span = range.kind === 'range' ? range : { start: 0, end: length }
  const { first, end } = blockSpan(span)

  // The feed's first block is already verified: peek at it for the type of new content.
  let head = await feed?.next()
  let sniffed = meta?.type
  if (meta === undefined) {
    sniffed = head?.index === 0 ? sniffContentType(head.bytes) : undefined
    writing = cache.remember(root, length, sniffed).catch(() => {})
  }
  const type = request.type ?? sniffed ?? OCTET_STREAM
  const origin: Origin =
    feed === undefined ? (resolvedFrom ?? CACHE) : { source: feed.source, node: feed.node }

  let k = first
  const next = async (): Promise<Uint8Array> => {
    if (k < fromCacheUntil) {
      const bytes = await cache.block(root, k)
      if (bytes !== undefined) return bytes
      // Dropped since the response started (it failed its check on read, or was evicted):
      // this block and the rest come from the network.
      fromCacheUntil = k
      feed?.cancel()
      head = undefined
      feed = await openBlockFeed(
        await ctx.sources(),
        { kind: 'blake3', root: hexToBytes(root) },
        { first: k, end, length },
        signal,
      )
    }
    // One cache write in flight at most: IndexedDB paces the network, memory stays flat. The
    // wait is before asking for the next block, so the first one goes out at once.
    if (head === undefined) await writing
    const block = head ?? (await feed!.next())
    head = undefined
    if (block === undefined || block.index !== k)
      throw new SwError('SW_UNAVAILABLE', `block ${k} did not arrive`)
    const index = k // `k` moves on before the write runs
    writing = writing.then(() => cache.putBlock(root, index, block.bytes)).catch(() => {})
    return block.bytes
  }

  // Set when the page cancels the body (a video dropping a range, a probe): a pull still in
  // flight then finds the stream closed, which is not a failure.
  let cancelled = false
  let settle: () => void = () => {}
  ctx.keepAlive?.(
    new Promise<void>((resolve) => {
      settle = resolve
    }),
  )
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          if (k >= end) {
            await writing
            controller.close()
            settle()
            return
          }
          const from = k < fromCacheUntil ? CACHE : origin
          const bytes = await next()
          const base = blockStart(k)
          const out = bytes.subarray(
            Math.max(0, span.start - base),
            Math.max(0, Math.min(bytes.length, span.end - base)),
          )
          k++
          if (out.length > 0) controller.enqueue(out.slice())
          ctx.stats.sent(
            from.source,
            from === CACHE ? 'cache' : (feed?.current() ?? from.node),
            out.length,
          )
          if (k >= end) {
            feed?.cancel()
            await writing
            controller.close()
            settle()
          }
        } catch (error) {
          feed?.cancel(error)
          settle()
          if (cancelled) return
          ctx.stats.failed(`mid-body: ${(error as Error).message}`)
          throw error
        }
      },
      cancel(reason) {
        cancelled = true
        feed?.cancel(reason)
        settle()
      },
    },
    { highWaterMark: 0 },
  )

  ctx.stats.started(origin.source)
  const headers = contentHeaders(root, origin)
  headers.set('content-type', type)
  headers.set('content-length', String(span.end - span.start))
  headers.set('accept-ranges', 'bytes')
  if (range.kind === 'range')
    headers.set('content-range', `bytes ${span.start}-${span.end - 1}/${length}`)
  if (length === 0) settle() // no body to wait for
  return new Response(length === 0 ? null : body, {
    status: range.kind === 'range' ? 206 : 200,
    headers,
  })
}

/**
 * The response for an error before any byte: short text/plain saying what failed (the same
 * headers and no body for a HEAD).
 */
export function errorResponse(error: unknown, method = 'GET'): Response {
  const sw = error instanceof SwError ? error : undefined
  const status = sw?.status ?? 502
  const code = sw?.code ?? ((error as { code?: unknown })?.code as string | undefined) ?? 'SW_ERROR'
  const text = `${status} ${code}\n${(error as Error)?.message ?? String(error)}\n`
  const headers = new Headers({
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'x-fulmen-error': code,
  })
  if (status === 416 && sw?.length !== undefined)
    headers.set('content-range', `bytes */${sw.length}`)
  return new Response(method === 'HEAD' ? null : text, { status, headers })
}
