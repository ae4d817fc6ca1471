/**
 * The worker half of a tab node: the node core (src/host/node-core.ts) over the tab's IndexedDB
 * block store and DA pool — the session host with the CDN service over them, metrics in memory
 * (what `stats` reads) — plus the upload cap, the session cap and `cache`'s client. Streams arrive from the
 * window as MessagePorts (src/wire/port-channel.ts). The tab never fetches from origins to
 * answer a peer: its resolver knows only the store, which holds only what `cache` verified.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import * as Comlink from 'comlink'
import { type ClientFetchOptions, createClient, type FulmenClient } from '../../client/client.ts'
import { type Component, startFailureCause } from '../../core/lifecycle.ts'
import { createConsoleLogger } from '../../core/logger.ts'
import { createMemoryMetrics } from '../../core/metrics.ts'
import { generateClientKey } from '../../crypto/client-key.ts'
import { createHostMetrics, HOST_METRIC_NAMES } from '../../host/host-metrics.ts'
import { createNodeCore, type NodeCore, storeComponent } from '../../host/node-core.ts'
import { formatPointer, parsePointer } from '../../origin/pointer.ts'
import { openIdbBlockStore } from '../../store/idb-block-store.ts'
import { portChannel } from '../../wire/port-channel.ts'
import { openBrowserChain } from '../browser-chain.ts'
import { idbSpill } from '../idb-spill.ts'
import { loadOrCreateClientKey } from '../key-store.ts'
import { type ErrorData, errorFromData } from '../thread-errors.ts'
import { type IdbDaPool, openIdbDaPool } from './idb-da-pool.ts'
import type {
  CachedContent,
  CacheProgressListener,
  TabNodeStats,
  TabNodeWorkerApi,
  TabNodeWorkerOptions,
} from './tab-node-api.ts'
import { TabNodeError } from './tab-node-errors.ts'
import { rateLimited, TokenBucket } from './token-bucket.ts'

/** A tab's session settings: a full node's defaults (src/node/config.ts), fewer per client. */
export const TAB_SESSION_CONFIG = {
  ackWindow: 16,
  ackTimeoutMs: 10_000,
  handshakeTimeoutMs: 5_000,
  maxSessionsPerClient: 4,
  maxStreamsPerSession: 8,
  epochMs: 86_400_000,
} as const

interface Running {
  readonly options: TabNodeWorkerOptions
  readonly core: NodeCore<IdbDaPool>
  readonly bucket: TokenBucket | undefined
  client: Promise<FulmenClient> | undefined
}

/** Quiet unless something is wrong: a misbehaving peer is routine for a node. */
const logger = createConsoleLogger({ level: 'warn', prefix: 'fulmen tab node: ' })

