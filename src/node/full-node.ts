/**
 * A full node, composed on the node core (src/host/node-core.ts) as components, in order:
 * store (checked on read, scrubbed in the background) → DA pool → libp2p → sessions (handshake
 * + CDN service) → handshake listener → discovery (tabs' announced roots) → content
 * summaries (src/node/summaries) → the chain (when the config names a genesis:
 * src/node/chain/chain-node.ts) → the caller's own components → HTTP gateway → store gauges →
 * runtime file. `startFullNode` starts them in that order (a failure stops what started and
 * rejects with the part's own error); `stop` takes them down in reverse, finishing (or, after
 * the grace period, cutting) open responses and flushing the store, and removes the runtime
 * file last.
 */
import { rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import packageJson from '../../package.json' with { type: 'json' }
import { readySync } from '../b3/engine.ts'
import { type Component, startedPart, startFailureCause } from '../core/lifecycle.ts'
import { type ProviderService, startProviderService } from '../discovery/provider-service.ts'
import type { SessionTable } from '../handshake/session-table.ts'
import { createNodeCore, type NodeCore } from '../host/node-core.ts'
import { createNodeLibp2p, type NodeLibp2p } from '../net/node-libp2p.ts'
import { createHttpOrigin } from '../origin/http-origin.ts'
import { createIpfsOrigin } from '../origin/ipfs-origin.ts'
import type { Origin } from '../origin/origin.ts'
import { createResolver } from '../origin/resolver.ts'
import type { Service } from '../services/service.ts'
import type { BlockStore } from '../store/block-store.ts'
import { type ChainNode, createChainNode } from './chain/chain-node.ts'
import type { NodeConfig } from './config.ts'
import { type DaPool, openDaPool } from './das/da-pool.ts'
import { fullNodeStore } from './full-node-store.ts'
import { createGateway, type Gateway } from './gateway/http-gateway.ts'
import { handshakeListener } from './handshake-listener.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { createLogger, type Logger } from './logger.ts'
import { createMetrics, type NodeMetrics, promMetrics } from './metrics.ts'
import { RUNTIME_FILE, type RuntimeInfo } from './runtime.ts'
import { createPeerOrigin } from './summaries/peer-origin.ts'
import {
  summaryExchange,
  summaryMetrics,
  summaryOptionsFromEnv,
} from './summaries/summary-exchange.ts'

export { RUNTIME_FILE }

/** The node's sessions: their table, and a stop that ends every stream and takes no more. */
export interface SessionService {
  readonly table: SessionTable<unknown>
  stop(): Promise<void>
}

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
  /** The chain, when the node was started with a genesis. */
  readonly chain: ChainNode | undefined
  readonly metrics: NodeMetrics
  readonly logger: Logger
  multiaddrs(): string[]
  /** Graceful stop; resolves once everything is closed. Safe to call twice. */
  stop(reason?: string): Promise<void>
}

/** What a component added to a full node can use; each part once the node started it. */
export interface FullNodeParts {
  readonly config: NodeConfig
  readonly core: NodeCore<DaPool>
  readonly libp2p: NodeLibp2p
  readonly metrics: NodeMetrics
  readonly logger: Logger
}

export interface FullNodeOptions {
  readonly logger?: Logger
  /** Services sessions may name besides the CDN (an edge-functions service…). */
  readonly services?: readonly Service[]
  /**
   * Parts of the caller's own (a committee, another protocol), started after discovery and
   * before the gateway opens, stopped in reverse after it closed.
   */
  readonly components?: (parts: FullNodeParts) => readonly Component[]
}

