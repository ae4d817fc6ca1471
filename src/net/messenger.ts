/**
 * Messages among a set of peers known by id (a committee, a node's neighbours): `send` to one,
 * `broadcast` to all, handlers per frame kind. Written against `MessageTransport`, so it runs
 * over libp2p and over an in-memory network alike.
 *
 * Each peer gets one persistent outbound stream, opened by a loop of its own that redials with
 * exponential backoff (and jitter) whenever the stream fails; frames to one peer go out in
 * order on it. Inbound streams are only read: what a peer sends arrives on the stream it opened.
 *
 * Each peer's queue is bounded (`queueLimit` frames). When it is full, `overflow` says what
 * goes: 'drop-oldest' (default: the newest state matters most, as with votes of later rounds)
 * or 'drop-newest'. Either way the drop is counted and reported, never a block of the caller.
 * Delivery is at most once: frames written on a stream that then fails may be lost; protocols
 * above retransmit what they need.
 *
 * A peer sending a bad frame (WireError) has its stream reset and is reported to `onPeerError`;
 * nothing else changes. Streams from peers outside the set are reset unread.
 */
import type { Logger } from '../core/logger.ts'
import { noopLogger } from '../core/logger.ts'
import type { ByteChannel } from '../wire/byte-channel.ts'
import { WireError } from '../wire/errors.ts'
import { CodecDecoder, type FrameCodec } from '../wire/frame-codec.ts'
import type { MessageTransport } from './message-transport.ts'
import { MessengerError } from './messenger-error.ts'

export { MessengerError, type MessengerErrorCode } from './messenger-error.ts'

export interface BackoffOptions {
  /** First delay after a failed dial or a lost stream, ms (default 250). */
  readonly initialMs?: number
  /** Largest delay, ms (default 10 s). */
  readonly maxMs?: number
}

export interface MessengerOptions<F extends { readonly kind: string }> {
  readonly transport: MessageTransport
  /** Encodes what this end sends and decodes what peers send (both ends speak the same kinds). */
  readonly codec: FrameCodec<F>
  /** The peers to talk to (more can be added while running). */
  readonly peers?: Iterable<string>
  /** Frames queued per peer (default 256). */
  readonly queueLimit?: number
  /** Which frame a full queue gives up (default 'drop-oldest'). */
  readonly overflow?: 'drop-oldest' | 'drop-newest'
  readonly backoff?: BackoffOptions
  /** A peer's stream failed on a bad frame (a WireError); the stream was reset. */
  readonly onPeerError?: (peer: string, error: WireError) => void
  /** A frame to `peer` was dropped from a full queue. */
  readonly onDrop?: (peer: string) => void
  /** Stops the messenger when aborted. */
  readonly signal?: AbortSignal
  /** Jitter source, [0, 1) (default Math.random; a simulation passes a seeded one). */
  readonly random?: () => number
  readonly logger?: Logger
}

export type FrameHandler<F> = (frame: F, from: string) => void | Promise<void>

export interface PeerStats {
  /** Frames waiting to be written. */
  readonly queued: number
  /** Frames written on a stream. */
  readonly sent: number
  /** Frames dropped from a full queue. */
  readonly dropped: number
  /** Whether an outbound stream is open now. */
  readonly connected: boolean
}

export interface Messenger<F extends { readonly kind: string }> {
  start(): Promise<void>
  /** Stops dialling, resets every stream and drops what is queued. */
  stop(): Promise<void>
  readonly running: boolean
  addPeer(peer: string): void
  removePeer(peer: string): void
  readonly peers: readonly string[]
  /** Queues `frame` for `peer`. Throws MessengerError for an unknown peer or when not running. */
  send(peer: string, frame: F): void
  /** Queues `frame` for every peer. */
  broadcast(frame: F): void
  /** Calls `handler` for every frame of `kind` from any peer; returns the unsubscribe. */
  on<K extends F['kind']>(kind: K, handler: FrameHandler<Extract<F, { kind: K }>>): () => void
  stats(peer: string): PeerStats
}