export function createTabNodeService(): TabNodeWorkerApi {
  let running: Running | undefined
  // Counted over the service's life, as the stats always were.
  const memory = createMemoryMetrics()
  const metrics = createHostMetrics(memory)
  let sessionsTotal = 0

  const started = (): Running => {
    if (running === undefined)
      throw new TabNodeError('TAB_NODE_STOPPED', 'the tab node is not running')
    return running
  }

  const clientOf = (r: Running): Promise<FulmenClient> => {
    r.client ??= (async () => {
      const key =
        r.options.keyDatabase === false
          ? generateClientKey()
          : await loadOrCreateClientKey({ database: r.options.keyDatabase })
      // An IPFS or HTTP pointer is stored only once it matched its digest: the client holds
      // its body until then (past 32 MiB, in IndexedDB) and releases nothing unverified.
      // With a chain, the relays are vetted by a light client in this worker (head in IndexedDB).
      const chain = await openBrowserChain(r.options.chain)
      try {
        const client = await createClient({
          bootstrap: r.options.relays,
          key,
          holding: { spill: idbSpill() },
          ...(chain.chain === undefined ? {} : { chain: chain.chain }),
        })
        const close = client.close.bind(client)
        return { ...client, close: () => close().finally(() => chain.close()) }
      } catch (error) {
        await chain.close()
        throw error
      }
    })()
    // A client that cannot start is that cache call's failure; the next one tries again.
    r.client.catch(() => {
      r.client = undefined
    })
    return r.client
  }

  return {
    async start(options) {
      if (running !== undefined) throw new TabNodeError('TAB_NODE_RUNNING', 'already started')
      // `cache`'s client, made on first use: closed first, before the sessions stop.
      const clientPart: Component = {
        name: 'client',
        start() {},
        async stop() {
          const client = await r.client?.catch(() => undefined)
          await client?.close().catch(() => {})
        },
      }
      const core = createNodeCore({
        name: 'tab node',
        nodeKey: options.nodeKey,
        nodePeerId: options.nodePeerId,
        sessionConfig: TAB_SESSION_CONFIG,
        ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
        store: storeComponent(() =>
          openIdbBlockStore({ name: options.database, limitBytes: options.quota }),
        ),
        openClaims: () => openIdbDaPool({ database: `${options.database}-das` }),
        // The default resolver, the store alone: a peer asking for content the tab does not
        // hold gets a 404 ERROR frame; the tab never fetches from origins to answer a peer.
        sessionHooks: {
          opened(stream) {
            if (stream.kind === 'primary') sessionsTotal++
          },
        },
        components: [clientPart],
        metrics,
        logger,
      })
      const r: Running = {
        options,
        core,
        bucket:
          options.maxUpload === undefined
            ? undefined
            : new TokenBucket({ rate: options.maxUpload }),
        client: undefined,
      }
      try {
        await core.start()
      } catch (error) {
        throw startFailureCause(error)
      }
      running = r
    },

    serve(port, remotePeer) {
      const r = running
      if (r === undefined) {
        port.close()
        return
      }
      const channel = portChannel(port, remotePeer)
      void r.core.sessions.handle(r.bucket === undefined ? channel : rateLimited(channel, r.bucket))
    },

    async cache(pointerText, options, onProgress) {
      const r = started()
      const controller = new AbortController()
      const { abort } = options
      if (abort !== undefined) {
        abort.onmessage = (event: MessageEvent<ErrorData | undefined>) =>
          controller.abort(event.data === undefined ? undefined : errorFromData(event.data))
      }
      try {
        return await cacheInto(r, pointerText, controller.signal, onProgress, clientOf)
      } finally {
        abort?.close()
        // The page's listener came as a comlink proxy: let it go, or the page keeps it forever.
        if (onProgress !== undefined)
          (onProgress as unknown as Comlink.Remote<unknown>)[Comlink.releaseProxy]()
      }
    },

    async roots() {
      const r = started()
      const roots: string[] = []
      for await (const c of r.core.store.list()) roots.push(bytesToHex(c.root))
      return roots.sort()
    },

    async stats(): Promise<TabNodeStats> {
      const r = started()
      const [das, usage] = await Promise.all([r.core.claims.summary(), r.core.store.usage()])
      const refusals = memory.series(HOST_METRIC_NAMES.sessionsRefused)
      return {
        bytesServed: memory.value(HOST_METRIC_NAMES.bytesServed, { format: 'session' }),
        sessionsOpen: r.core.sessions.activeSessions,
        sessionsTotal,
        streamsOpen: memory.value(HOST_METRIC_NAMES.sessionStreams),
        das: { claims: das.claims, units: das.units, bytes: das.bytes },
        refused: refusals.reduce((sum, s) => sum + s.value, 0),
        refusedByCode: Object.fromEntries(refusals.map((s) => [s.labels.code, s.value])),
        store: { bytes: usage.bytes, contents: usage.contents, quota: r.options.quota },
      }
    },

    async stop() {
      const r = running
      if (r === undefined) return
      running = undefined
      await r.core.stop()
    },
  }
}

/**
 * Fetches `pointerText` with the client (each block verified against the root) and streams
 * the verified bytes into the store with `expectedRoot`, which hashes them again: the store
 * never commits content whose tree it did not compute itself.
 */
async function cacheInto(
  r: Running,
  pointerText: string,
  signal: AbortSignal,
  onProgress: CacheProgressListener | undefined,
  clientOf: (r: Running) => Promise<FulmenClient>,
): Promise<CachedContent> {
  let pointer: ReturnType<typeof parsePointer>
  try {
    pointer = parsePointer(pointerText)
  } catch (error) {
    throw new TabNodeError('TAB_NODE_BAD_POINTER', (error as Error).message, { cause: error })
  }
  const spelling = formatPointer(pointer)
  const store = r.core.store
  const held = pointer.kind === 'blake3' ? pointer.root : await store.getPointer(spelling)
  const stat = held === undefined ? undefined : await store.stat(held)
  if (stat !== undefined)
    return { root: bytesToHex(stat.root), length: stat.length, fetched: false }

  const client = await clientOf(r)
  const fetchOptions: ClientFetchOptions = { signal }
  const response = await client.fetch(pointer, fetchOptions)
  const root = hexToBytes((response.headers.get('etag') ?? '').replaceAll('"', ''))
  const total = Number(response.headers.get('content-length'))
  const body = response.body ?? new ReadableStream<Uint8Array>()
  // Fire and forget: a page that went away must not fail the import.
  const report = (bytes: number) => {
    try {
      void Promise.resolve(onProgress?.({ bytes, total })).catch(() => {})
    } catch {}
  }
  const tree = await store.put(body, { expectedRoot: root, signal, onProgress: report })
  if (pointer.kind !== 'blake3') await store.setPointer(spelling, tree.root)
  return { root: bytesToHex(tree.root), length: tree.length, fetched: true }
}
