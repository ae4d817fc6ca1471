/**
 * The node's HTTP gateway: content at the paths Fleek's Lightning node uses, raw or as a
 * proof-carrying framed body, plus health, status, metrics and a loopback-only import door.
 *
 *   GET|HEAD /services/0/blake3/<content id>     raw bytes (Range → 206), or frames
 *   GET|HEAD /services/0/ipfs/<cid>              an IPFS pointer, fetched and verified on a miss
 *   GET|HEAD /services/0/http?url=…&integrity=…  an HTTP(S) pointer pinned by SRI
 *   GET /health · GET /status · GET /metrics
 *   GET /das[?claims=1]                          the DA pool's summary (and its claims)
 *   GET /providers/<content id>                  tabs that announced the root (discovery)
 *   PUT /admin/content[?pin=1]                   import the request body (loopback only)
 *   /chain/...                                   the chain's routes (src/node/chain/chain-routes.ts)
 *   OPTIONS on content, providers, health, status CORS preflight (GET, HEAD; Range, Accept)
 *
 * Frames are chosen with `?format=frames` or `Accept: application/vnd.fulmen.frames`; their
 * range with `Range: bytes=…` or `?range=a-b` (inclusive, like HTTP), answered 200 with the
 * range in `X-Fulmen-Content-Range` (the frames are another representation, not a slice).
 * Content, providers, health and status are readable cross-origin (`Access-Control-Allow-Origin: *`).
 * `If-None-Match` naming the content's ETag (its root) answers 304, before any Range.
 *
 * Errors are JSON, `{"error":{"code","message"}}`. A target the gateway cannot read is the
 * client's 400: `BAD_REQUEST_TARGET` (not a URL, e.g. `GET http://[ HTTP/1.1`) or
 * `BAD_PERCENT_ENCODING` (a path segment that is not percent-encoded UTF-8, e.g. `%ZZ`).
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { pipeline } from 'node:stream/promises'
import { bytesToHex } from '@noble/hashes/utils.js'
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { formatContentId, parseContentId } from '../../b3/content-id.ts'
import { blockCount, blockLength, blockStart } from '../../b3/geometry.ts'
import type { HashTree } from '../../b3/tree.ts'
import type { Pointer } from '../../origin/pointer.ts'
import { type GatewayFailure, toFailure } from '../../services/failure-status.ts'
import type { BlockStore } from '../../store/block-store.ts'
import { contentBody, contentBodyLength } from '../../wire/content-body.ts'
import type { ChainApi } from '../chain/chain-api.ts'
import { isChainPath, serveChain } from '../chain/chain-routes.ts'
import { claimJson, type DaPool } from '../das/da-pool.ts'
import type { Logger } from '../logger.ts'
import type { NodeMetrics } from '../metrics.ts'
import { ifNoneMatchMatches } from './conditional.ts'
import { parseRange, type RangeRequest } from './range.ts'
import { decodeSegment, parseTarget, RequestError } from './request-target.ts'

export const FRAMES_MEDIA_TYPE = 'application/vnd.fulmen.frames'

/** A byte range, `end` exclusive. */
type Span = { readonly start: number; readonly end: number }

export interface Resolver {
  resolve(pointer: Pointer, options?: { signal?: AbortSignal }): Promise<HashTree>
}

export interface GatewayOptions {
  readonly store: BlockStore
  readonly resolver: Resolver
  readonly metrics: NodeMetrics
  readonly logger: Logger
  /** The node's peer id, sent in `X-Fulmen-Node`. */
  readonly nodeId: string
  /** Body of `GET /status`. */
  readonly status: () => Promise<Record<string, unknown>>
  /** The delivery-acknowledgement pool, served at `GET /das` (no route without it). */
  readonly das?: DaPool
  /** Who announced a root, served at `GET /providers/<id>` (no route without it). */
  readonly providers?: (
    root: Uint8Array,
  ) => readonly { readonly peer: string; readonly multiaddrs: readonly string[] }[]
  /** The chain (a node started with a genesis); without it `/chain/...` answers CHAIN_NOT_ENABLED. */
  readonly chain?: ChainApi
}

