/**
 * The node side of sessions, whatever the transport and the service: each `ByteChannel` handed
 * to `handle` goes through the handshake (src/handshake), which admits the services given
 * (a HELLO for another is refused with TERMINATE 0x84), into the service the session names,
 * with the service's state per session in the host's `SessionTable`. A full node feeds it
 * libp2p streams (src/node/handshake-listener.ts); a browser tab node, streams that crossed from
 * the window to its worker over a MessagePort (src/browser/node/tab-node-service.ts).
 */
import type { Logger } from '../core/logger.ts'
import { SessionError } from '../handshake/errors.ts'
import { acceptSession, type NodeStream } from '../handshake/node-handshake.ts'
import {
  type SessionInfo,
  type SessionLimit,
  SessionLimitError,
  SessionTable,
} from '../handshake/session-table.ts'
import { TerminationReason } from '../handshake/termination.ts'
import type { ByteChannel } from '../wire/byte-channel.ts'
import type { Service } from './service.ts'

/** The session settings of a node (a full node's `NodeConfig['sessions']`). */
export interface SessionHostConfig {
  /** Deadline of the handshake from stream open, milliseconds. */
  readonly handshakeTimeoutMs: number
  /** Sessions one client key may hold, idle ones included (advertised in CHALLENGE). */
  readonly maxSessionsPerClient: number
  /** Streams one session may have open, its primary included (advertised in CHALLENGE). */
  readonly maxStreamsPerSession: number
  /** Sessions the node holds, idle ones included (default unlimited; see `maxSessions` below). */
  readonly maxSessions?: number
  /** Streams open on the whole node (default unlimited): what bounds the memory they hold. */
  readonly maxStreams?: number
  /** Length of an epoch (commitments name the current one), milliseconds. */
  readonly epochMs: number
}

/** What the host reports as it goes (metrics, a tab's stats); every hook is synchronous. */
export interface SessionHostHooks {
  /**
   * A handshake failed or was refused; `code` is the SessionError's, `limit` the cap reached
   * when it was a refusal for load (SESSION_RESOURCES_UNAVAILABLE).
   */
  refused?(code: string, remotePeer: string, limit?: SessionLimit): void
  /** A stream's handshake succeeded (`kind` 'primary': it opened a new session). */
  opened?(stream: { readonly kind: NodeStream<unknown>['kind']; readonly remotePeer: string }): void
  /** A stream that `opened` reported has ended. */
  closed?(): void
}

export interface SessionHostOptions {
  /** This node's peer id in binary (multihash) form: HELLO signatures must name it. */
  readonly nodePeerId: Uint8Array
  readonly config: SessionHostConfig
  /** The services sessions may name (distinct ids). */
  readonly services: readonly Service[]
  /**
   * Sessions at once (default `config.maxSessions`, else unlimited): a HELLO for a new session
   * beyond it evicts the session idle the longest, or, when every session has an open stream,
   * is refused with TERMINATE 0x88 (JOIN and retry of held sessions still pass).
   */
  readonly maxSessions?: number
  readonly logger?: Logger
  readonly hooks?: SessionHostHooks
  /** Clock in milliseconds for epochs (Date.now). */
  readonly now?: () => number
}

export interface SessionHost {
  /** Every service's sessions; a session's state is its service's. */
  readonly table: SessionTable<unknown>
  /** Sessions that have at least one open stream now. */
  readonly activeSessions: number
  /**
   * Runs one stream to its end: handshake, then `serve`. Never rejects: a peer's failure is
   * reported through `hooks.refused` and the logger, never thrown at the transport's glue.
   */
  handle(channel: ByteChannel): Promise<void>
  /** Ends every stream (TERMINATE shutdown), waits for them, and refuses new ones. */
  stop(): Promise<void>
}

const NO_GREETING = new Uint8Array(0)

const SHUTDOWN = () =>
  new SessionError('SESSION_SHUTDOWN', 'the node is stopping', TerminationReason.SHUTDOWN)

