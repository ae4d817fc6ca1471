/**
 * The node's side of `/fulmen/handshake/1.0.0`: CHALLENGE at once, then HELLO (a new session
 * or a retry, authenticated by the client key's signature over this challenge) or JOIN (a
 * token), then SESSION. Any failure ends the stream with TERMINATE and its reason.
 */
import { verify } from '../crypto/eddsa-poseidon.ts'
import type { ByteChannel } from '../wire/byte-channel.ts'
import {
  DEFAULT_MAX_REQUEST,
  encodeSessionFrame,
  type HelloFrame,
  NONCE_LEN,
  type SessionFrame,
  SessionFrameDecoder,
} from '../wire/session-frames.ts'
import { handshakeMessage } from './challenge.ts'
import { Deadline } from './deadline.ts'
import { SessionError } from './errors.ts'
import { FrameReader } from './frame-reader.ts'
import { endFailedStream, remoteTermination, SessionLink, writeTo } from './session-link.ts'
import type { Session, SessionTable, StreamKind, StreamLease } from './session-table.ts'
import { TerminationReason } from './termination.ts'

/** The acknowledgement unit: one 256 KiB block. */
export const DEFAULT_ACK_UNIT = 262_144
/** Blocks a client may be behind on acknowledgements (16 blocks = 4 MiB). */
export const DEFAULT_ACK_WINDOW = 16
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000

export interface AcceptSessionOptions<S> {
  readonly table: SessionTable<S>
  /** This node's peer id in binary (multihash) form: HELLO signatures must name it. */
  readonly nodePeerId: Uint8Array
  /** The services this node runs. */
  readonly services: ReadonlySet<number> | ((service: number) => boolean)
  /** The current epoch (commitments must name it). */
  readonly epoch: bigint | (() => bigint)
  readonly ackWindow?: number
  readonly unit?: number
  /** Largest payload taken from the client (4096); larger frames end the stream (0x8a). */
  readonly maxRequest?: number
  /** For HELLO/JOIN to arrive, and for the client to close after a TERMINATE (5000). */
  readonly timeoutMs?: number
  /** Aborting it (the node stops) ends a handshake in progress with TERMINATE 0x89. */
  readonly signal?: AbortSignal
  /** Nonce source (32 random bytes); for tests. */
  readonly nonce?: () => Uint8Array
}

/** A client stream whose handshake succeeded. */
export interface NodeStream<S> {
  readonly session: Session<S>
  readonly kind: StreamKind
  readonly remotePeer: string
  /**
   * The client's frames after the handshake (REQUEST, COMMIT, REVEAL), pipelined ones
   * included. A TERMINATE from the client, a bad frame (answered with TERMINATE 0x8a/0x8b) or
   * a broken transport throws a SessionError and releases the stream.
   */
  readonly frames: AsyncGenerator<SessionFrame, void, undefined>
  /** Writes a frame, or bytes already framed (a content body's chunks). */
  send(data: SessionFrame | Uint8Array): Promise<void>
  /** Ends the stream with TERMINATE `reason` and releases it. */
  terminate(reason: number, message: string): Promise<void>
  /** Closes our side once everything is sent, and releases the stream. */
  close(): Promise<void>
  /** Gives the stream's place in the session back (idempotent; close/terminate do it too). */
  release(): void
}

const CLIENT_FRAMES_AFTER_HANDSHAKE = new Set<SessionFrame['kind']>(['request', 'commit', 'reveal'])

/**
 * Runs the node's handshake on a new stream. Resolves once SESSION is written; on failure the
 * stream is ended (TERMINATE with the reason, when we decided) and the promise rejects with
 * the SessionError, for the caller to log.
 */
export async function acceptSession<S>(
  channel: ByteChannel,
  options: AcceptSessionOptions<S>,
): Promise<NodeStream<S>> {
  const maxRequest = options.maxRequest ?? DEFAULT_MAX_REQUEST
  const timeoutMs = options.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS
  const reader = new FrameReader(
    channel.source,
    new SessionFrameDecoder({ accepts: 'to-node', maxPayload: maxRequest }),
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
    const challenge = encodeSessionFrame({
      kind: 'challenge',
      nonce,
      epoch,
      ackWindow: options.ackWindow ?? DEFAULT_ACK_WINDOW,
      unit: options.unit ?? DEFAULT_ACK_UNIT,
      maxRequest,
      // The table's caps: a client keeps within them instead of learning them by a refusal.
      // Capped to the field (a node configured for more than 65,535 advertises 65,535).
      maxStreams: Math.min(0xffff, options.table.limits.streamsPerSession),
      maxSessions: Math.min(0xffff, options.table.limits.sessionsPerClient),
    })
    await deadline.race(writeTo(channel, challenge))
    const first = await deadline.race(reader.next())
    if (first === undefined) {
      throw new SessionError('SESSION_CLOSED', 'stream ended before HELLO or JOIN')
    }
    switch (first.kind) {
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
          `${first.kind} frame before HELLO or JOIN`,
        )
    }
    const { session, tokenTtlMs } = lease
    await deadline.race(
      writeTo(
        channel,
        encodeSessionFrame({
          kind: 'session',
          session: session.id,
          token: session.token,
          tokenTtlMs,
        }),
      ),
    )
    const link = new SessionLink({
      channel,
      reader,
      expects: CLIENT_FRAMES_AFTER_HANDSHAKE,
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
function admitHello<S>(
  hello: HelloFrame,
  nonce: Uint8Array,
  remotePeer: string,
  options: AcceptSessionOptions<S>,
): StreamLease<S> {
  const { services } = options
  const runs =
    typeof services === 'function' ? services(hello.service) : services.has(hello.service)
  if (!runs) {
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
