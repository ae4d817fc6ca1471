/**
 * The chain's HTTP routes (docs/protocol.md "Chain: HTTP routes"), which the gateway hands every
 * path under `/chain/`:
 *
 *   GET  /chain/head                       { chainId, epoch, height, hash, stateRoot, timestampMs }
 *   POST /chain/tx                         body: an encoded transaction (≤ 128 KiB) → 202 { digest }
 *   GET  /chain/tx/<digest hex>            { digest, status: "pending" } or its receipt
 *   GET  /chain/block/<height>             the executed block (blockToJson)
 *   GET  /chain/state/<table>/<key>        the entry and its proof against the head's root
 *        ?height=<h>                       … against the root of the state after block h
 *   GET  /chain/topology                   { assignment: { epoch, height, node, nodes, peers, connected } | null }
 *   GET  /chain/checkpoints?from=<epoch>   the signed handoffs after that epoch, then the newest
 *                                          checkpoint (CheckpointRunJson, src/checkpoint)
 *   OPTIONS on any of them                 CORS preflight (GET, HEAD, POST; Content-Type, Accept)
 *
 * Everything is readable cross-origin, POST included (a page submits transactions). Errors are
 * the gateway's JSON shape, `{"error":{"code","message"}}`; a node without a genesis answers
 * every chain path 404 CHAIN_NOT_ENABLED. The body of a POST is read with a size limit (a
 * Content-Length over it is refused before a byte is read) and a deadline, so a slow or endless
 * body holds nothing for long.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { decodeSegment, RequestError } from '../gateway/request-target.ts'
import type { Logger } from '../logger.ts'
import {
  answerChainRequest,
  type ChainApi,
  ChainError,
  type ChainRequest,
  chainFailureOf,
  MAX_CHAIN_BODY,
  parseDigest,
  parseHeight,
} from './chain-api.ts'

/** How long a POST body may take to arrive. */
export const CHAIN_BODY_TIMEOUT_MS = 10_000

const CORS_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-expose-headers': 'content-length, x-fulmen-node',
}

const PREFLIGHT_HEADERS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, HEAD, POST',
  'access-control-allow-headers': 'content-type, accept',
  'access-control-max-age': '600',
}

export interface ChainRouteOptions {
  /** The chain, or undefined on a node without a genesis. */
  readonly api: ChainApi | undefined
  readonly logger: Logger
  /** Aborted when the client goes away or the gateway stops. */
  readonly signal: AbortSignal
  readonly maxBodyBytes?: number
  readonly bodyTimeoutMs?: number
}

/** Whether the gateway should hand `path` to `serveChain`. */
export function isChainPath(path: string): boolean {
  return path === '/chain' || path.startsWith('/chain/')
}

type Routed =
  | {
      // `topology` is an HTTP route only: not a ChainRequest of the libp2p protocol.
      readonly request: () => ChainRequest | { readonly op: 'topology' }
      readonly method: 'GET'
    }
  | { readonly request: undefined; readonly method: 'POST' }

/** A query parameter that must be a decimal safe integer when present. */
function numberParam(query: URLSearchParams, name: string): number | undefined {
  const text = query.get(name)
  return text === null ? undefined : parseHeight(text)
}

/** What a path under /chain/ asks; undefined for no such route. */
function routeOf(path: string, query: URLSearchParams): Routed | undefined {
  if (path === '/chain/head') return { method: 'GET', request: () => ({ op: 'head' }) }
  if (path === '/chain/checkpoints') {
    return {
      method: 'GET',
      request: () => ({ op: 'checkpoints', from: numberParam(query, 'from') ?? 0 }),
    }
  }
  if (path === '/chain/tx') return { method: 'POST', request: undefined }
  if (path === '/chain/topology') return { method: 'GET', request: () => ({ op: 'topology' }) }
  let m = /^\/chain\/tx\/([^/]+)$/.exec(path)
  if (m !== null) {
    const text = decodeSegment(m[1]!)
    return { method: 'GET', request: () => ({ op: 'tx', digest: parseDigest(text) }) }
  }
  m = /^\/chain\/block\/([^/]+)$/.exec(path)
  if (m !== null) {
    const text = decodeSegment(m[1]!)
    return { method: 'GET', request: () => ({ op: 'block', height: parseHeight(text) }) }
  }
  m = /^\/chain\/state\/([^/]+)\/([^/]+)$/.exec(path)
  if (m !== null) {
    const table = decodeSegment(m[1]!)
    const key = decodeSegment(m[2]!)
    return {
      method: 'GET',
      request: () => {
        const height = numberParam(query, 'height')
        return { op: 'state', table, key, ...(height === undefined ? {} : { height }) }
      },
    }
  }
  return undefined
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  })
  res.end(text)
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } })
}

