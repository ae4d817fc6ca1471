/**
 * The demo as `npm start` runs it, reusable by the e2e tests: a local network of real node
 * processes (src/devnet/local-network.ts) and the demo page (demo/) served by Vite, with
 * a small plugin that lets the page see and steer the network:
 *
 *   GET  /fulmen-network.json                 network.toJSON(), live (stopped nodes show)
 *   POST /fulmen-network/nodes/<i>/stop|start node i (0-based); answers the new JSON
 *
 * The POST routes accept loopback callers only, and only same-origin page requests (a page on
 * another site cannot stop your nodes through your browser).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { createServer, type Plugin, type ViteDevServer } from 'vite'
import {
  type LocalNetwork,
  type LocalNetworkOptions,
  startLocalNetwork,
} from '../src/devnet/local-network.ts'

export const VITE_CONFIG = fileURLToPath(new URL('../vite.config.ts', import.meta.url))
export const DEMO_ROOT = fileURLToPath(new URL('../demo/', import.meta.url))
export const DEFAULT_DEMO_PORT = 5173
export const NETWORK_JSON_PATH = '/fulmen-network.json'

export interface DemoOptions {
  /** Vite's port (default 5173; the next free one if taken; 0 = any). */
  readonly port?: number
  /** Vite's address (default 127.0.0.1). */
  readonly host?: string
  /** Options of the local network (its `signal` and `log` come from here). */
  readonly network?: Omit<LocalNetworkOptions, 'signal' | 'log'>
  readonly signal?: AbortSignal
  /** Progress lines (nothing by default). */
  readonly log?: (line: string) => void
}

export interface Demo {
  /** The page: `http://127.0.0.1:<port>/`. */
  readonly url: string
  readonly network: LocalNetwork
  readonly vite: ViteDevServer
  /** Stops Vite and the network; idempotent. */
  close(): Promise<void>
}

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1'
}

/** Whether a browser sent this from another site (no Origin at all: curl, tests, fine). */
function isCrossSite(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return true
  const origin = req.headers.origin
  if (origin === undefined) return false
  try {
    return new URL(origin).host !== req.headers.host
  } catch {
    return true
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  })
  res.end(text)
}

/** The Vite plugin: the network's description and its node switches. */
export function fulmenNetworkPlugin(
  network: LocalNetwork,
  log: (line: string) => void = () => {},
): Plugin {
  const handle = async (req: IncomingMessage, res: ServerResponse, next: () => void) => {
    const path = new URL(req.url ?? '/', 'http://demo').pathname
    if (path === NETWORK_JSON_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD')
        return sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED' } })
      }
      return sendJson(res, 200, network.toJSON())
    }
    const m = /^\/fulmen-network\/nodes\/(\d+)\/(stop|start)$/.exec(path)
    if (m === null) return next()
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      return sendJson(res, 405, { error: { code: 'METHOD_NOT_ALLOWED' } })
    }
    if (!isLoopback(req.socket.remoteAddress) || isCrossSite(req)) {
      return sendJson(res, 403, {
        error: { code: 'FORBIDDEN', message: 'nodes are steered from this machine’s page only' },
      })
    }
    const i = Number(m[1])
    if (i >= network.nodes.length) {
      return sendJson(res, 404, {
        error: { code: 'NETWORK_NO_SUCH_NODE', message: `no node ${i}` },
      })
    }
    try {
      log(`${m[2]} ${network.nodes[i]!.name} (asked by the page)`)
      await (m[2] === 'stop' ? network.stopNode(i) : network.startNode(i))
      sendJson(res, 200, network.toJSON())
    } catch (error) {
      const code = (error as { code?: unknown }).code
      sendJson(res, 500, {
        error: {
          code: typeof code === 'string' ? code : 'NETWORK_ERROR',
          message: error instanceof Error ? error.message : String(error),
        },
      })
    }
  }
  return {
    name: 'fulmen-network',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        handle(req, res, next).catch(next)
      })
    },
  }
}

/** Starts the local network, then Vite; on any failure stops whatever was started. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const log = options.log ?? (() => {})
  const network = await startLocalNetwork({
    ...options.network,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    log,
  })
  let vite: ViteDevServer | undefined
  try {
    log('starting Vite')
    const host = options.host ?? '127.0.0.1'
    const sigterm = new Set(process.listeners('SIGTERM'))
    const stdinEnd = new Set(process.stdin.listeners('end'))
    vite = await createServer({
      configFile: VITE_CONFIG,
      root: DEMO_ROOT,
      clearScreen: false,
      logLevel: 'warn',
      server: { host, port: options.port ?? DEFAULT_DEMO_PORT, strictPort: false },
      plugins: [fulmenNetworkPlugin(network, log)],
    })
    // Vite exits the process on SIGTERM (or when stdin ends) after closing only itself: the
    // nodes would be killed, not stopped. Whoever runs the demo owns the signals and close().
    for (const l of process.listeners('SIGTERM')) if (!sigterm.has(l)) process.off('SIGTERM', l)
    for (const l of process.stdin.listeners('end'))
      if (!stdinEnd.has(l)) process.stdin.off('end', l as () => void)
    await vite.listen()
    options.signal?.throwIfAborted()
    const address = vite.httpServer?.address() as AddressInfo | null
    if (address === null || address === undefined) throw new Error('Vite is not listening')
    const shown = host.includes(':') ? `[${host}]` : host
    const url = `http://${shown}:${address.port}/`
    let closing: Promise<void> | undefined
    const server = vite
    return {
      url,
      network,
      vite: server,
      close() {
        closing ??= (async () => {
          await server.close().catch((e: unknown) => log(`Vite did not close cleanly: ${e}`))
          await network.stop()
        })()
        return closing
      },
    }
  } catch (error) {
    await vite?.close().catch(() => {})
    await network.stop()
    throw error
  }
}
