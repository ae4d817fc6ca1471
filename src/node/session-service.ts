/**
 * The full node's side of sessions: libp2p streams of `/fulmen/handshake/2.0.0` handed to the
 * isomorphic session host (src/services/session-host.ts: handshake, sessions, dispatch to
 * the service a session names) and served by the CDN service, every accepted claim kept in the DA pool.
 */
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { SessionTable } from '../handshake/session-table.ts'
import type { NodeLibp2p } from '../net/node-libp2p.ts'
import { HANDSHAKE_PROTOCOL } from '../net/protocols.ts'
import { streamChannel } from '../net/stream-channel.ts'
import type { Resolver } from '../origin/resolver.ts'
import { type ClaimSink, serveCdnStream } from '../services/cdn/cdn-server.ts'
import { cdnService } from '../services/cdn/cdn-service.ts'
import type { Service } from '../services/service.ts'
import { createSessionHost } from '../services/session-host.ts'
import type { BlockStore } from '../store/block-store.ts'
import type { NodeConfig } from './config.ts'
import type { Logger } from './logger.ts'
import type { NodeMetrics } from './metrics.ts'

export interface SessionService {
  readonly table: SessionTable<unknown>
  /** Ends every stream (TERMINATE shutdown) and stops taking new ones. */
  stop(): Promise<void>
}

interface SessionServiceBase {
  readonly libp2p: NodeLibp2p
  readonly privateKey: PrivateKey
  readonly config: NodeConfig['sessions']
  readonly logger: Logger
  readonly metrics: NodeMetrics
}

/** The CDN service over the node's own content. */
interface CdnBackend {
  readonly resolver: Resolver
  readonly store: BlockStore
  readonly claims: ClaimSink
}

/**
 * Either the node's CDN service, or services of one's own behind the same handshake and
 * session table (test doubles such as src/devnet/lying-node.ts's lying CDN).
 */
export type SessionServiceOptions = SessionServiceBase &
  (CdnBackend | { readonly services: readonly Service[] })

export async function startSessionService(options: SessionServiceOptions): Promise<SessionService> {
  const { libp2p, config, logger, metrics } = options
  const log = logger.child({ component: 'sessions' })
  const services =
    'services' in options
      ? options.services
      : [
          cdnService({
            nodeKey: options.privateKey.publicKey.raw,
            ackWindow: config.ackWindow,
            serve: (stream, signal) =>
              serveCdnStream(
                stream,
                {
                  resolver: options.resolver,
                  store: options.store,
                  claims: options.claims,
                  ackTimeoutMs: config.ackTimeoutMs,
                  logger: log,
                  onSent: (n) => metrics.bytesServed.labels('session').inc(n),
                },
                signal,
              ),
          }),
        ]
  const host = createSessionHost({
    nodePeerId: peerIdFromPrivateKey(options.privateKey).toMultihash().bytes,
    config,
    services,
    logger: log,
    hooks: {
      refused: (code, _peer, limit) => {
        metrics.sessionsRefused.labels(code).inc()
        if (limit !== undefined) metrics.sessionRefusals.labels(limit).inc()
      },
      opened: () => metrics.sessionStreams.inc(),
      closed: () => metrics.sessionStreams.dec(),
    },
  })

  metrics.sessionsFrom(() => host.table.size)

  await libp2p.handle(
    HANDSHAKE_PROTOCOL,
    (stream, connection) => {
      void host.handle(streamChannel(stream, connection.remotePeer.toString()))
    },
    // At least what one client key may open (on one connection): libp2p resets streams past
    // its cap before our handshake sees them, uncounted; our refusals say why (0x88), counted.
    {
      maxInboundStreams: Math.max(256, config.maxSessionsPerClient * config.maxStreamsPerSession),
    },
  )

  return {
    table: host.table,
    async stop() {
      await libp2p.unhandle(HANDSHAKE_PROTOCOL).catch(() => {})
      await host.stop()
    },
  }
}