/**
 * Serves one request under /chain/. Never rejects for the client's mistakes: every refusal is
 * answered here; only a failure to write the answer escapes (the gateway cuts that response).
 */
export async function serveChain(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  options: ChainRouteOptions,
): Promise<void> {
  const method = req.method ?? 'GET'
  if (method === 'OPTIONS') {
    res.writeHead(204, PREFLIGHT_HEADERS)
    return void res.end()
  }
  for (const [name, value] of Object.entries(CORS_HEADERS)) res.setHeader(name, value)
  try {
    const routed = routeOf(url.pathname, url.searchParams)
    if (options.api === undefined) {
      throw new ChainError(
        'CHAIN_NOT_ENABLED',
        'this node runs no chain (started without a genesis)',
      )
    }
    if (routed === undefined) {
      return sendError(res, 404, 'NOT_FOUND', `no route for ${url.pathname}`)
    }
    const allowed = routed.method === 'GET' ? ['GET', 'HEAD'] : ['POST']
    if (!allowed.includes(method)) {
      res.setHeader('allow', allowed.join(', '))
      return sendError(res, 405, 'METHOD_NOT_ALLOWED', `${method} is not supported here`)
    }
    if (routed.request === undefined) {
      const body = await readBody(req, options)
      const answer = await answerChainRequest(
        options.api,
        { op: 'submit', tx: body },
        options.signal,
      )
      return sendJson(res, 202, answer)
    }
    const request = routed.request()
    if (request.op === 'topology') {
      const topology = options.api.topology
      return sendJson(res, 200, { assignment: topology === undefined ? null : await topology() })
    }
    return sendJson(res, 200, await answerChainRequest(options.api, request))
  } catch (error) {
    if (options.signal.aborted || res.headersSent) {
      if (!res.headersSent) res.destroy()
      return
    }
    const failure =
      error instanceof RequestError
        ? { status: error.status, code: error.code, message: error.message }
        : chainFailureOf(error)
    if (failure.status >= 500)
      options.logger.warn({ err: error, url: req.url }, 'chain request failed')
    // A body left unread (too large, too slow) is not drained: the connection ends instead.
    if (!req.readableEnded) res.setHeader('connection', 'close')
    sendError(res, failure.status, failure.code, failure.message)
  }
}

function tooLarge(limit: number): Error {
  return Object.assign(new Error(`a transaction is at most ${limit} bytes`), {
    code: 'TX_TOO_LARGE',
  })
}

/**
 * The request's body, at most `maxBodyBytes`, within `bodyTimeoutMs`. Read by listeners, not
 * for-await: giving up on a body must leave the socket open for the answer, and leaving a
 * for-await loop destroys the request (and with it the socket).
 */
function readBody(req: IncomingMessage, options: ChainRouteOptions): Promise<Uint8Array> {
  const limit = options.maxBodyBytes ?? MAX_CHAIN_BODY
  const declared = req.headers['content-length']
  if (declared !== undefined && Number(declared) > limit) return Promise.reject(tooLarge(limit))
  const timeoutMs = options.bodyTimeoutMs ?? CHAIN_BODY_TIMEOUT_MS
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = []
    let length = 0
    const finish = (error: unknown, body?: Uint8Array) => {
      clearTimeout(timer)
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      options.signal.removeEventListener('abort', onAbort)
      if (error === undefined) resolve(body!)
      else {
        req.pause()
        reject(error)
      }
    }
    const onData = (chunk: Uint8Array) => {
      length += chunk.length
      if (length > limit) finish(tooLarge(limit))
      else chunks.push(chunk)
    }
    const onEnd = () => {
      const body = new Uint8Array(length)
      let at = 0
      for (const chunk of chunks) {
        body.set(chunk, at)
        at += chunk.length
      }
      finish(undefined, body)
    }
    const onError = (error: unknown) => finish(error)
    const onAbort = () => finish(options.signal.reason)
    const timer = setTimeout(
      () =>
        finish(
          new ChainError('CHAIN_BODY_TIMEOUT', `the body did not arrive within ${timeoutMs} ms`),
        ),
      timeoutMs,
    )
    req.on('data', onData)
    req.on('end', onEnd)
    req.on('error', onError)
    options.signal.addEventListener('abort', onAbort, { once: true })
  })
}
