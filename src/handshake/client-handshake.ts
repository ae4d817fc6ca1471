/**
 * The client's side of `/fulmen/handshake/2.0.0`: `openSession` answers the node's CHALLENGE
 * with a signed HELLO (a new session, or a retry of one whose primary stream dropped);
 * `joinSession` adds a stream to a session with its token. Both resolve on SESSION, which
 * carries the service's greeting; the service's frames after it are read with its codec.
 */
import { concatBytes } from '@noble/hashes/utils.js'
import type { ClientKey } from '../crypto/client-key.ts'
import type { ByteChannel } from '../wire/byte-channel.ts'
import type { FrameCodec } from '../wire/frame-codec.ts'
import { FRAME_PREFIX_LEN, FrameSplitter } from '../wire/frame-splitter.ts'
import {
  type ChallengeFrame,
  encodeHandshakeFrame,
  type HandshakeFrame,
  isHandshakeKind,
  type SessionGrantFrame,
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

/** Long enough for the node's 5 s handshake timeout to speak first. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 10_000

/** What the node's CHALLENGE said. */
export type Challenge = Omit<ChallengeFrame, 'kind'>

/**
 * Frames to write right behind HELLO/JOIN, in the same write, without waiting for SESSION
 * (e.g. the first REQUEST). A function gets the challenge first (its epoch, limits).
 * The node reads them once the session is open; if the handshake fails they are dropped.
 *
 * A COMMIT names the session id, which a new session learns only from SESSION: pipeline it on
 * a retry or a join, and send it with `send` after `openSession` resolves otherwise.
 */
export type Pipeline<F> =
  | readonly (F | Uint8Array)[]
  | ((challenge: Challenge) => readonly (F | Uint8Array)[])

interface HandshakeOptions<F> {
  /** The service's frames as the client reads them (the CDN's: `CDN_CODEC['to-client']`). */
  readonly codec: FrameCodec<F>
  readonly signal?: AbortSignal
  /** For the node's CHALLENGE and SESSION (10 s). */
  readonly timeoutMs?: number
  readonly pipeline?: Pipeline<F>
  /** Largest payload taken from the node (default the codec's: the CDN's, a block in one DATA frame). */
  readonly maxPayload?: number
}

export interface OpenSessionOptions<F> extends HandshakeOptions<F> {
  readonly key: ClientKey
  readonly service: number
  /** The node's peer id in binary (multihash) form, as Noise authenticated it. */
  readonly nodePeerId: Uint8Array
  /** A session of this key whose primary stream dropped: this stream replaces it. */
  readonly retry?: bigint
}

export interface JoinSessionOptions<F> extends HandshakeOptions<F> {
  readonly session: bigint
  readonly token: Uint8Array
}

/** A session stream of the client's, carrying a service's frames `F`. */
export interface ClientStream<F = unknown> {
  readonly session: bigint
  /** For JOIN on other streams, within `tokenTtlMs` of the handshake. */
  readonly token: Uint8Array
  readonly tokenTtlMs: number
  readonly challenge: Challenge
  /** The service's parameters for the session, from SESSION (its codec reads them). */
  readonly greeting: Uint8Array
  readonly remotePeer: string
  /**
   * The node's frames after SESSION (the CDN's: content frames). A TERMINATE throws a
   * SessionError with its reason; a bad frame is answered with TERMINATE (0x8a/0x8b) and
   * throws too.
   */
  readonly frames: AsyncGenerator<F, void, undefined>
  /**
   * Writes a frame (refused with a RangeError above the node's `maxRequest`) or bytes
   * already framed.
   */
  send(data: F | Uint8Array): Promise<void>
  /** Ends the stream with TERMINATE `reason`. */
  terminate(reason: number, message: string): Promise<void>
  /** Closes our side once everything is sent. */
  close(): Promise<void>
  /** Tears the stream down at once. */
  abort(error: Error): void
}

/** Opens a new session (or, with `retry`, takes over a session's dropped primary stream). */
export function openSession<F>(
  channel: ByteChannel,
  options: OpenSessionOptions<F>,
): Promise<ClientStream<F>> {
  const retry = options.retry ?? 0n
  return handshake(channel, options, async (hs) => {
    const challenge = await hs.challenge()
    const message = handshakeMessage({
      nonce: challenge.nonce,
      service: options.service,
      retry,
      nodePeerId: options.nodePeerId,
    })
    const hello = encodeHandshakeFrame({
      kind: 'hello',
      service: options.service,
      retry,
      clientKey: options.key.publicKey,
      signature: options.key.sign(message),
    })
    await hs.write(hello, challenge)
    return { challenge, grant: await hs.grant() }
  })
}

/** Adds a stream to a session held through another stream. */
export function joinSession<F>(
  channel: ByteChannel,
  options: JoinSessionOptions<F>,
): Promise<ClientStream<F>> {
  return handshake(channel, options, async (hs) => {
    // JOIN does not depend on the challenge: sent at once, it saves half a round trip.
    const join = encodeHandshakeFrame({
      kind: 'join',
      session: options.session,
      token: options.token,
    })
    const pipeline = options.pipeline
    if (typeof pipeline === 'function') {
      const challenge = await hs.challenge()
      await hs.write(join, challenge)
      return { challenge, grant: await hs.grant() }
    }
    await hs.write(join, undefined)
    return { challenge: await hs.challenge(), grant: await hs.grant() }
  })
}

interface Steps {
  /** Reads CHALLENGE. */
  challenge(): Promise<Challenge>
  /** Writes the handshake frame and the pipeline behind it, in one write. */
  write(frame: Uint8Array, challenge: Challenge | undefined): Promise<void>
  /** Reads SESSION. */
  grant(): Promise<SessionGrantFrame>
}

async function handshake<F>(
  channel: ByteChannel,
  options: HandshakeOptions<F>,
  run: (steps: Steps) => Promise<{ challenge: Challenge; grant: SessionGrantFrame }>,
): Promise<ClientStream<F>> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS
  const { codec } = options
  const reader = new FrameReader(
    channel.source,
    new FrameSplitter({
      maxPayload: options.maxPayload ?? codec.maxPayload,
      accepts: (kind) => isHandshakeKind('to-client', kind) || codec.accepts(kind),
    }),
  )
  const deadline = new Deadline(
    timeoutMs,
    options.signal,
    () => new SessionError('SESSION_ABORTED', 'handshake aborted'),
  )
  const expect = async <K extends 'challenge' | 'session'>(kind: K) => {
    const raw = await deadline.race(reader.next())
    if (raw === undefined) throw new SessionError('SESSION_CLOSED', `stream ended before ${kind}`)
    const frame = handshakeFrameOf('to-client', raw)
    if (frame?.kind === 'terminate') throw remoteTermination(frame.reason, frame.message)
    if (frame?.kind !== kind) {
      const name = frame?.kind ?? `a ${kindName(raw.kind)}`
      throw new SessionError('SESSION_MALFORMED_FRAME', `${name} frame where ${kind} was due`)
    }
    return frame as Extract<HandshakeFrame, { kind: K }>
  }
  try {
    const { challenge, grant } = await run({
      challenge: async () => {
        const { kind: _, ...challenge } = await expect('challenge')
        return challenge
      },
      grant: () => expect('session'),
      write: (frame, challenge) => {
        const pipeline = options.pipeline ?? []
        const extra = typeof pipeline === 'function' ? pipeline(challenge!) : pipeline
        const parts = [frame, ...extra.map((f) => (f instanceof Uint8Array ? f : codec.encode(f)))]
        return deadline.race(writeTo(channel, concatBytes(...parts)))
      },
    })
    const link = new SessionLink({ channel, reader, end: 'to-client', codec, lingerMs: timeoutMs })
    return {
      session: grant.session,
      token: grant.token,
      tokenTtlMs: grant.tokenTtlMs,
      challenge,
      greeting: grant.greeting,
      remotePeer: channel.remotePeer,
      frames: link.frames,
      send: async (data) => {
        if (!(data instanceof Uint8Array)) {
          const bytes = codec.encode(data)
          if (bytes.length - FRAME_PREFIX_LEN > challenge.maxRequest) {
            throw new RangeError(
              `${kindName(bytes[0]!)} frame of ${bytes.length - FRAME_PREFIX_LEN} bytes exceeds the node's ${challenge.maxRequest}-byte limit`,
            )
          }
          return link.send(bytes)
        }
        return link.send(data)
      },
      terminate: (reason, message) => link.terminate(reason, message),
      close: () => link.close(),
      abort: (error) => link.abort(error),
    }
  } catch (error) {
    throw await endFailedStream(channel, reader, error, timeoutMs)
  } finally {
    deadline.clear()
  }
}
