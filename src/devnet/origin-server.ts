/**
 * A local HTTP origin for process-level tests: paths mapped to bodies, each of which may be
 * served late, without a Content-Length, or as other bytes than the ones its SRI names (a
 * lying origin). Every request is recorded. Built on `startServer` (http-server.ts).
 */
import { createHash } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import { sleep, startServer, type TestServer } from './http-server.ts'

export interface OriginRoute {
  readonly body: Uint8Array
  /** Wait this long before answering. */
  readonly delayMs?: number
  /** Send the body with one byte changed: its SRI no longer matches. */
  readonly lie?: boolean
  /** No Content-Length (chunked), so a size limit can only be caught while reading. */
  readonly chunked?: boolean
}

export interface LocalOrigin extends TestServer {
  readonly routes: Map<string, OriginRoute>
  /** Requests received for `path`. */
  count(path: string): number
  /** `http://127.0.0.1:<port><path>` */
  urlOf(path: string): string
}

/** `sha256-<base64>` Subresource Integrity of `bytes`. */
export function sriOf(bytes: Uint8Array, algorithm: 'sha256' | 'sha384' | 'sha512' = 'sha256') {
  return `${algorithm}-${createHash(algorithm).update(bytes).digest('base64')}`
}

async function send(res: ServerResponse, route: OriginRoute): Promise<void> {
  if (route.delayMs) await sleep(route.delayMs)
  if (res.destroyed) return
  let body = route.body
  if (route.lie) {
    body = Uint8Array.from(route.body)
    body[body.length >> 1] = body[body.length >> 1]! ^ 0x01
  }
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' }
  if (!route.chunked) headers['content-length'] = String(body.length)
  res.writeHead(200, headers)
  if (!route.chunked) {
    res.end(body)
    return
  }
  // Chunked, in 64 KiB writes that respect backpressure.
  for (let off = 0; off < body.length && !res.destroyed; off += 65_536) {
    if (!res.write(body.subarray(off, off + 65_536))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done)
          res.off('close', done)
          resolve()
        }
        res.on('drain', done)
        res.on('close', done)
      })
    }
  }
  res.end()
}

export async function startOrigin(routes: Record<string, OriginRoute> = {}): Promise<LocalOrigin> {
  const table = new Map(Object.entries(routes))
  const server = await startServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://origin').pathname
    const route = table.get(path)
    if (route === undefined || req.method !== 'GET') {
      res.writeHead(404).end('not found')
      return
    }
    await send(res, route)
  })
  return {
    ...server,
    routes: table,
    count: (path) =>
      server.requests.filter((r) => new URL(r.url, 'http://origin').pathname === path).length,
    urlOf: (path) => `${server.url}${path}`,
  }
}