export function createSessionHost(options: SessionHostOptions): SessionHost {
  const { config, logger, hooks = {} } = options
  const now = options.now ?? Date.now
  const maxSessions = options.maxSessions ?? config.maxSessions
  const epoch = () => BigInt(Math.floor(now() / config.epochMs))
  const services = new Map<number, Service>()
  for (const service of options.services) {
    if (services.has(service.id)) throw new RangeError(`two services with id ${service.id}`)
    services.set(service.id, service)
  }
  // The handshake admits only these ids, so a session's service is always one of them.
  const serviceOf = (id: number) => services.get(id)!
  const codecs = new Map([...services].map(([id, service]) => [id, service.codec]))
  // Open streams per session: its size is the number of sessions in use right now.
  const streamsOf = new Map<bigint, number>()
  const table = new SessionTable<unknown>({
    maxSessionsPerClient: config.maxSessionsPerClient,
    maxStreamsPerSession: config.maxStreamsPerSession,
    ...(maxSessions === undefined ? {} : { maxSessions }),
    ...(config.maxStreams === undefined ? {} : { maxStreams: config.maxStreams }),
    createState: (info: SessionInfo) =>
      serviceOf(info.service).createState({ ...info, epoch: epoch() }),
  })
  const shutdown = new AbortController()
  const open = new Set<Promise<void>>()
  // Streams past their handshake: stop() ends them itself, because a stream waiting for its
  // client's next request (an idle one a client keeps) would not notice the abort.
  const live = new Set<NodeStream<unknown>>()
  const goodbye = (stream: NodeStream<unknown>) =>
    void stream.terminate(TerminationReason.SHUTDOWN, 'the node is stopping').catch(() => {})

  const run = async (channel: ByteChannel) => {
    const remotePeer = channel.remotePeer
    let stream: NodeStream<unknown>
    try {
      stream = await acceptSession(channel, {
        table,
        nodePeerId: options.nodePeerId,
        services: codecs,
        greeting: (session) => serviceOf(session.service).greeting?.(session.state) ?? NO_GREETING,
        epoch: epoch(),
        timeoutMs: config.handshakeTimeoutMs,
        signal: shutdown.signal,
      })
    } catch (error) {
      const code = error instanceof SessionError ? error.code : 'SESSION_UNKNOWN'
      const limit = error instanceof SessionLimitError ? error.limit : undefined
      hooks.refused?.(code, remotePeer, limit)
      logger?.debug({ peer: remotePeer, code, err: error }, 'handshake refused')
      return
    }
    const id = stream.session.id
    live.add(stream)
    if (shutdown.signal.aborted) goodbye(stream)
    streamsOf.set(id, (streamsOf.get(id) ?? 0) + 1)
    hooks.opened?.({ kind: stream.kind, remotePeer })
    logger?.debug(
      { peer: remotePeer, session: id.toString(16), kind: stream.kind },
      'session stream open',
    )
    try {
      await serviceOf(stream.session.service).serve(stream, shutdown.signal)
    } finally {
      live.delete(stream)
      const left = (streamsOf.get(id) ?? 1) - 1
      if (left > 0) streamsOf.set(id, left)
      else streamsOf.delete(id)
      hooks.closed?.()
    }
  }

  return {
    table,
    get activeSessions() {
      return streamsOf.size
    },
    handle(channel) {
      if (shutdown.signal.aborted) {
        channel.abort(SHUTDOWN())
        return Promise.resolve()
      }
      const task = run(channel).catch((error: unknown) => {
        logger?.warn({ peer: channel.remotePeer, err: error }, 'session stream failed')
      })
      open.add(task)
      void task.finally(() => open.delete(task))
      return task
    },
    async stop() {
      shutdown.abort(SHUTDOWN())
      for (const stream of live) goodbye(stream)
      await Promise.allSettled([...open])
      table.closeAll()
    },
  }
}
