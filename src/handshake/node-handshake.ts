/**
 * The node's side of `/fulmen/handshake/2.0.0`: CHALLENGE at once, then HELLO (a new session
 * or a retry, authenticated by the client key's signature over this challenge) or JOIN (a
 * token), then SESSION with the service's greeting. Any failure ends the stream with TERMINATE
 * and its reason. The service's frames after it are read with the service's codec.
 */
import { verify } from '../crypto/eddsa-poseidon.ts'
import type { ByteChannel } from '../wire/byte-channel.ts'
import type { FrameCodec } from '../wire/frame-codec.ts'
import { FrameSplitter } from '../wire/frame-splitter.ts'
import {
  DEFAULT_MAX_REQUEST,
  encodeHandshakeFrame,
  type HelloFrame,
  isHandshakeKind,
  NONCE_LEN,
} from '../wire/handshake-frames.ts'
import { handshakeMessage } from './challenge.ts'
import { Deadline } from './deadline.ts'
import { SessionError } from './errors.ts'
import { FrameReader } from './frame-reader.ts'
import {
  endFailedStream,
  handshakeFrameOf,
  kindName,
  remoteTermination,
  SessionLink,
  writeTo,
} from './session-link.ts'
import type { Session, SessionTable, StreamKind, StreamLease } from './session-table.ts'
import { TerminationReason } from './termination.ts'

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000

const NO_GREETING = new Uint8Array(0)

export interface AcceptSessionOptions<S, F = unknown> {
  readonly table: SessionTable<S>
  /** This node's peer id in binary (multihash) form: HELLO signatures must name it. */
  readonly nodePeerId: Uint8Array
  /**
   * The services this node runs, by id, each with the codec of the frames its clients send:
   * a HELLO naming another is refused (0x84).
   */
  readonly services: ReadonlyMap<number, FrameCodec<F>>
  /** The service's parameters for a session, sent in SESSION (default: none). */
  readonly greeting?: (session: Session<S>) => Uint8Array
  /** The current epoch (commitments must name it). */
  readonly epoch: bigint | (() => bigint)
  /** Largest payload taken from the client (4096); larger frames end the stream (0x8a). */
  readonly maxRequest?: number
  /** For HELLO/JOIN to arrive, and for the client to close after a TERMINATE (5000). */
  readonly timeoutMs?: number
  /** Aborting it (the node stops) ends a handshake in progress with TERMINATE 0x89. */
  readonly signal?: AbortSignal
  /** Nonce source (32 random bytes); for tests. */
  readonly nonce?: () => Uint8Array
}

/** A client stream whose handshake succeeded, carrying a service's frames `F`. */
export interface NodeStream<S, F = unknown> {
  readonly session: Session<S>
  readonly kind: StreamKind
  readonly remotePeer: string
  /**
   * The client's frames after the handshake (the CDN's REQUEST, COMMIT, REVEAL), pipelined
   * ones included. A TERMINATE from the client, a bad frame (answered with TERMINATE 0x8a/0x8b)
   * or a broken transport throws a SessionError and releases the stream.
   */
  readonly frames: AsyncGenerator<F, void, undefined>
  /** Writes a frame, or bytes already framed (a content body's chunks). */
  send(data: F | Uint8Array): Promise<void>
  /** Ends the stream with TERMINATE `reason` and releases it. */
  terminate(reason: number, message: string): Promise<void>
  /** Closes our side once everything is sent, and releases the stream. */
  close(): Promise<void>
  /** Gives the stream's place in the session back (idempotent; close/terminate do it too). */
  release(): void
}

/**
 * Runs the node's handshake on a new stream. Resolves once SESSION is written; on failure the
 * stream is ended (TERMINATE with the reason, when we decided) and the promise rejects with
 * the SessionError, for the caller to log.
 */
