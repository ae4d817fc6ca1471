/**
 * How a session stream ends, for both sides: with a TERMINATE and a reason when we decide
 * (the peer then gets a short while to close its side before the channel is torn down), or
 * quietly when the peer decided or the transport broke. `SessionLink` is the stream after a
 * successful handshake: frames in, bytes out, and the same endings.
 */
import type { ByteChannel } from '../wire/byte-channel.ts'
import { WireError } from '../wire/errors.ts'
import type { FrameCodec } from '../wire/frame-codec.ts'
import type { RawFrame } from '../wire/frame-splitter.ts'
import {
  decodeHandshakePayload,
  encodeHandshakeFrame,
  type FrameDirection,
  type HandshakeFrame,
  isHandshakeKind,
} from '../wire/handshake-frames.ts'
import { reasonOf, SessionError, sessionErrorOf } from './errors.ts'
import type { FrameReader } from './frame-reader.ts'
import { describeReason, TerminationReason } from './termination.ts'

/** `error` as a SessionError: wire errors carry the reason their frame earns. */
export function asSessionError(error: unknown): SessionError {
  if (error instanceof SessionError) return error
  if (error instanceof WireError) {
    return sessionErrorOf(reasonOf(error), error.message, { cause: error })
  }
  const message = error instanceof Error ? error.message : String(error)
  return new SessionError('SESSION_UNKNOWN', message, undefined, { cause: error })
}

/** The error for a TERMINATE the peer sent. */
export function remoteTermination(reason: number, message: string): SessionError {
  const text = `peer terminated the stream: ${describeReason(reason)}${message ? `: ${message}` : ''}`
  return sessionErrorOf(reason, text, { remote: true })
}

/**
 * A frame read at `end` decoded as a handshake frame, or undefined when its kind is the
 * service's (decoded by the service's codec once the session is known).
 */
export function handshakeFrameOf(end: FrameDirection, raw: RawFrame): HandshakeFrame | undefined {
  return isHandshakeKind(end, raw.kind) ? decodeHandshakePayload(raw.kind, raw.payload) : undefined
}

/** `kind` as in messages: `0x20`. */
export function kindName(kind: number): string {
  return `0x${kind.toString(16).padStart(2, '0')}`
}

/** Writes to the transport; its failures are SESSION_CLOSED (the stream is gone). */
export async function writeTo(channel: ByteChannel, bytes: Uint8Array): Promise<void> {
  try {
    await channel.write(bytes)
  } catch (error) {
    throw new SessionError(
      'SESSION_CLOSED',
      `stream failed: ${error instanceof Error ? error.message : String(error)}`,
      undefined,
      { cause: error },
    )
  }
}