export interface Gateway {
  readonly server: Server
  listen(port: number, host: string): Promise<AddressInfo>
  /**
   * Stops accepting, lets open responses finish for up to `graceMs`, then cuts what is left.
   * Resolves with the number of responses that had to be cut.
   */
  close(graceMs: number): Promise<number>
}

/**
 * Cross-origin reads for browsers (the service worker's fallback fetches framed bodies from
 * any node): every origin may read content, health and status, and the headers a verifying
 * reader needs. Never on /admin (imports are loopback-only, not for web pages).
 */
const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers':
    'content-range, content-length, etag, x-content-id, x-fulmen-node, x-fulmen-content-range',
}

/** The answer to a preflight: GET and HEAD, with Range and Accept, cached for 10 minutes. */
const PREFLIGHT_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD',
  'access-control-allow-headers': 'range, accept',
  'access-control-max-age': '600',
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1'
}

/**
 * What a request names: a route label for metrics and, for content, the pointer. Routing throws
 * RequestError on a path it cannot decode (called inside the handler's error handling).
 */
type Route =
  | { readonly name: 'content'; readonly pointer: () => Pointer }
  | { readonly name: 'providers'; readonly root: () => Uint8Array }
  | {
      readonly name: 'health' | 'status' | 'metrics' | 'das' | 'admin-put' | 'chain' | 'not-found'
    }

/** The metrics label of a request whose target could not be read. */
const BAD_REQUEST_ROUTE = 'bad-request'

function route(method: string, url: URL, hasDas: boolean, hasProviders: boolean): Route {
  const path = url.pathname
  if (isChainPath(path)) return { name: 'chain' }
  const p = hasProviders ? /^\/providers\/([^/]+)$/.exec(path) : null
  if (p !== null) {
    const id = decodeSegment(p[1]!)
    return { name: 'providers', root: () => parseContentId(id) }
  }
  if (path === '/health') return { name: 'health' }
  if (path === '/das' && hasDas) return { name: 'das' }
  if (path === '/status') return { name: 'status' }
  if (path === '/metrics') return { name: 'metrics' }
  if (path === '/admin/content' && method === 'PUT') return { name: 'admin-put' }
  const m = /^\/services\/0\/(blake3|ipfs)\/([^/]+)$/.exec(path)
  if (m !== null) {
    const id = decodeSegment(m[2]!)
    if (m[1] === 'blake3')
      return { name: 'content', pointer: () => ({ kind: 'blake3', root: parseContentId(id) }) }
    return { name: 'content', pointer: () => ({ kind: 'ipfs', cid: id }) }
  }
  if (path === '/services/0/http') {
    return {
      name: 'content',
      pointer: () => ({
        kind: 'http',
        url: url.searchParams.get('url') ?? '',
        integrity: url.searchParams.get('integrity') ?? '',
      }),
    }
  }
  return { name: 'not-found' }
}

function wantsFrames(req: IncomingMessage, url: URL): boolean {
  const format = url.searchParams.get('format')
  if (format !== null) return format === 'frames'
  return (req.headers.accept ?? '').includes(FRAMES_MEDIA_TYPE)
}

/** Bytes read from the store per chunk of a raw body. */
const RAW_CHUNK = 1024 * 1024
/** Buffers each pool keeps for reuse (more may be out at once; the extra ones are dropped). */
const POOL_KEEP = 16

/**
 * Buffers of one size, reused once the socket is done with them. Serving reads the store into
 * these instead of a fresh buffer per chunk: a node's heap is large (libp2p…), and a GiB of
 * throw-away chunks made V8 run a full mark-compact every few dozen MiB served.
 */
class BufferPool {
  private readonly size: number
  private readonly free: ArrayBuffer[] = []

  constructor(size: number) {
    this.size = size
  }

  take(length: number): Uint8Array {
    return new Uint8Array(this.free.pop() ?? new ArrayBuffer(this.size), 0, length)
  }

  give(view: Uint8Array): void {
    const buffer = view.buffer as ArrayBuffer
    if (buffer.byteLength === this.size && this.free.length < POOL_KEEP) this.free.push(buffer)
  }
}

