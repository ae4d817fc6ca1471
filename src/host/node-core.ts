/**
 * The node core: what a full node and a browser tab node both run — a block store, a pool of
 * delivery-acknowledgement claims, the session host with its services over them, metrics and a
 * logger — composed as components (src/core/lifecycle.ts). Each runtime brings its own store
 * and pool (files and LevelDB, IndexedDB), the transports sessions ride on (libp2p on a full
 * node) and the parts only it has (a gateway, discovery, a committee) as components, in order:
 *
 *   store → claims → ...transports → sessions → ...components
 *
 * started in that order and stopped in reverse, a failed start undoing what started. So a new
 * part is one more component in the list, not an edit here or in the runtime's composition.
 */
import {
  type Component,
  type ComposedComponents,
  composeComponents,
  startedPart,
} from '../core/lifecycle.ts'
import type { Logger } from '../core/logger.ts'
import { createResolver, type Resolver } from '../origin/resolver.ts'
import { type ClaimSink, serveCdnStream } from '../services/cdn/cdn-server.ts'
import { cdnService } from '../services/cdn/cdn-service.ts'
import type { Service } from '../services/service.ts'
import type { SessionHost, SessionHostConfig, SessionHostHooks } from '../services/session-host.ts'
import type { BlockStore } from '../store/block-store.ts'
import type { HostMetrics } from './host-metrics.ts'
import { createMeteredSessionHost } from './metered-session-host.ts'

/** A part that, once started, holds the node's block store (and closes it when it stops). */
export interface StoreComponent extends Component {
  readonly store: BlockStore
}

/** Where the node keeps the claims its sessions earn (the DA pool), closed on stop. */
export interface ClaimPool extends ClaimSink {
  close(): Promise<void> | void
}

/** The session settings of a node: the host's, and how long a body waits for an ack. */
export interface NodeSessionConfig extends SessionHostConfig {
  readonly ackTimeoutMs: number
  /** The CDN service's window (blocks ahead of the last acknowledgement). */
  readonly ackWindow: number
}

export interface NodeCoreOptions<P extends ClaimPool> {
  /** Names the node in lifecycle errors (`full node`, `tab node`). */
  readonly name: string
  /** The node's Ed25519 public key (raw, 32 bytes): commitments must name it. */
  readonly nodeKey: Uint8Array
  /** The node's peer id as multihash bytes: HELLO signatures must name it. */
  readonly nodePeerId: Uint8Array
  readonly sessionConfig: NodeSessionConfig
  /** Sessions at once (the session host's `maxSessions`). */
  readonly maxSessions?: number
  /** The first part up and the last down (see `storeComponent`). */
  readonly store: StoreComponent
  /** Opens the claim pool; it is closed after the transports stopped. */
  readonly openClaims: (signal?: AbortSignal) => Promise<P>
  /**
   * The resolver sessions answer from (default: the store alone, so a peer asking for content
   * the node does not hold gets a 404 ERROR frame).
   */
  readonly resolver?: (store: BlockStore) => Resolver
  /** What sessions ride on (libp2p): started before the session host, stopped after it. */
  readonly transports?: readonly Component[]
  /** The runtime's own parts, started after the session host and stopped before it. */
  readonly components?: readonly Component[]
  /**
   * Services besides the CDN (distinct ids): a second service is one more entry here, with no
   * change to the session host or the composition.
   */
  readonly services?: readonly Service[]
  /** Reported besides the metrics (a tab's own counts). */
  readonly sessionHooks?: SessionHostHooks
  readonly metrics: HostMetrics
  readonly logger: Logger
}

export interface NodeCore<P extends ClaimPool = ClaimPool> extends ComposedComponents {
  /** The parts below throw LIFECYCLE_NOT_STARTED until `start` got that far. */
  readonly store: BlockStore
  readonly claims: P
  readonly resolver: Resolver
  readonly sessions: SessionHost
  readonly metrics: HostMetrics
  readonly logger: Logger
}

/** A store opened on start and closed on stop. */
export function storeComponent(
  open: (signal?: AbortSignal) => Promise<BlockStore>,
): StoreComponent {
  let store: BlockStore | undefined
  return {
    name: 'store',
    get store() {
      return startedPart(store, 'store')
    },
    async start(signal) {
      store = await open(signal)
    },
    async stop() {
      await store?.close()
    },
  }
}

export function createNodeCore<P extends ClaimPool>(options: NodeCoreOptions<P>): NodeCore<P> {
  const { metrics, logger, sessionConfig: config } = options
  const hooks = options.sessionHooks ?? {}
  const log = logger.child({ component: 'sessions' })
  let claims: P | undefined
  let resolver: Resolver | undefined
  let host: SessionHost | undefined

  const claimPart: Component = {
    name: 'claims',
    async start(signal) {
      claims = await options.openClaims(signal)
    },
    async stop() {
      await claims?.close()
    },
  }

  const sessionPart: Component = {
    name: 'sessions',
    start() {
      const store = options.store.store
      const pool = startedPart(claims, 'claims')
      const answers = (options.resolver ?? storeOnly)(store)
      resolver = answers
      const sink: ClaimSink = {
        put: async (claim, meta) => {
          await pool.put(claim, meta)
          metrics.claimsStored.inc()
        },
      }
      const sessions = createMeteredSessionHost({
        nodePeerId: options.nodePeerId,
        config,
        ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
        logger: log,
        metrics,
        hooks,
        services: [
          cdnService({
            nodeKey: options.nodeKey,
            ackWindow: config.ackWindow,
            serve: (stream, signal) =>
              serveCdnStream(
                stream,
                {
                  resolver: answers,
                  store,
                  claims: sink,
                  ackTimeoutMs: config.ackTimeoutMs,
                  logger: log,
                  onSent: (n) => metrics.bytesServed.labels('session').inc(n),
                },
                signal,
              ),
          }),
          ...(options.services ?? []),
        ],
      })
      host = sessions
    },
    async stop() {
      await host?.stop()
    },
  }

  const all = composeComponents(options.name, [
    options.store,
    claimPart,
    ...(options.transports ?? []),
    sessionPart,
    ...(options.components ?? []),
  ])

  return {
    name: all.name,
    get started() {
      return all.started
    },
    start: (signal) => all.start(signal),
    stop: () => all.stop(),
    get store() {
      return options.store.store
    },
    get claims() {
      return startedPart(claims, 'claims')
    },
    get resolver() {
      return startedPart(resolver, 'resolver')
    },
    get sessions() {
      return startedPart(host, 'sessions')
    },
    metrics,
    logger,
  }
}

function storeOnly(store: BlockStore): Resolver {
  return createResolver({ store, origins: [], limits: { maxBytes: 0, timeoutMs: 0 } })
}
