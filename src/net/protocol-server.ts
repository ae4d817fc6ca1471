/**
 * A libp2p protocol served frame by frame: what every Fulmen protocol server needs around its
 * own logic. Each inbound stream is read on its own with the protocol's codec; a bad frame, a
 * frame over the limits, too many frames, or a handler's refusal ends that stream with the
 * protocol's TERMINATE, after which the peer has `lingerMs` to close its side before the
 * stream is reset. A silent stream is reset after `idleTimeoutMs`; stopping resets the rest.
 * Nothing a peer sends reaches beyond its stream.
 *
 * Termination reasons are the protocol's (src/handshake/termination.ts names the shared
 * ones): net sits below handshake, so the server names only the cause and the protocol's
 * `refusal` turns it into a TERMINATE frame.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import type { Logger } from '../core/logger.ts'
import type { ByteChannel } from '../wire/byte-channel.ts'
import { WireError } from '../wire/errors.ts'
import { CodecDecoder, type FrameCodec } from '../wire/frame-codec.ts'
import { streamChannel } from './stream-channel.ts'

/** Why a stream is refused, as the server sees it. */
export type RefusalCause =
  /** A frame longer than the codec's limit. */
  | 'frame-too-large'
  /** A frame the codec could not decode, or a stream that ended inside one. */
  | 'malformed-frame'
  /** More frames than `maxFramesPerStream`. */
  | 'too-many-frames'
  /** The handler threw: its error says why. */
  | 'handler'

export interface StreamRefusal {
  readonly cause: RefusalCause
  readonly error: unknown
  readonly message: string
}

/** One inbound stream, as a handler sees it. */
export interface ServerStream {
  /** The remote peer, as the connection authenticated it. */
  readonly peer: string
  /** Sends bytes (an encoded frame) to the peer. */
  write(bytes: Uint8Array): Promise<void>
  /** Aborted when the stream ends or the server stops. */
  readonly signal: AbortSignal
}

export interface ProtocolServerLimits {
  /** Streams of this protocol one connection may have open at once (default 4). */
  readonly maxStreamsPerConnection?: number
  /** Frames one stream may carry before it is ended (default 64). */
  readonly maxFramesPerStream?: number
  /** How long a stream may stay without a whole frame, milliseconds (default 30 s). */
  readonly idleTimeoutMs?: number
  /** How long a terminated stream waits for the peer to close, milliseconds (default 2 s). */
  readonly lingerMs?: number
}

export interface ProtocolServerOptions<F> extends ProtocolServerLimits {
  readonly libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  readonly protocol: string
  /** Decodes what peers send (it accepts only the kinds a peer may send this end). */
  readonly codec: FrameCodec<F>
  /** Serves one frame; a throw ends the stream with `refusal({ cause: 'handler' })`. */
  readonly onFrame: (frame: F, stream: ServerStream) => Promise<void> | void
  /** The TERMINATE frame's bytes for a refusal. */
  readonly refusal: (refusal: StreamRefusal) => Uint8Array
  /** Told of every refusal (metrics). */
  readonly onRefused?: (refusal: StreamRefusal, peer: string) => void
  readonly logger: Logger
}

/** A component: `start` registers the protocol, `stop` unregisters it and ends every stream. */
export interface ProtocolServer {
  start(): Promise<void>
  stop(): Promise<void>
  /** Streams being served now. */
  readonly streams: number
}

const DEFAULT_STREAMS_PER_CONNECTION = 4
const DEFAULT_MAX_FRAMES = 64
const DEFAULT_IDLE_TIMEOUT_MS = 30_000
const DEFAULT_LINGER_MS = 2_000

class TooManyFrames extends Error {}

function refusalOf(error: unknown): StreamRefusal {
  if (error instanceof WireError) {
    return {
      cause: error.code === 'WIRE_FRAME_TOO_LARGE' ? 'frame-too-large' : 'malformed-frame',
      error,
      message: error.message,
    }
  }
  if (error instanceof TooManyFrames) {
    return { cause: 'too-many-frames', error, message: error.message }
  }
  return {
    cause: 'handler',
    error,
    message: error instanceof Error ? error.message : String(error),
  }
}

