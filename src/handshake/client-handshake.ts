/**
 * The client's side of `/fulmen/handshake/1.0.0`: `openSession` answers the node's CHALLENGE
 * with a signed HELLO (a new session, or a retry of one whose primary stream dropped);
 * `joinSession` adds a stream to a session with its token. Both resolve on SESSION.
 */
import { concatBytes } from '@noble/hashes/utils.js'
import type { ClientKey } from '../crypto/client-key.ts'
import type { ByteChannel } from '../wire/byte-channel.ts'
import { MAX_FRAME_PAYLOAD } from '../wire/content-frames.ts'
import { FRAME_PREFIX_LEN } from '../wire/frame-splitter.ts'
import {
  type ChallengeFrame,
  encodeSessionFrame,
  type SessionFrame,
  SessionFrameDecoder,
  type SessionGrantFrame,
} from '../wire/session-frames.ts'
import { handshakeMessage } from './challenge.ts'
import { Deadline } from './deadline.ts'
import { SessionError } from './errors.ts'
import { FrameReader } from './frame-reader.ts'
import { endFailedStream, remoteTermination, SessionLink, writeTo } from './session-link.ts'

/** Long enough for the node's 5 s handshake timeout to speak first. */
export const DEFAULT_CLIENT_TIMEOUT_MS = 10_000

/** What the node's CHALLENGE said. */
export type Challenge = Omit<ChallengeFrame, 'kind'>

/**
 * Frames to write right behind HELLO/JOIN, in the same write, without waiting for SESSION
 * (e.g. the first REQUEST). A function gets the challenge first (its epoch, window, unit).
 * The node reads them once the session is open; if the handshake fails they are dropped.
 *
 * A COMMIT names the session id, which a new session learns only from SESSION: pipeline it on
 * a retry or a join, and send it with `send` after `openSession` resolves otherwise.
 */
export type Pipeline =
  | readonly (SessionFrame | Uint8Array)[]
  | ((challenge: Challenge) => readonly (SessionFrame | Uint8Array)[])

interface HandshakeOptions {
  readonly signal?: AbortSignal
  /** For the node's CHALLENGE and SESSION (10 s). */
  readonly timeoutMs?: number
  readonly pipeline?: Pipeline
  /** Largest payload taken from the node (a block in one DATA frame, plus room). */
  readonly maxPayload?: number
}

export interface OpenSessionOptions extends HandshakeOptions {
  readonly key: ClientKey
  readonly service: number
  /** The node's peer id in binary (multihash) form, as Noise authenticated it. */
  readonly nodePeerId: Uint8Array
  /** A session of this key whose primary stream dropped: this stream replaces it. */
  readonly retry?: bigint
}

export interface JoinSessionOptions extends HandshakeOptions {
  readonly session: bigint
  readonly token: Uint8Array
}

export interface ClientStream {
  readonly session: bigint
  /** For JOIN on other streams, within `tokenTtlMs` of the handshake. */
  readonly token: Uint8Array
  readonly tokenTtlMs: number
  readonly challenge: Challenge
  readonly remotePeer: string
  /**
   * The node's frames after SESSION: content frames. A TERMINATE throws a SessionError with
   * its reason; a bad frame is answered with TERMINATE (0x8a/0x8b) and throws too.
   */
  readonly frames: AsyncGenerator<SessionFrame, void, undefined>
  /**
   * Writes a frame (refused with a RangeError above the node's `maxRequest`) or bytes
   * already framed.
   */
  send(data: SessionFrame | Uint8Array): Promise<void>
  /** Ends the stream with TERMINATE `reason`. */
  terminate(reason: number, message: string): Promise<void>
  /** Closes our side once everything is sent. */
  close(): Promise<void>
  /** Tears the stream down at once. */
  abort(error: Error): void
}

const NODE_FRAMES_AFTER_HANDSHAKE = new Set<SessionFrame['kind']>([
  'header',
  'proof',
  'data',
  'error',
])

/** Opens a new session (or, with `retry`, takes over a session's dropped primary stream). */
export function openSession(
  channel: ByteChannel,
  options: OpenSessionOptions,
): Promise<ClientStream> {
  const retry = options.retry ?? 0n
  return handshake(channel, options, async (hs) => {
    const challenge = await hs.challenge()
    const message = handshakeMessage({
      nonce: challenge.nonce,
      service: options.service,
      retry,
      nodePeerId: options.nodePeerId,
    })
    const hello = encodeSessionFrame({
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
export function joinSession(
  channel: ByteChannel,
  options: JoinSessionOptions,
): Promise<ClientStream> {
  return handshake(channel, options, async (hs) => {
    // JOIN does not depend on the challenge: sent at once, it saves half a round trip.
    const join = encodeSessionFrame({
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

async function handshake(
  channel: ByteChannel,
  options: HandshakeOptions,
  run: (steps: Steps) => Promise<{ challenge: Challenge; grant: SessionGrantFrame }>,
): Promise<ClientStream> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CLIENT_TIMEOUT_MS
  const reader = new FrameReader(
    channel.source,
    new SessionFrameDecoder({
      accepts: 'to-client',
      maxPayload: options.maxPayload ?? MAX_FRAME_PAYLOAD,
    }),
  )
  const deadline = new Deadline(
    timeoutMs,
    options.signal,
    () => new SessionError('SESSION_ABORTED', 'handshake aborted'),
  )
  const expect = async <K extends 'challenge' | 'session'>(kind: K) => {
    const frame = await deadline.race(reader.next())
    if (frame === undefined) throw new SessionError('SESSION_CLOSED', `stream ended before ${kind}`)
    if (frame.kind === 'terminate') throw remoteTermination(frame.reason, frame.message)
    if (frame.kind !== kind) {
      throw new SessionError('SESSION_MALFORMED_FRAME', `${frame.kind} frame where ${kind} was due`)
    }
    return frame as Extract<SessionFrame, { kind: K }>
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
        const parts = [
          frame,
          ...extra.map((f) => (f instanceof Uint8Array ? f : encodeSessionFrame(f))),
        ]
        return deadline.race(writeTo(channel, concatBytes(...parts)))
      },
    })
    const link = new SessionLink({
      channel,
      reader,
      expects: NODE_FRAMES_AFTER_HANDSHAKE,
      lingerMs: timeoutMs,
    })
    return {
      session: grant.session,
      token: grant.token,
      tokenTtlMs: grant.tokenTtlMs,
      challenge,
      remotePeer: channel.remotePeer,
      frames: link.frames,
      send: async (data) => {
        if (!(data instanceof Uint8Array)) {
          const bytes = encodeSessionFrame(data)
          if (bytes.length - FRAME_PREFIX_LEN > challenge.maxRequest) {
            throw new RangeError(
              `${data.kind} frame of ${bytes.length - FRAME_PREFIX_LEN} bytes exceeds the node's ${challenge.maxRequest}-byte limit`,
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