/** Resolves once `res` has room again; rejects if it closes or `signal` aborts first. */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (error?: unknown) => {
      res.off('drain', onDrain)
      res.off('close', onClose)
      signal.removeEventListener('abort', onAbort)
      if (error === undefined) resolve()
      else reject(error)
    }
    const onDrain = () => done()
    const onClose = () => done(new Error('the response closed'))
    const onAbort = () => done(signal.reason)
    if (signal.aborted) return onAbort()
    res.on('drain', onDrain)
    res.on('close', onClose)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Writes `chunk` (`release` is called once the socket is through with it), minding backpressure. */
async function send(
  res: ServerResponse,
  chunk: Uint8Array,
  release: (() => void) | undefined,
  signal: AbortSignal,
): Promise<void> {
  if (res.destroyed) {
    release?.()
    throw new Error('the response closed')
  }
  if (!res.write(chunk, release === undefined ? undefined : () => release()))
    await drained(res, signal)
}

function requestedRange(req: IncomingMessage, url: URL, length: number): RangeRequest {
  const q = url.searchParams.get('range')
  return parseRange(q === null ? req.headers.range : `bytes=${q}`, length)
}

export function createGateway(options: GatewayOptions): Gateway {
  const { store, resolver, metrics, logger, nodeId } = options
  const log = logger.child({ component: 'gateway' })
  const sockets = new Set<Socket>()
  const active = new Set<ServerResponse>()
  let closing = false
  const rawPool = new BufferPool(RAW_CHUNK)
  const blockPool = new BufferPool(TREE_BLOCK_LEN)

  const sendJson = (res: ServerResponse, status: number, body: unknown) => {
    const text = `${JSON.stringify(body)}\n`
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    })
    res.end(text)
  }

  /** The client's mistakes in reading the request are 400s; everything else as the layers say. */
  const failureOf = (error: unknown): GatewayFailure =>
    error instanceof RequestError
      ? { status: error.status, code: error.code, message: error.message }
      : toFailure(error)

  const fail = (res: ServerResponse, failure: GatewayFailure) => {
    if (res.headersSent) {
      // Mid-body: the only honest signal left is to cut the connection.
      res.destroy()
      return
    }
    if (failure.status === 416 && failure.length !== undefined)
      res.setHeader('content-range', `bytes */${failure.length}`)
    sendJson(res, failure.status, { error: { code: failure.code, message: failure.message } })
  }

  async function serveContent(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    pointer: Pointer,
    signal: AbortSignal,
  ) {
    const tree = await resolver.resolve(pointer, { signal })
    const { root, length } = tree
    const range = requestedRange(req, url, length)
    if (range.kind === 'unsatisfiable') {
      throw Object.assign(new Error(`range not satisfiable for ${length} bytes`), {
        code: 'RANGE_NOT_SATISFIABLE',
        length,
      })
    }
    const span =
      range.kind === 'range' ? { start: range.start, end: range.end } : { start: 0, end: length }
    const headers: Record<string, string | number> = {
      etag: `"${bytesToHex(root)}"`,
      'cache-control': 'public, max-age=31536000, immutable',
      'accept-ranges': 'bytes',
      'x-fulmen-node': nodeId,
      'x-content-id': formatContentId(root, 'cid'),
    }
    const head = req.method === 'HEAD'
    // Before Range (RFC 9110 §13.2.2): a cache that holds the content needs none of it.
    if (ifNoneMatchMatches(req.headers['if-none-match'], headers.etag as string)) {
      res.writeHead(304, headers)
      return void res.end()
    }
    if (wantsFrames(req, url)) {
      headers['content-type'] = FRAMES_MEDIA_TYPE
      headers['content-length'] = contentBodyLength(tree, span)
      headers['x-fulmen-content-range'] =
        `bytes ${span.start}-${Math.max(span.start, span.end - 1)}/${length}`
      res.writeHead(200, headers)
      if (head) return void res.end()
      await sendFrames(res, tree, span, signal)
      return
    }
    headers['content-type'] = 'application/octet-stream'
    headers['content-length'] = span.end - span.start
    if (range.kind === 'range')
      headers['content-range'] = `bytes ${span.start}-${span.end - 1}/${length}`
    res.writeHead(range.kind === 'range' ? 206 : 200, headers)
    if (head || span.end === span.start) return void res.end()
    await sendRaw(res, root, span, signal)
  }

  /** Bytes `span` of the content, read into pooled buffers one chunk ahead of the socket. */
  async function sendRaw(res: ServerResponse, root: Uint8Array, span: Span, signal: AbortSignal) {
    const readInto = store.readInto?.bind(store)
    if (readInto === undefined) {
      await pipeline(counted(store.read(root, span, signal), 'raw'), res, { signal })
      return
    }
    const counter = metrics.bytesServed.labels('raw')
    const read = async (position: number): Promise<Uint8Array> => {
      const chunk = rawPool.take(Math.min(RAW_CHUNK, span.end - position))
      try {
        await readInto(root, position, chunk, signal)
      } catch (error) {
        rawPool.give(chunk)
        throw error
      }
      return chunk
    }
    let next: Promise<Uint8Array> | undefined = read(span.start)
    let position = span.start
    try {
      while (next !== undefined) {
        const chunk: Uint8Array = await next
        position += chunk.length
        next = position < span.end ? read(position) : undefined
        counter.inc(chunk.length)
        await send(res, chunk, () => rawPool.give(chunk), signal)
      }
    } finally {
      // Given up half-way: the chunk read ahead goes back to the pool, its error nowhere.
      next?.then((chunk) => rawPool.give(chunk)).catch(() => {})
    }
    res.end()
  }

  /**
   * The proof-carrying frames of `span`: `contentBody` over blocks read into pooled buffers,
   * the next block read while this one is written.
   */
  async function sendFrames(res: ServerResponse, tree: HashTree, span: Span, signal: AbortSignal) {
    const { root, length } = tree
    const readInto = store.readInto?.bind(store)
    const counter = metrics.bytesServed.labels('frames')
    const pooled = new WeakSet<Uint8Array>()
    const ahead = new Map<number, Promise<Uint8Array>>()
    const fetchBlock = (k: number, s?: AbortSignal): Promise<Uint8Array> => {
      const size = blockLength(length, k)
      if (readInto === undefined || size === 0) return store.getBlock(root, k, s)
      const block = blockPool.take(size)
      return readInto(root, blockStart(k), block, s).then(
        () => {
          pooled.add(block)
          return block
        },
        (error: unknown) => {
          blockPool.give(block)
          throw error
        },
      )
    }
    const lastBlock = blockCount(span.end) - 1
    const readBlock = (k: number, s?: AbortSignal): Promise<Uint8Array> => {
      const block = ahead.get(k) ?? fetchBlock(k, s)
      ahead.delete(k)
      if (k < lastBlock && !ahead.has(k + 1)) {
        const next = fetchBlock(k + 1, s)
        next.catch(() => {}) // seen when (if) it is asked for
        ahead.set(k + 1, next)
      }
      return block
    }
    try {
      for await (const chunk of contentBody(tree, readBlock, { range: span, signal })) {
        counter.inc(chunk.length)
        const release = pooled.delete(chunk) ? () => blockPool.give(chunk) : undefined
        await send(res, chunk, release, signal)
      }
    } finally {
      for (const block of ahead.values()) {
        block.then((b) => (pooled.delete(b) ? blockPool.give(b) : undefined)).catch(() => {})
      }
    }
    res.end()
  }

  async function* counted(
    source: AsyncIterable<Uint8Array>,
    format: 'raw' | 'frames',
  ): AsyncGenerator<Uint8Array> {
    const counter = metrics.bytesServed.labels(format)
    for await (const chunk of source) {
      counter.inc(chunk.length)
      yield chunk
    }
  }

  async function adminPut(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    signal: AbortSignal,
  ) {
    if (!isLoopback(req.socket.remoteAddress)) {
      throw Object.assign(new Error('imports are accepted from loopback only'), {
        code: 'FORBIDDEN',
      })
    }
    const tree = await store.put(req as AsyncIterable<Uint8Array>, {
      pin: url.searchParams.get('pin') === '1',
      signal,
    })
    sendJson(res, 201, {
      root: bytesToHex(tree.root),
      cid: formatContentId(tree.root, 'cid'),
      length: tree.length,
      blocks: tree.blocks,
    })
  }

  /** The pool's summary, with every claim when `?claims=1`. */
  async function dasBody(das: DaPool, url: URL): Promise<unknown> {
    const summary = await das.summary()
    if (url.searchParams.get('claims') !== '1') return summary
    const claims = []
    for await (const stored of das.list()) claims.push(claimJson(stored))
    return { ...summary, claims }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now()
    // Set once the target is read: a request whose target is not readable is counted apart.
    let routeName: string = BAD_REQUEST_ROUTE
    const abort = new AbortController()
    res.on('close', () => {
      active.delete(res)
      if (!res.writableFinished) abort.abort(new Error('client went away'))
      metrics.requests.labels(routeName, String(res.statusCode)).inc()
      log.debug(
        {
          method: req.method,
          url: req.url,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        'request',
      )
    })
    active.add(res)
    try {
      // Inside the try: a target that is not a URL or not UTF-8 is the client's 400.
      const url = parseTarget(req.url ?? '/')
      const r = route(
        req.method ?? 'GET',
        url,
        options.das !== undefined,
        options.providers !== undefined,
      )
      routeName = r.name
      const cors =
        r.name === 'content' || r.name === 'providers' || r.name === 'health' || r.name === 'status'
      if (cors && req.method === 'OPTIONS') {
        res.writeHead(204, PREFLIGHT_HEADERS)
        return void res.end()
      }
      // Errors too (a 503 while shutting down, a 404): the page must be able to read them.
      if (cors) for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value)
      if (closing) {
        res.setHeader('connection', 'close')
        return sendJson(res, 503, {
          error: { code: 'SHUTTING_DOWN', message: 'the node is shutting down' },
        })
      }
      // Its own methods (POST /chain/tx), CORS and errors.
      if (r.name === 'chain')
        return await serveChain(req, res, url, {
          api: options.chain,
          logger: log,
          signal: abort.signal,
        })
      if (r.name !== 'admin-put' && req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD')
        return sendJson(res, 405, {
          error: { code: 'METHOD_NOT_ALLOWED', message: `${req.method} is not supported here` },
        })
      }
      switch (r.name) {
        case 'health':
          return sendJson(res, 200, { status: 'ok' })
        case 'status':
          return sendJson(res, 200, await options.status())
        case 'metrics': {
          const text = await metrics.registry.metrics()
          res.writeHead(200, { 'content-type': metrics.registry.contentType })
          return void res.end(text)
        }
        case 'das':
          return sendJson(res, 200, await dasBody(options.das!, url))
        case 'admin-put':
          return await adminPut(req, res, url, abort.signal)
        case 'content':
          return await serveContent(req, res, url, r.pointer(), abort.signal)
        case 'providers': {
          const root = r.root()
          const providers = options.providers!(root).map((p) => ({
            peer: p.peer,
            multiaddrs: p.multiaddrs,
          }))
          return sendJson(res, 200, { root: bytesToHex(root), providers })
        }
        case 'not-found':
          return sendJson(res, 404, {
            error: { code: 'NOT_FOUND', message: `no route for ${url.pathname}` },
          })
      }
    } catch (error) {
      if (abort.signal.aborted) return
      // Unreadable targets are mostly on content paths: a page must be able to read the 400.
      if (error instanceof RequestError && !res.headersSent)
        for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value)
      const failure = failureOf(error)
      if (failure.status >= 500) log.warn({ err: error, url: req.url }, 'request failed')
      fail(res, failure)
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      // A bug past the handler's own error handling: this request is lost, never the node.
      res.destroy()
      log.error({ err: error, method: req.method, url: req.url }, 'request handler failed')
    })
  })
  // A client may end its side once its request is sent (`nc -N`, the fuzzer's Upgrade requests):
  // it still gets its whole answer. Node's default cut such a response after its first write.
  // The switch is Node's own (since 0.x) but not in its docs or types; gateway-input's
  // half-close test fails if it ever stops working.
  ;(server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })

  return {
    server,
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve(server.address() as AddressInfo)
        })
      })
    },
    async close(graceMs) {
      closing = true
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeIdleConnections()
      const deadline = Date.now() + graceMs
      while (active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25))
      const cut = active.size
      for (const socket of sockets) socket.destroy()
      await stopped
      return cut
    },
  }
}