/** Closes our side, tearing the channel down if that does not finish within `lingerMs`. */
export async function closeQuietly(channel: ByteChannel, lingerMs: number): Promise<void> {
  const timer = setTimeout(() => channel.abort(new Error('close timed out')), lingerMs)
  try {
    await channel.close()
  } catch {
    // Already broken: nothing left to close.
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Sends TERMINATE and closes our side, then gives the peer `lingerMs` to close its own (its
 * bytes are read and dropped meanwhile) before aborting. Resolves once TERMINATE is sent or
 * the attempt failed; the wait for the peer goes on in the background.
 */
export async function terminateChannel(
  channel: ByteChannel,
  reader: FrameReader<unknown>,
  reason: number,
  message: string,
  lingerMs: number,
): Promise<void> {
  const timer = setTimeout(
    () => channel.abort(new Error(`peer did not close within ${lingerMs} ms of TERMINATE`)),
    lingerMs,
  )
  try {
    await channel.write(encodeHandshakeFrame({ kind: 'terminate', reason, message }))
    await channel.close()
  } catch {
    clearTimeout(timer)
    channel.abort(new Error('could not send TERMINATE'))
    return
  }
  void reader.drain().finally(() => clearTimeout(timer))
}

/**
 * Ends a stream whose handshake failed with `error`, the way the error says, and returns it
 * as a SessionError for the caller to throw.
 */
export async function endFailedStream(
  channel: ByteChannel,
  reader: FrameReader<unknown>,
  error: unknown,
  lingerMs: number,
): Promise<SessionError> {
  const failure = asSessionError(error)
  if (failure.remote || failure.code === 'SESSION_CLOSED') {
    await closeQuietly(channel, lingerMs)
  } else if (failure.reason !== undefined) {
    await terminateChannel(channel, reader, failure.reason, failure.message, lingerMs)
  } else {
    channel.abort(failure)
  }
  return failure
}

export interface SessionLinkOptions<F> {
  readonly channel: ByteChannel
  readonly reader: FrameReader
  /** Which end we are: the handshake kinds the peer may send here are out of order now. */
  readonly end: FrameDirection
  /** The service's frames as read at this end: what the peer may send once the session is open. */
  readonly codec: FrameCodec<F>
  /** How long the peer gets to close after we end the stream. */
  readonly lingerMs: number
  /** Called once when the stream ends, however it ends. */
  readonly onEnd?: () => void
}

/** A session stream after its handshake, carrying a service's frames `F`. */
export class SessionLink<F> {
  private readonly options: SessionLinkOptions<F>
  private ended = false
  /**
   * The peer's frames. A TERMINATE from the peer, a bad frame (answered with TERMINATE 0x8a or
   * 0x8b) or a broken transport throws a SessionError; a clean end of the peer's side is done.
   */
  readonly frames: AsyncGenerator<F, void, undefined>

  constructor(options: SessionLinkOptions<F>) {
    this.options = options
    this.frames = this.read()
  }

  /**
   * Writes a frame, or bytes already framed (e.g. a content body's chunks). A broken transport
   * rejects with SESSION_CLOSED and ends the stream.
   */
  async send(data: F | Uint8Array): Promise<void> {
    const bytes = data instanceof Uint8Array ? data : this.options.codec.encode(data)
    try {
      await writeTo(this.options.channel, bytes)
    } catch (error) {
      this.end()
      throw error
    }
  }

  /** Ends the stream with TERMINATE `reason` (see TerminationReason). */
  async terminate(reason: number, message: string): Promise<void> {
    if (!this.end()) return
    const { channel, reader, lingerMs } = this.options
    await terminateChannel(channel, reader, reason, message, lingerMs)
  }

  /** Closes our side once everything written has been sent. */
  async close(): Promise<void> {
    if (!this.end()) return
    await this.options.channel.close()
  }

  /** Tears the stream down at once. */
  abort(error: Error): void {
    this.end()
    this.options.channel.abort(error)
  }

  /** Marks the stream ended; false if it already was. */
  private end(): boolean {
    if (this.ended) return false
    this.ended = true
    this.options.onEnd?.()
    return true
  }

  private async *read(): AsyncGenerator<F, void, undefined> {
    const { reader, end, codec, channel, lingerMs } = this.options
    for (;;) {
      let raw: RawFrame | undefined
      let handshake: HandshakeFrame | undefined
      let frame: F | undefined
      try {
        raw = await reader.next()
        if (raw !== undefined && !this.ended) {
          handshake = handshakeFrameOf(end, raw)
          if (handshake === undefined) {
            if (!codec.accepts(raw.kind)) {
              throw new WireError('WIRE_UNKNOWN_FRAME', `unknown frame kind ${kindName(raw.kind)}`)
            }
            frame = codec.decode(raw.kind, raw.payload)
          }
        }
      } catch (error) {
        const failure = asSessionError(error)
        if (failure.reason !== undefined) await this.terminate(failure.reason, failure.message)
        else this.end()
        throw failure
      }
      // Once we ended the stream, what the peer still sends is of no interest.
      if (raw === undefined || this.ended) return
      if (handshake?.kind === 'terminate') {
        this.end()
        await closeQuietly(channel, lingerMs)
        throw remoteTermination(handshake.reason, handshake.message)
      }
      if (handshake !== undefined) {
        const message = `${handshake.kind} frame out of order`
        await this.terminate(TerminationReason.MALFORMED_FRAME, message)
        throw new SessionError('SESSION_MALFORMED_FRAME', message)
      }
      yield frame as F
    }
  }
}
