/**
 * A tiny `node:http` reverse proxy in front of a node's gateway that can lie: it forwards each
 * request and passes the answer back, except that it may flip one body byte, cut the body
 * short, or fetch another path than the one asked for (another content's answer). What a
 * client that verifies must catch; what one that trusts would not.
 */
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export type Tamper =
  /** Forward faithfully. */
  | { readonly kind: 'none' }
  /** XOR the body byte at offset `at` with 0x01 (Content-Length kept). */
  | { readonly kind: 'flip'; readonly at: number }
  /**
   * End the body cleanly after `at` bytes. Content-Length is dropped (chunked encoding), so
   * the client sees a well-formed, shorter body; with `keepLength` it is kept and the
   * connection is cut instead.
   */
  | { readonly kind: 'truncate'; readonly at: number; readonly keepLength?: boolean }
  /** Ask the upstream for `path` instead (query string included) whatever was requested. */
  | { readonly kind: 'substitute'; readonly path: string }

export interface TamperProxy {
  /** `http://127.0.0.1:<port>` */
  readonly url: string
  /** What the proxy does to the next responses (it may be changed between requests). */
  tamper: Tamper
  /** Requests forwarded so far (paths as received). */
  readonly requests: string[]
  close(): Promise<void>
}

export async function startTamperProxy(
  upstream: string,
  tamper: Tamper = { kind: 'none' },
): Promise<TamperProxy> {
  const target = new URL(upstream)
  const requests: string[] = []
  const proxy = {
    url: '',
    tamper,
    requests,
    close: async () => {},
  }
  const server: Server = createServer((req, res) => {
    requests.push(req.url ?? '/')
    const t = proxy.tamper
    const path = t.kind === 'substitute' ? t.path : (req.url ?? '/')
    const headers = { ...req.headers, host: target.host }
    const up = request(
      { host: target.hostname, port: target.port, method: req.method, path, headers },
      (upRes) => {
        const outHeaders = { ...upRes.headers }
        if (t.kind === 'truncate' && t.keepLength !== true) delete outHeaders['content-length']
        res.writeHead(upRes.statusCode ?? 502, outHeaders)
        let offset = 0
        upRes.on('data', (chunk: Buffer) => {
          let out = chunk
          if (t.kind === 'flip' && t.at >= offset && t.at < offset + chunk.length) {
            out = Buffer.from(chunk)
            out[t.at - offset] = out[t.at - offset]! ^ 0x01
          }
          if (t.kind === 'truncate' && offset + chunk.length >= t.at) {
            const keep = out.subarray(0, Math.max(0, t.at - offset))
            offset += chunk.length
            upRes.destroy()
            if (t.keepLength === true) {
              res.write(keep, () => res.destroy())
            } else {
              res.end(keep)
            }
            return
          }
          offset += chunk.length
          if (!res.write(out)) {
            upRes.pause()
            res.once('drain', () => upRes.resume())
          }
        })
        upRes.on('end', () => res.end())
        upRes.on('error', () => res.destroy())
      },
    )
    up.on('error', () => {
      if (!res.headersSent) res.writeHead(502).end()
      else res.destroy()
    })
    res.on('close', () => up.destroy())
    req.pipe(up)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return proxy
}