export function protocolServer<F>(options: ProtocolServerOptions<F>): ProtocolServer {
  const { libp2p, protocol, codec, logger: log } = options
  const maxFrames = options.maxFramesPerStream ?? DEFAULT_MAX_FRAMES
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS
  const lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS
  let shutdown = new AbortController()
  const open = new Set<Promise<void>>()

  const serve = async (channel: ByteChannel, peer: string) => {
    const decoder = new CodecDecoder(codec)
    const ended = new AbortController()
    let frames = 0
    let idle: ReturnType<typeof setTimeout> | undefined
    let timedOut = false
    const arm = () => {
      clearTimeout(idle)
      idle = setTimeout(() => {
        timedOut = true
        channel.abort(new Error(`no frame within ${idleTimeoutMs} ms`))
      }, idleTimeoutMs)
    }
    const onShutdown = () => channel.abort(new Error('the server is stopping'))
    shutdown.signal.addEventListener('abort', onShutdown, { once: true })
    const stream: ServerStream = {
      peer,
      write: (bytes) => channel.write(bytes),
      signal: ended.signal,
    }
    const stopping = shutdown.signal
    arm()
    // Read by hand, not with for-await: a thrown frame must leave the source open, so that
    // `terminate` can drain it.
    const source = channel.source[Symbol.asyncIterator]()
    try {
      for (let next = await source.next(); next.done !== true; next = await source.next()) {
        for (const frame of decoder.push(next.value)) {
          if (++frames > maxFrames) {
            throw new TooManyFrames(`more than ${maxFrames} frames on one stream`)
          }
          await options.onFrame(frame, stream)
          arm()
        }
      }
      decoder.end()
      await channel.close()
    } catch (error) {
      if (timedOut || stopping.aborted) return
      const refusal = refusalOf(error)
      options.onRefused?.(refusal, peer)
      log.debug({ peer, protocol, cause: refusal.cause, err: error }, 'stream refused')
      await terminateStream(channel, options.refusal(refusal), lingerMs, () => drainSource(source))
    } finally {
      clearTimeout(idle)
      ended.abort()
      stopping.removeEventListener('abort', onShutdown)
    }
  }

  const handler = (stream: Stream, connection: { remotePeer: { toString(): string } }) => {
    const peer = connection.remotePeer.toString()
    const task = serve(streamChannel(stream, peer), peer).catch((error: unknown) =>
      log.warn({ err: error, peer, protocol }, 'stream failed'),
    )
    open.add(task)
    void task.finally(() => open.delete(task))
  }

  return {
    async start() {
      shutdown = new AbortController()
      await libp2p.handle(protocol, handler, {
        maxInboundStreams: options.maxStreamsPerConnection ?? DEFAULT_STREAMS_PER_CONNECTION,
      })
    },
    async stop() {
      await libp2p.unhandle(protocol).catch(() => {})
      shutdown.abort()
      await Promise.allSettled([...open])
    },
    get streams() {
      return open.size
    },
  }
}

/**
 * Sends `terminateFrame` and closes our side; the peer then has `lingerMs` to close its own
 * (what it sends meanwhile is read by `drain` and dropped) before the stream is reset. Never
 * rejects: a stream that cannot take TERMINATE is reset at once. Resolves when the stream is
 * done; a caller that needs only the TERMINATE sent may leave it running.
 */
export async function terminateStream(
  channel: ByteChannel,
  terminateFrame: Uint8Array,
  lingerMs: number,
  drain: () => Promise<void>,
): Promise<void> {
  const timer = setTimeout(
    () => channel.abort(new Error(`peer did not close within ${lingerMs} ms of TERMINATE`)),
    lingerMs,
  )
  try {
    await channel.write(terminateFrame)
    await channel.close()
    await drain()
  } catch {
    channel.abort(new Error('could not send TERMINATE'))
  } finally {
    clearTimeout(timer)
  }
}

/** Reads a source to its end, dropping what it yields. */
async function drainSource(source: AsyncIterator<Uint8Array>): Promise<void> {
  while ((await source.next()).done !== true);
}
