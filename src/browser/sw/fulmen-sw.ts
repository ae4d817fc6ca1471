/**
 * The Fulmen service worker: answers `GET <prefix><pointer>` with verified bytes (see
 * `sw-request.ts` for the spellings), from the block cache or from nodes; everything else
 * falls through untouched. The browser stops idle workers and starts them again on the next
 * event with no globals left, so all state is in IndexedDB and read back lazily; the prefix
 * is also in the script URL (`?prefix=`), because a fetch event must be claimed synchronously,
 * before anything can be read.
 */
import { createClient, type FulmenClient } from '../../client/client.ts'
import { openBrowserChain } from '../browser-chain.ts'
import { loadOrCreateClientKey } from '../key-store.ts'
import { type BlockCache, createBlockCache } from './block-cache.ts'
import type { BlockSource } from './block-source.ts'
import { gatewaySource } from './gateway-fetch.ts'
import { nodeSource } from './node-source.ts'
import { resolvePointer } from './resolve-pointer.ts'
import { DEFAULT_PREFIX, loadConfig, mergeConfig, type SwConfig, saveConfig } from './sw-config.ts'
import { openSwDatabase, type SwDatabase } from './sw-database.ts'
import { isSwMessage, type SwMessage, type SwReply } from './sw-messages.ts'
import { isUnderPrefix, parseSwRequest, type SwRequest } from './sw-request.ts'
import type { FetchEvent, ServiceWorkerScope } from './sw-scope.ts'
import { StatsRecorder } from './sw-stats.ts'
import { errorResponse, type Origin, verifiedResponse } from './verified-response.ts'

// The scope the worker script hands in, for workers/fulmen-sw.ts.
export type { ServiceWorkerScope } from './sw-scope.ts'

export interface FulmenServiceWorkerOptions {
  /** IndexedDB database name (default `fulmen-sw`). */
  readonly databaseName?: string
  /** Bytes of verified blocks kept (default 512 MiB). */
  readonly quotaBytes?: number
}

interface Persistent {
  readonly db: SwDatabase
  readonly cache: BlockCache
  config: SwConfig | undefined
}

