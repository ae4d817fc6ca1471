/**
 * A full node, composed: identity → metrics → block store (checked on read, scrubbed in the
 * background) → origins → resolver → libp2p →
 * DA pool → sessions (handshake + CDN service) → discovery (tabs' announced roots) → HTTP
 * gateway. `startFullNode` brings it up in that order; `stop` takes it down in reverse,
 * finishing (or, after the grace period, cutting) open responses and flushing the store.
 */
import { rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { bytesToHex } from '@noble/hashes/utils.js'
import packageJson from '../../package.json' with { type: 'json' }
import { readySync } from '../b3/engine.ts'
import { createNodeLibp2p, type NodeLibp2p } from '../net/node-libp2p.ts'
import { createHttpOrigin } from '../origin/http-origin.ts'
import { createIpfsOrigin } from '../origin/ipfs-origin.ts'
import type { Origin } from '../origin/origin.ts'
import { createResolver } from '../origin/resolver.ts'
import type { BlockStore } from '../store/block-store.ts'
import { createCheckedStore } from '../store/checked-store.ts'
import { openFsBlockStore } from '../store/fs-block-store.ts'
import { createStoreGuard } from '../store/store-guard.ts'
import type { NodeConfig } from './config.ts'
import { type DaPool, openDaPool } from './das/da-pool.ts'
import { createGateway, type Gateway } from './gateway/http-gateway.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { createLogger, type Logger } from './logger.ts'
import { createMetrics, type NodeMetrics } from './metrics.ts'
import { type ProviderService, startProviderService } from './providers/provider-service.ts'
import { RUNTIME_FILE, type RuntimeInfo } from './runtime.ts'
import { type SessionService, startSessionService } from './session-service.ts'
import { createStoreScrubber } from './store-scrubber.ts'

export { RUNTIME_FILE }

export interface FullNode {
  readonly peerId: string
  readonly http: AddressInfo
  readonly httpUrl: string
  readonly libp2p: NodeLibp2p
  readonly store: BlockStore
  /** Delivery acknowledgement claims received by this node (LevelDB). */
  readonly das: DaPool
  readonly sessions: SessionService
  /** Discovery: which connected tabs announced which roots (`/fulmen/providers/1.0.0`). */
  readonly providers: ProviderService
  readonly metrics: NodeMetrics
  readonly logger: Logger
  multiaddrs(): string[]
  /** Graceful stop; resolves once everything is closed. Safe to call twice. */
  stop(reason?: string): Promise<void>
}

export async function startFullNode(
  config: NodeConfig,
  options: { logger?: Logger } = {},
): Promise<FullNode> {
  const logger = options.logger ?? createLogger(config.logLevel)
  const startedAt = new Date()
  readySync()
  const { key, created } = await loadOrCreateIdentity(config.dataDir)
  const peerId = peerIdFromPrivateKey(key).toString()
  const log = logger.child({ component: 'node', peerId })
  log.info(
    { dataDir: config.dataDir, created },
    created ? 'created a new node identity' : 'loaded the node identity',
  )

  const metrics = createMetrics()
  const fsStore = await openFsBlockStore({
    dir: join(config.dataDir, 'store'),
    limitBytes: config.cacheSize,
    logger,
  })
  // Stored bytes that no longer match their tree are never served: the guard drops the
  // content (the next request is a miss: an origin fills it where one can) and reports it.
  const storeLog = logger.child({ component: 'store' })
  const guard = createStoreGuard({
    store: fsStore,
    onCorrupt: (c) => {
      metrics.verificationFailures.labels('store').inc()
      storeLog.error(
        {
          root: bytesToHex(c.root),
          block: c.block,
          found: c.found,
          length: c.length,
          pinned: c.pinned,
          dropped: c.dropped,
          ...(c.error === undefined ? {} : { err: c.error }),
        },
        'corrupt content dropped',
      )
    },
  })
  const store = createCheckedStore(fsStore, guard)
  const scrubber = createStoreScrubber({
    store: fsStore,
    guard,
    rateBytesPerSecond: config.scrub.rate,
    intervalMs: config.scrub.intervalMs,
    logger: logger.child({ component: 'scrubber' }),
    onScrubbed: (n) => metrics.scrubBytes.inc(n),
    onPass: () => metrics.scrubPasses.inc(),
  })
  const origins: Origin[] = []
  if (config.origins.ipfsGateways.length > 0)
    origins.push(createIpfsOrigin({ gateways: config.origins.ipfsGateways }))
  if (config.origins.http) origins.push(createHttpOrigin())
  const resolver = createResolver({
    store,
    origins,
    limits: { maxBytes: config.origins.maxBytes, timeoutMs: config.origins.timeoutMs },
    logger,
    metrics: {
      originFetch: (name, ok, bytes, code) => {
        metrics.originFetches.labels(name, ok ? 'ok' : (code ?? 'error')).inc()
        metrics.originBytes.labels(name).inc(bytes)
        if (code === 'ORIGIN_INTEGRITY') metrics.verificationFailures.labels('origin').inc()
      },
      cacheHit: () => metrics.cacheHits.inc(),
      cacheMiss: () => metrics.cacheMisses.inc(),
    },
  })

  let libp2p: NodeLibp2p | undefined
  let gateway: Gateway | undefined
  let das: DaPool | undefined
  let sessions: SessionService | undefined
  let providers: ProviderService | undefined
  const refreshStoreGauges = async () => {
    const usage = await store.usage()
    metrics.storeBytes.set(usage.bytes)
    metrics.storeContents.set(usage.contents)
    return usage
  }
  try {
    libp2p = await createNodeLibp2p({
      privateKey: key,
      host: config.host,
      wsPort: config.wsPort,
      webrtcPort: config.webrtcPort,
    })
    await libp2p.start()
    const p2p = libp2p
    const pool = await openDaPool({ dir: join(config.dataDir, 'das') })
    das = pool
    sessions = await startSessionService({
      libp2p: p2p,
      privateKey: key,
      resolver,
      store,
      claims: {
        put: async (claim, meta) => {
          await pool.put(claim, meta)
          metrics.claimsStored.inc()
        },
      },
      config: config.sessions,
      logger,
      metrics,
    })
    const sessionService = sessions
    providers = await startProviderService({ libp2p: p2p, logger, metrics })
    const providerService = providers
    gateway = createGateway({
      das: pool,
      store,
      resolver,
      metrics,
      logger,
      nodeId: peerId,
      providers: (root) => providerService.lookup(root),
      status: async () => ({
        peerId,
        version: packageJson.version,
        http: httpUrl,
        multiaddrs: p2p.getMultiaddrs().map(String),
        uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
        store: await refreshStoreGauges(),
        origins: origins.map((o) => o.name),
      }),
    })
    const http = await gateway.listen(config.httpPort, config.host)
    const httpUrl = `http://${http.family === 'IPv6' ? `[${http.address}]` : http.address}:${http.port}`
    const runtime: RuntimeInfo = {
      pid: process.pid,
      peerId,
      http: httpUrl,
      multiaddrs: p2p.getMultiaddrs().map(String),
      startedAt: startedAt.toISOString(),
    }
    await writeFile(join(config.dataDir, RUNTIME_FILE), `${JSON.stringify(runtime, null, 2)}\n`)
    await refreshStoreGauges()
    const gauges = setInterval(() => void refreshStoreGauges().catch(() => {}), 15_000)
    gauges.unref()
    scrubber.start()
    log.info({ http: httpUrl, multiaddrs: runtime.multiaddrs }, 'node started')

    let stopping: Promise<void> | undefined
    const gw = gateway
    return {
      peerId,
      http,
      httpUrl,
      libp2p: p2p,
      store,
      das: pool,
      sessions: sessionService,
      providers: providerService,
      metrics,
      logger,
      multiaddrs: () => p2p.getMultiaddrs().map(String),
      stop(reason = 'stop requested') {
        stopping ??= (async () => {
          log.info({ reason }, 'stopping')
          clearInterval(gauges)
          const cut = await gw.close(config.shutdownGraceMs)
          if (cut > 0) log.warn({ cut }, 'cut open responses after the grace period')
          await providerService.stop()
          await sessionService.stop()
          await p2p.stop()
          await pool.close()
          await scrubber.stop()
          await store.close()
          await rm(join(config.dataDir, RUNTIME_FILE), { force: true })
          log.info('stopped')
        })()
        return stopping
      },
    }
  } catch (error) {
    await gateway?.close(0).catch(() => {})
    await providers?.stop().catch(() => {})
    await sessions?.stop().catch(() => {})
    await Promise.resolve(libp2p?.stop()).catch(() => {})
    await das?.close().catch(() => {})
    await scrubber.stop().catch(() => {})
    await store.close().catch(() => {})
    throw error
  }
}
