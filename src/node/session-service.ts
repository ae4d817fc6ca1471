/**
 * The full node's side of sessions: libp2p streams of `/fulmen/handshake/1.0.0` go through the
 * handshake (src/handshake) into the CDN service (src/services/cdn), with one acknowledgement
 * ledger per session and every accepted claim kept in the DA pool.
 */
import type { PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { AckLedger } from '../acks/ledger.ts'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { SessionError } from '../handshake/errors.ts'
import { acceptSession, type NodeStream } from '../handshake/node-handshake.ts'
import { SessionTable } from '../handshake/session-table.ts'
import type { NodeLibp2p } from '../net/node-libp2p.ts'
import { HANDSHAKE_PROTOCOL } from '../net/protocols.ts'
import { streamChannel } from '../net/stream-channel.ts'
import type { Resolver } from '../origin/resolver.ts'
import { type CdnSessionState, type ClaimSink, serveCdnStream } from '../services/cdn/cdn-server.ts'
import { CDN_SERVICE } from '../services/service-ids.ts'
import type { BlockStore } from '../store/block-store.ts'
import { DEFAULT_MAX_REQUEST } from '../wire/session-frames.ts'
import type { NodeConfig } from './config.ts'
import type { Logger } from './logger.ts'
import type { NodeMetrics } from './metrics.ts'

export interface SessionService {
  readonly table: SessionTable<CdnSessionState>
  /** Ends every stream (TERMINATE shutdown) and stops taking new ones. */
  stop(): Promise<void>
}

/** Serves one stream whose handshake succeeded, until it ends or `signal` aborts. */
export type ServeStream = (
  stream: NodeStream<CdnSessionState>,
  signal: AbortSignal,
) => Promise<void>

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
 * Either the node's CDN service, or `serve` of one's own behind the same handshake and
 * acknowledgement ledgers (test doubles such as src/node/testing/lying-node.ts).
 */
export type SessionServiceOptions = SessionServiceBase &
  (CdnBackend | { readonly serve: ServeStream })

export async function startSessionService(options: SessionServiceOptions): Promise<SessionService> {
  const { libp2p, config, logger, metrics } = options
  const log = logger.child({ component: 'sessions' })
  const peerId = peerIdFromPrivateKey(options.privateKey)
  const nodePeerId = peerId.toMultihash().bytes
  const nodeKey = options.privateKey.publicKey.raw
  const epoch = () => BigInt(Math.floor(Date.now() / config.epochMs))
  const table = new SessionTable<CdnSessionState>({
    maxSessionsPerClient: config.maxSessionsPerClient,
    maxStreamsPerSession: config.maxStreamsPerSession,
    createState: (info) => ({
      ledger: new AckLedger({
        nodeKey,
        session: info.id,
        epoch: epoch(),
        clientKey: info.clientKey,
        service: info.service,
        window: config.ackWindow,
      }),
    }),
  })
  const shutdown = new AbortController()
  const open = new Set<Promise<void>>()
  const serve: ServeStream =
    'serve' in options
      ? options.serve
      : (stream, signal) =>
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
          )

  const handle = async (stream: Stream, remotePeer: string) => {
    const channel = streamChannel(stream, remotePeer)
    let session: NodeStream<CdnSessionState>
    try {
      session = await acceptSession(channel, {
        table,
        nodePeerId,
        services: new Set([CDN_SERVICE]),
        epoch: epoch(),
        ackWindow: config.ackWindow,
        unit: TREE_BLOCK_LEN,
        maxRequest: DEFAULT_MAX_REQUEST,
        timeoutMs: config.handshakeTimeoutMs,
        signal: shutdown.signal,
      })
    } catch (error) {
      const code = error instanceof SessionError ? error.code : 'SESSION_UNKNOWN'
      metrics.sessionsRefused.labels(code).inc()
      log.debug({ peer: remotePeer, code, err: error }, 'handshake refused')
      return
    }
    metrics.sessionStreams.inc()
    log.debug(
      { peer: remotePeer, session: session.session.id.toString(16), kind: session.kind },
      'session stream open',
    )
    try {
      await serve(session, shutdown.signal)
    } finally {
      metrics.sessionStreams.dec()
    }
  }

  await libp2p.handle(
    HANDSHAKE_PROTOCOL,
    (stream, connection) => {
      const task = handle(stream, connection.remotePeer.toString()).catch((error: unknown) =>
        log.warn({ err: error }, 'session stream failed'),
      )
      open.add(task)
      void task.finally(() => open.delete(task))
    },
    { maxInboundStreams: 256 },
  )

  return {
    table,
    async stop() {
      await libp2p.unhandle(HANDSHAKE_PROTOCOL).catch(() => {})
      shutdown.abort(new SessionError('SESSION_SHUTDOWN', 'the node is stopping', 0x89))
      await Promise.allSettled([...open])
      table.closeAll()
    },
  }
}