export function installFulmenServiceWorker(
  scope: ServiceWorkerScope,
  options: FulmenServiceWorkerOptions = {},
): void {
  let prefix = new URL(scope.location.href).searchParams.get('prefix') ?? DEFAULT_PREFIX
  const stats = new StatsRecorder()
  let persistent: Promise<Persistent> | undefined
  let client: { config: SwConfig; started: Promise<FulmenClient> } | undefined
  /** The client once started, for its delivery acknowledgements in the stats. */
  let running: FulmenClient | undefined
  let clientsStarted = 0
  /** Clients replaced by a new configuration, being closed: their cut fetches are not failures. */
  const retired = new WeakSet<FulmenClient>()
  const resolving = new Map<string, Promise<{ root: string; from?: Origin }>>()

  const state = (): Promise<Persistent> => {
    persistent ??= (async () => {
      const db = await openSwDatabase(options.databaseName)
      const cache = createBlockCache(db, { quotaBytes: options.quotaBytes })
      const config = await loadConfig(db)
      if (config !== undefined) prefix = config.prefix
      return { db, cache, config }
    })()
    persistent.catch(() => {
      persistent = undefined // try again on the next event
    })
    return persistent
  }

  const clientFor = (config: SwConfig): Promise<FulmenClient> => {
    if (client?.config === config) return client.started
    const old = client
    const generation = ++clientsStarted
    const started = (async () => {
      await old?.started
        .then((c) => {
          retired.add(c)
          return c.close()
        })
        .catch(() => {})
      const t0 = performance.now()
      // With a chain, nodes are vetted by a light client running here, its head in IndexedDB.
      const chain = await openBrowserChain(config.chain)
      let c: FulmenClient
      try {
        c = await createClient({
          bootstrap: config.nodes,
          key: await loadOrCreateClientKey(),
          order: config.order,
          ...(chain.chain === undefined ? {} : { chain: chain.chain }),
        })
      } catch (error) {
        await chain.close()
        throw error
      }
      const close = c.close.bind(c)
      c = { ...c, close: () => close().finally(() => chain.close()) }
      stats.clientStartMs = Math.round(performance.now() - t0)
      if (generation === clientsStarted) {
        running = c
        stats.client = generation
      }
      return c
    })()
    client = { config, started }
    started.catch(() => {
      if (client?.started === started) client = undefined
    })
    return started
  }

  const sources = async (): Promise<readonly BlockSource[]> => {
    const { config } = await state()
    if (config === undefined) return []
    const list: BlockSource[] = []
    if (config.nodes.length > 0)
      list.push(
        nodeSource(
          () => clientFor(config),
          stats,
          (c) => retired.has(c),
        ),
      )
    for (const g of config.gateways) list.push(gatewaySource(g, stats))
    return list
  }

  const respond = async (event: FetchEvent): Promise<Response> => {
    const signal = event.request.signal
    const { method, headers } = event.request
    try {
      const request = parseSwRequest(new URL(event.request.url), prefix, headers.get('range'), {
        method,
        ifNoneMatch: headers.get('if-none-match'),
      })
      const { cache } = await state()
      const response = await verifiedResponse(
        request,
        {
          cache,
          sources,
          stats,
          resolve: (r, s) => resolve(r, cache, s),
          // The worker lives while the body streams (no extra stream hop in between).
          keepAlive: (settled) => event.waitUntil(settled),
        },
        signal,
      )
      return response
    } catch (error) {
      const res = errorResponse(signal.aborted ? signal.reason : error, method)
      stats.failed(`${res.status}: ${(error as Error)?.message ?? String(error)}`)
      return res
    }
  }

  const resolve = async (
    request: SwRequest,
    cache: BlockCache,
    signal: AbortSignal,
  ): Promise<{ root: string; from?: Origin }> => {
    const known = await cache.rootOf(request.spelling)
    if (known !== undefined) return { root: known }
    let pending = resolving.get(request.spelling)
    if (pending === undefined) {
      // Shared by concurrent requests: not cancelled by any one of them.
      pending = sources()
        .then((list) =>
          resolvePointer(
            request.pointer,
            request.spelling,
            list,
            cache,
            new AbortController().signal,
          ),
        )
        .then((r) => ({ root: r.root, from: { source: r.source, node: r.node } }))
        .finally(() => resolving.delete(request.spelling))
      resolving.set(request.spelling, pending)
    }
    signal.throwIfAborted()
    return pending
  }

  const handle = async (message: SwMessage): Promise<SwReply> => {
    const s = await state()
    switch (message.type) {
      case 'fulmen:configure': {
        const config = mergeConfig(s.config, message.config)
        await saveConfig(s.db, config)
        s.config = config
        prefix = config.prefix
        // The client starts now (as `createClient` does for a page), not in the first request:
        // pages configure the worker before they render what it serves.
        if (config.nodes.length > 0) await clientFor(config).catch(() => {})
        return { ok: true, config }
      }
      case 'fulmen:stats':
        stats.acks = (running?.nodes() ?? []).flatMap((n) =>
          n.acks === undefined ? [] : [{ peer: n.peer, acks: n.acks }],
        )
        return { ok: true, stats: stats.snapshot(), ...(s.config ? { config: s.config } : {}) }
      case 'fulmen:clear-cache':
        await s.cache.clear()
        return { ok: true }
    }
  }

  scope.addEventListener('install', (event) => {
    event.waitUntil(scope.skipWaiting())
  })
  scope.addEventListener('activate', (event) => {
    event.waitUntil(scope.clients.claim())
  })
  scope.addEventListener('message', (event) => {
    if (!isSwMessage(event.data)) return
    const port = event.ports[0]
    event.waitUntil(
      handle(event.data)
        .catch(
          (error: unknown): SwReply => ({
            ok: false,
            code: String((error as { code?: unknown })?.code ?? 'SW_ERROR'),
            message: (error as Error)?.message ?? String(error),
          }),
        )
        .then((reply) => port?.postMessage(reply)),
    )
  })
  scope.addEventListener('fetch', (event) => {
    // HEAD too: answered from what is known, without a body (verified-response.ts).
    if (event.request.method !== 'GET' && event.request.method !== 'HEAD') return
    const url = new URL(event.request.url)
    if (!isUnderPrefix(url, scope.location.origin, prefix)) return
    event.respondWith(respond(event))
  })
  // A restarted worker reads its configuration back now, before the first fetch needs it.
  state().catch(() => {})
}