export async function acceptSession<S, F = unknown>(
  channel: ByteChannel,
  options: AcceptSessionOptions<S, F>,
): Promise<NodeStream<S, F>> {
  const maxRequest = options.maxRequest ?? DEFAULT_MAX_REQUEST
  const timeoutMs = options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
  const codecs = [...options.services.values()]
  // Frames pipelined behind HELLO come before we know the service: any service's kind passes
  // the prefix check here, and the session's own codec decodes them.
  const reader = new FrameReader(
    channel.source,
    new FrameSplitter({
      maxPayload: maxRequest,
      accepts: (kind) => isHandshakeKind('to-node', kind) || codecs.some((c) => c.accepts(kind)),
    }),
  )
  const deadline = new Deadline(
    timeoutMs,
    options.signal,
    () =>
      new SessionError('SESSION_ABORTED', 'the node is shutting down', TerminationReason.SHUTDOWN),
  )
  let lease: StreamLease<S> | undefined
  try {
    const nonce = options.nonce?.() ?? crypto.getRandomValues(new Uint8Array(NONCE_LEN))
    const epoch = typeof options.epoch === 'function' ? options.epoch() : options.epoch
    const challenge = encodeHandshakeFrame({
      kind: 'challenge',
      nonce,
      epoch,
      maxRequest,
      // The table's caps: a client keeps within them instead of learning them by a refusal.
      // Capped to the field (a node configured for more than 65,535 advertises 65,535).
      maxStreams: Math.min(0xffff, options.table.limits.streamsPerSession),
      maxSessions: Math.min(0xffff, options.table.limits.sessionsPerClient),
    })
    await deadline.race(writeTo(channel, challenge))
    const raw = await deadline.race(reader.next())
    if (raw === undefined) {
      throw new SessionError('SESSION_CLOSED', 'stream ended before HELLO or JOIN')
    }
    const first = handshakeFrameOf('to-node', raw)
    switch (first?.kind) {
      case 'hello':
        lease = admitHello(first, nonce, channel.remotePeer, options)
        break
      case 'join':
        lease = options.table.join({
          session: first.session,
          token: first.token,
          remotePeer: channel.remotePeer,
        })
        break
      case 'terminate':
        throw remoteTermination(first.reason, first.message)
      default:
        throw new SessionError(
          'SESSION_MALFORMED_FRAME',
          `${first?.kind ?? `a ${kindName(raw.kind)}`} frame before HELLO or JOIN`,
        )
    }
    const { session, tokenTtlMs } = lease
    const codec = options.services.get(session.service)
    if (codec === undefined) {
      // A JOIN to a session of a service this node no longer runs.
      throw new SessionError(
        'SESSION_INVALID_SERVICE',
        `service ${session.service} is not run here`,
      )
    }
    await deadline.race(
      writeTo(
        channel,
        encodeHandshakeFrame({
          kind: 'session',
          session: session.id,
          token: session.token,
          tokenTtlMs,
          greeting: options.greeting?.(session) ?? NO_GREETING,
        }),
      ),
    )
    const link = new SessionLink({
      channel,
      reader,
      end: 'to-node',
      codec,
      lingerMs: timeoutMs,
      onEnd: lease.release,
    })
    return {
      session,
      kind: lease.kind,
      remotePeer: channel.remotePeer,
      frames: link.frames,
      send: (data) => link.send(data),
      terminate: (reason, message) => link.terminate(reason, message),
      close: () => link.close(),
      release: lease.release,
    }
  } catch (error) {
    if (lease !== undefined) {
      // The client never learnt a new session's id: nobody could use it.
      if (lease.kind === 'primary') options.table.delete(lease.session.id)
      else lease.release()
    }
    throw await endFailedStream(channel, reader, error, timeoutMs)
  } finally {
    deadline.clear()
  }
}

/** Checks a HELLO (cheap checks before the signature) and opens or reattaches its session. */
function admitHello<S, F>(
  hello: HelloFrame,
  nonce: Uint8Array,
  remotePeer: string,
  options: AcceptSessionOptions<S, F>,
): StreamLease<S> {
  if (!options.services.has(hello.service)) {
    throw new SessionError('SESSION_INVALID_SERVICE', `service ${hello.service} is not run here`)
  }
  const message = handshakeMessage({
    nonce,
    service: hello.service,
    retry: hello.retry,
    nodePeerId: options.nodePeerId,
  })
  // Several ms of CPU: once per HELLO, and only for a service we run.
  if (!verify(hello.clientKey, message, hello.signature)) {
    throw new SessionError(
      'SESSION_INVALID_HANDSHAKE',
      'HELLO signature does not verify for this challenge and node',
    )
  }
  return options.table.open({
    clientKey: hello.clientKey,
    remotePeer,
    service: hello.service,
    retry: hello.retry,
  })
}