const DEFAULT_QUEUE_LIMIT = 256
const DEFAULT_INITIAL_BACKOFF_MS = 250
const DEFAULT_MAX_BACKOFF_MS = 10_000

/** Resolves after `ms`, or at once when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = () => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}

/** One peer's outbound side: its queue and the loop that keeps a stream open to it. */
class PeerLink {
  readonly peer: string
  readonly queue: Uint8Array[] = []
  readonly stop = new AbortController()
  sent = 0
  dropped = 0
  channel: ByteChannel | undefined
  private wake: (() => void) | undefined
  loop: Promise<void> = Promise.resolve()

  constructor(peer: string) {
    this.peer = peer
  }

  notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Waits until a frame is queued or the link stops. */
  waitForFrame(): Promise<void> {
    if (this.queue.length > 0 || this.stop.signal.aborted) return Promise.resolve()
    return new Promise((resolve) => {
      this.wake = resolve
    })
  }
}

export function createMessenger<F extends { readonly kind: string }>(
  options: MessengerOptions<F>,
): Messenger<F> {
  const { transport, codec } = options
  const log = (options.logger ?? noopLogger).child({ component: 'messenger' })
  const queueLimit = options.queueLimit ?? DEFAULT_QUEUE_LIMIT
  const overflow = options.overflow ?? 'drop-oldest'
  const initialMs = options.backoff?.initialMs ?? DEFAULT_INITIAL_BACKOFF_MS
  const maxMs = options.backoff?.maxMs ?? DEFAULT_MAX_BACKOFF_MS
  const random = options.random ?? Math.random
  const members = new Set(options.peers ?? [])
  const links = new Map<string, PeerLink>()
  const handlers = new Map<string, Set<FrameHandler<F>>>()
  const inbound = new Set<ByteChannel>()
  const reading = new Set<Promise<void>>()
  let running = false

  /** Delay before redial number `attempt` (0-based): doubling, capped, half of it jittered. */
  const backoff = (attempt: number) => {
    const ms = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30))
    return ms / 2 + (ms / 2) * random()
  }

  const runLink = async (link: PeerLink) => {
    const signal = link.stop.signal
    let attempt = 0
    while (!signal.aborted) {
      let channel: ByteChannel
      try {
        channel = await transport.open(link.peer, signal)
      } catch (error) {
        if (signal.aborted) return
        log.debug({ peer: link.peer, attempt, err: error }, 'dial failed')
        await pause(backoff(attempt++), signal)
        continue
      }
      link.channel = channel
      // The peer never writes on our stream: its end or reset is how we learn it went away.
      let gone = false
      void (async () => {
        try {
          for await (const _ of channel.source) {
            // nothing is expected on it
          }
        } catch {
          // reset: the peer went away, or we did
        }
        gone = true
        link.notify()
      })()
      try {
        for (;;) {
          await link.waitForFrame()
          if (signal.aborted || gone) break
          const bytes = link.queue.shift()
          if (bytes === undefined) continue
          await channel.write(bytes)
          link.sent++
          attempt = 0
        }
      } catch (error) {
        log.debug({ peer: link.peer, err: error }, 'stream to peer failed')
      }
      link.channel = undefined
      channel.abort(new Error(signal.aborted ? 'the messenger stopped' : 'stream lost'))
      if (signal.aborted) return
      await pause(backoff(attempt++), signal)
    }
  }

  const startLink = (peer: string) => {
    const link = new PeerLink(peer)
    links.set(peer, link)
    link.loop = runLink(link)
  }

  const stopLink = (link: PeerLink) => {
    links.delete(link.peer)
    link.stop.abort()
    link.notify()
    link.queue.length = 0
    link.channel?.abort(new Error('the messenger stopped'))
    return link.loop
  }

  const dispatch = async (frame: F, from: string) => {
    for (const handler of handlers.get(frame.kind) ?? []) {
      try {
        await handler(frame, from)
      } catch (error) {
        log.warn({ peer: from, kind: frame.kind, err: error }, 'message handler failed')
      }
    }
  }

  const read = async (channel: ByteChannel) => {
    const peer = channel.remotePeer
    const decoder = new CodecDecoder(codec)
    try {
      for await (const chunk of channel.source) {
        for (const frame of decoder.push(chunk)) await dispatch(frame, peer)
      }
      decoder.end()
    } catch (error) {
      if (error instanceof WireError) {
        log.debug({ peer, err: error }, 'bad frame from peer')
        channel.abort(error)
        options.onPeerError?.(peer, error)
      }
      // Otherwise the stream was reset (the peer left, or we stopped): its link redials.
    } finally {
      inbound.delete(channel)
    }
  }

  const accept = (channel: ByteChannel) => {
    if (!running || !members.has(channel.remotePeer)) {
      channel.abort(new Error('not a peer of this messenger'))
      return
    }
    inbound.add(channel)
    const task = read(channel)
    reading.add(task)
    void task.finally(() => reading.delete(task))
  }

  const enqueue = (link: PeerLink, bytes: Uint8Array) => {
    if (link.queue.length >= queueLimit) {
      link.dropped++
      options.onDrop?.(link.peer)
      if (overflow === 'drop-newest') return
      link.queue.shift()
    }
    link.queue.push(bytes)
    link.notify()
  }

  const checkRunning = () => {
    if (!running) throw new MessengerError('MESSENGER_NOT_RUNNING', 'the messenger is not running')
  }

  // Added on each start and removed on each stop, so restarts do not pile up listeners.
  const stopOnAbort = () => void messenger.stop()

  const messenger: Messenger<F> = {
    async start() {
      if (running) return
      options.signal?.throwIfAborted()
      running = true
      await transport.listen(accept)
      for (const peer of members) startLink(peer)
      options.signal?.addEventListener('abort', stopOnAbort, { once: true })
    },
    async stop() {
      if (!running) return
      running = false
      options.signal?.removeEventListener('abort', stopOnAbort)
      await transport.unlisten().catch(() => {})
      const loops = [...links.values()].map(stopLink)
      for (const channel of inbound) channel.abort(new Error('the messenger stopped'))
      await Promise.allSettled([...loops, ...reading])
    },
    get running() {
      return running
    },
    addPeer(peer) {
      if (peer === transport.self || members.has(peer)) return
      members.add(peer)
      if (running) startLink(peer)
    },
    removePeer(peer) {
      members.delete(peer)
      const link = links.get(peer)
      if (link !== undefined) void stopLink(link)
      for (const channel of inbound) {
        if (channel.remotePeer === peer) channel.abort(new Error('no longer a peer'))
      }
    },
    get peers() {
      return [...members]
    },
    send(peer, frame) {
      checkRunning()
      const link = links.get(peer)
      if (link === undefined) {
        throw new MessengerError(
          'MESSENGER_UNKNOWN_PEER',
          `${peer} is not a peer of this messenger`,
        )
      }
      enqueue(link, codec.encode(frame))
    },
    broadcast(frame) {
      checkRunning()
      const bytes = codec.encode(frame) // once for every peer: writers never change their bytes
      for (const link of links.values()) enqueue(link, bytes)
    },
    on(kind, handler) {
      let set = handlers.get(kind)
      if (set === undefined) {
        set = new Set()
        handlers.set(kind, set)
      }
      const h = handler as FrameHandler<F>
      set.add(h)
      return () => {
        set.delete(h)
      }
    },
    stats(peer) {
      const link = links.get(peer)
      return {
        queued: link?.queue.length ?? 0,
        sent: link?.sent ?? 0,
        dropped: link?.dropped ?? 0,
        connected: link?.channel !== undefined,
      }
    },
  }
  return messenger
}