export async function startFullNode(
  config: NodeConfig,
  options: FullNodeOptions = {},
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
  const origins: Origin[] = []
  if (config.origins.ipfsGateways.length > 0)
    origins.push(createIpfsOrigin({ gateways: config.origins.ipfsGateways }))
  if (config.origins.http) origins.push(createHttpOrigin())

  let libp2p: NodeLibp2p | undefined
  // Content summaries: a miss asks the close peers whose filter holds the root before any
  // origin (src/node/summaries).
  const summaryCounters = summaryMetrics(promMetrics(metrics.registry))
  const summaries = summaryExchange({
    libp2p: () => p2p(),
    metrics: summaryCounters,
    logger,
    onPeerGone: (peer) => peerOrigin.forget(peer),
    ...summaryOptionsFromEnv(process.env),
  })
  const peerOrigin = createPeerOrigin({
    libp2p: () => p2p(),
    holders: (root) => summaries.holders(root),
    anyHolder: (root) => summaries.summaries.holders(root).length > 0,
    isPeer: (peer) => summaries.summaries.has(peer),
    metrics: summaryCounters,
    logger,
  })
  const summaryPart: Component = {
    name: summaries.name,
    start: () => summaries.start(),
    async stop() {
      await peerOrigin.close()
      await summaries.stop()
    },
  }
  let providers: ProviderService | undefined
  let gateway: Gateway | undefined
  let http: AddressInfo | undefined
  let httpUrl = ''
  const p2p = () => startedPart(libp2p, 'libp2p')
  const runtimePath = join(config.dataDir, RUNTIME_FILE)

  const libp2pPart: Component = {
    name: 'libp2p',
    async start() {
      // An ephemeral WebRTC port is picked before libjuice binds it, so another process may
      // take it in between: pick again (a fixed port's clash is the operator's to see).
      for (let attempt = 1; ; attempt++) {
        libp2p = await createNodeLibp2p({
          privateKey: key,
          host: config.host,
          wsPort: config.wsPort,
          webrtcPort: config.webrtcPort,
        })
        try {
          await libp2p.start()
          return
        } catch (error) {
          await Promise.resolve(libp2p.stop()).catch(() => undefined)
          if (config.webrtcPort !== 0 || attempt === 3) throw error
          logger.warn(
            { attempt, err: String(error) },
            'an ephemeral libp2p port was taken; retrying',
          )
        }
      }
    },
    async stop() {
      await libp2p?.stop()
    },
  }
  const providerPart: Component = {
    name: 'discovery',
    async start() {
      providers = await startProviderService({ libp2p: p2p(), logger, metrics })
    },
    async stop() {
      await providers?.stop()
    },
  }
  const refreshStoreGauges = async () => {
    const usage = await core.store.usage()
    metrics.storeBytes.set(usage.bytes)
    metrics.storeContents.set(usage.contents)
    return usage
  }
  const gatewayPart: Component = {
    name: 'gateway',
    async start() {
      const found = startedPart(providers, 'discovery')
      gateway = createGateway({
        das: core.claims,
        store: core.store,
        resolver: core.resolver,
        metrics,
        logger,
        nodeId: peerId,
        providers: (root) => found.lookup(root),
        ...(chain === undefined ? {} : { chain: chain.api }),
        status: async () => ({
          peerId,
          version: packageJson.version,
          http: httpUrl,
          multiaddrs: p2p().getMultiaddrs().map(String),
          uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
          store: await refreshStoreGauges(),
          origins: origins.map((o) => o.name),
        }),
      })
      http = await gateway.listen(config.httpPort, config.host)
      httpUrl = `http://${http.family === 'IPv6' ? `[${http.address}]` : http.address}:${http.port}`
    },
    async stop() {
      const cut = await gateway?.close(config.shutdownGraceMs)
      if (cut !== undefined && cut > 0)
        log.warn({ cut }, 'cut open responses after the grace period')
    },
  }
  let gauges: ReturnType<typeof setInterval> | undefined
  const gaugePart: Component = {
    name: 'store gauges',
    async start() {
      await refreshStoreGauges()
      gauges = setInterval(() => void refreshStoreGauges().catch(() => {}), 15_000)
      gauges.unref()
    },
    stop() {
      clearInterval(gauges)
    },
  }
  // Written once the gateway listens; removed by stop() after everything else, so tools that
  // read it see the node until it is gone.
  const runtimePart: Component = {
    name: 'runtime file',
    async start() {
      const runtime: RuntimeInfo = {
        pid: process.pid,
        peerId,
        http: httpUrl,
        multiaddrs: p2p().getMultiaddrs().map(String),
        startedAt: startedAt.toISOString(),
      }
      await writeFile(runtimePath, `${JSON.stringify(runtime, null, 2)}\n`)
    },
    stop() {},
  }

  const parts: FullNodeParts = {
    config,
    get core() {
      return core
    },
    get libp2p() {
      return p2p()
    },
    metrics,
    logger,
  }
  const { genesis } = config.chain
  const chain: ChainNode | undefined =
    genesis === undefined
      ? undefined
      : createChainNode({
          chain: { ...config.chain, genesis },
          dataDir: config.dataDir,
          identity: key,
          pool: () => core.claims,
          libp2p: p2p,
          metrics,
          logger,
        })
  const listener = handshakeListener(p2p, () => core.sessions, config.sessions)
  const core: NodeCore<DaPool> = createNodeCore({
    name: 'full node',
    nodeKey: key.publicKey.raw,
    nodePeerId: peerIdFromPrivateKey(key).toMultihash().bytes,
    sessionConfig: config.sessions,
    store: fullNodeStore(config, logger, metrics),
    openClaims: () => openDaPool({ dir: join(config.dataDir, 'das') }),
    resolver: (store) => {
      const resolver = createResolver({
        store,
        origins: [peerOrigin, ...origins],
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
      return {
        // What the node serves feeds its summary: every resolve that found the content.
        async resolve(pointer, resolveOptions) {
          const tree = await resolver.resolve(pointer, resolveOptions)
          summaries.recordRequest(tree.root)
          return tree
        },
      }
    },
    ...(options.services === undefined ? {} : { services: options.services }),
    transports: [libp2pPart],
    components: [
      listener,
      providerPart,
      summaryPart,
      ...(chain === undefined ? [] : [chain]),
      ...(options.components?.(parts) ?? []),
      gatewayPart,
      gaugePart,
      runtimePart,
    ],
    metrics,
    logger,
  })

  try {
    await core.start()
  } catch (error) {
    await rm(runtimePath, { force: true }).catch(() => {})
    throw startFailureCause(error)
  }
  log.info({ http: httpUrl, multiaddrs: p2p().getMultiaddrs().map(String) }, 'node started')

  const node = p2p()
  const host = core.sessions
  let stopping: Promise<void> | undefined
  return {
    peerId,
    http: startedPart(http, 'gateway'),
    httpUrl,
    libp2p: node,
    store: core.store,
    das: core.claims,
    sessions: {
      table: host.table,
      async stop() {
        await listener.stop()
        await host.stop()
      },
    },
    providers: startedPart(providers, 'discovery'),
    chain,
    metrics,
    logger,
    multiaddrs: () => node.getMultiaddrs().map(String),
    stop(reason = 'stop requested') {
      stopping ??= (async () => {
        log.info({ reason }, 'stopping')
        await core.stop()
        await rm(runtimePath, { force: true })
        log.info('stopped')
      })()
      return stopping
    },
  }
}
