/**
 * The client's session with one node for any service: the libp2p connection, the handshake
 * (HELLO on the first stream, JOIN for every further one), its streams within the node's limit
 * (idle ones kept for the next use, uses beyond the limit queued), and retirement. What the
 * streams carry is the service's business: the CDN client (node-session.ts) adds requests and
 * acknowledgements on top.
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ClientKey } from '../crypto/client-key.ts'
import { type ClientStream, joinSession, openSession } from '../handshake/client-handshake.ts'
import { sleep } from '../handshake/deadline.ts'
import { SessionError } from '../handshake/errors.ts'
import type { PeerDialer, PeerLink } from '../net/peer-dialer.ts'
import type { FrameCodec } from '../wire/frame-codec.ts'
import { describeError, NodeFailureError } from './errors.ts'

export interface ServiceSessionOptions<F> {
  readonly key: ClientKey
  /** The service's id, as HELLO names it. */
  readonly service: number
  /** The service's frames as the client reads them. */
  readonly codec: FrameCodec<F>
  readonly handshakeTimeoutMs: number
}

/** What a use waiting for a stream is given: an idle stream, or room to join a new one. */
type StreamGrant<F> = { readonly stream: ClientStream<F> } | { readonly stream?: undefined }

interface StreamWaiter<F> {
  readonly grant: (grant: StreamGrant<F>) => void
  readonly fail: (error: unknown) => void
}

/** How long a JOIN refused for load is retried: the node frees a stream slot a moment after we
 * end the stream, so the first refusal after a release is usually stale. */
const JOIN_RETRY_DELAYS_MS = [5, 20, 50, 100, 200, 400, 800]

/**
 * One session with one node. Streams: at most the node's `maxStreams` (from CHALLENGE) are
 * open at once, idle ones included; a use beyond that waits in a FIFO queue for the next
 * stream released, so a client never fails because of its own concurrency.
 */
export class ServiceSession<F> {
  readonly peer: string
  /** Streams the node allows this session (its CHALLENGE). */
  readonly maxStreams: number
  /** The connection: its `publicKey` is the node's (what acknowledgements name). */
  readonly link: PeerLink
  /** The stream that opened the session: its grant (token, greeting) and challenge. */
  readonly first: ClientStream<F>
  private readonly idle: ClientStream<F>[] = []
  private readonly waiters: StreamWaiter<F>[] = []
  private readonly timeoutMs: number
  private readonly codec: FrameCodec<F>
  /** Streams of this session that are open, idle, or being joined. */
  private streams = 1
  private closed = false
  /** No new use goes on it; it ends when its last stream does (see `retire`). */
  private retired = false

  private constructor(link: PeerLink, first: ClientStream<F>, options: ServiceSessionOptions<F>) {
    this.peer = link.peer
    this.link = link
    this.first = first
    this.codec = options.codec
    this.timeoutMs = options.handshakeTimeoutMs
    this.maxStreams = first.challenge.maxStreams
  }

  /**
   * Dials `address` and opens a session with `first` pipelined behind HELLO (the node reads it
   * right after SESSION). Resolves with the session and the stream it opened.
   */
  static async open<F>(
    dialer: PeerDialer,
    address: Multiaddr,
    first: F,
    options: ServiceSessionOptions<F> & { signal?: AbortSignal },
  ): Promise<{ session: ServiceSession<F>; stream: ClientStream<F> }> {
    const link = await dialer.dial(address, options.signal).catch((error) => {
      if (options.signal?.aborted) throw error
      throw new NodeFailureError(
        'CLIENT_UNREACHABLE',
        `cannot dial ${address}: ${describeError(error)}`,
      )
    })
    const channel = await link.openStream(options.signal)
    let stream: ClientStream<F>
    try {
      stream = await openSession(channel, {
        key: options.key,
        service: options.service,
        codec: options.codec,
        nodePeerId: link.peerIdBytes,
        timeoutMs: options.handshakeTimeoutMs,
        pipeline: [options.codec.encode(first)],
        ...signalOption(options.signal),
      })
    } catch (error) {
      channel.abort(error as Error)
      throw error
    }
    return { session: new ServiceSession(link, stream, options), stream }
  }

  /**
   * A stream of this session with `first` sent on it: an idle one, a new JOIN, or, when the
   * node's `maxStreams` are all busy, the next one released (in the order asked).
   */
  async stream(first: F, signal?: AbortSignal): Promise<ClientStream<F>> {
    let stream = (await this.take(signal)).stream
    if (stream !== undefined) {
      try {
        await stream.send(first)
      } catch {
        // The node closed the idle stream meanwhile: its slot is ours to join again.
        stream.abort(new Error('idle stream failed'))
        stream = undefined
      }
    }
    if (stream === undefined) {
      try {
        stream = await this.join(first, signal)
      } catch (error) {
        this.freeSlot()
        throw error
      }
    }
    return stream
  }

  /** An idle stream or room for one now, else a place in the queue. */
  private take(signal?: AbortSignal): Promise<StreamGrant<F>> {
    if (this.closed) return Promise.reject(sessionClosed())
    signal?.throwIfAborted()
    // Nobody overtakes a waiter: a newcomer queues behind.
    if (this.waiters.length === 0) {
      const stream = this.idle.pop()
      if (stream !== undefined) return Promise.resolve({ stream })
      if (this.streams < this.maxStreams) {
        this.streams++
        return Promise.resolve({})
      }
    }
    return new Promise<StreamGrant<F>>((resolve, reject) => {
      const onAbort = () => {
        const at = this.waiters.indexOf(waiter)
        if (at >= 0) this.waiters.splice(at, 1)
        reject(signal!.reason)
      }
      const waiter: StreamWaiter<F> = {
        grant: (grant) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(grant)
        },
        fail: (error) => {
          signal?.removeEventListener('abort', onAbort)
          reject(error)
        },
      }
      this.waiters.push(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** A stream slot is free again: the next waiter gets it. */
  private freeSlot(): void {
    const next = this.waiters.shift()
    if (next !== undefined) next.grant({})
    else this.streams--
  }

  /**
   * A new stream by JOIN. A refusal for load is retried a few times: the node releases a
   * stream's slot only once it saw the stream end, a moment after we ended it.
   */
  private async join(first: F, signal?: AbortSignal): Promise<ClientStream<F>> {
    for (let attempt = 0; ; attempt++) {
      const channel = await this.link.openStream(signal)
      try {
        return await joinSession(channel, {
          session: this.first.session,
          token: this.first.token,
          codec: this.codec,
          timeoutMs: this.timeoutMs,
          pipeline: [this.codec.encode(first)],
          ...signalOption(signal),
        })
      } catch (error) {
        channel.abort(error as Error)
        const delay = JOIN_RETRY_DELAYS_MS[attempt]
        const busy = (error as { code?: unknown }).code === 'SESSION_RESOURCES_UNAVAILABLE'
        if (!busy || delay === undefined || this.closed) throw error
        await sleep(delay, signal)
      }
    }
  }

  /** A stream whose use ended cleanly goes back to the idle pool; others are dropped. */
  release(stream: ClientStream<F>, reusable: boolean): void {
    if (reusable && !this.closed && !this.retired) {
      const next = this.waiters.shift()
      if (next !== undefined) next.grant({ stream })
      else this.idle.push(stream)
      return
    }
    stream.abort(new Error('stream released'))
    if (!this.closed) this.freeSlot()
    if (this.retired && !this.closed && this.streams === this.idle.length) void this.end()
  }

  /**
   * No new use goes on this session: the client opens a fresh one, and this one ends when its
   * last stream does. Not the client's to close; the connection stays for the fresh session.
   */
  retire(): void {
    this.retired = true
  }

  /** Whether new uses may go on this session. */
  get isOpen(): boolean {
    return !this.closed && !this.retired && this.link.isOpen
  }

  get isRetired(): boolean {
    return this.retired
  }

  async close(): Promise<void> {
    if (this.closed) return
    await this.end()
    await this.link.close()
  }

  /** Ends the session's streams, not the connection: a fresh session to the node shares it. */
  private async end(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const waiter of this.waiters.splice(0)) waiter.fail(sessionClosed())
    for (const s of this.idle.splice(0)) await s.close().catch(() => {})
  }
}

function sessionClosed(): SessionError {
  return new SessionError('SESSION_CLOSED', 'the session was closed')
}

function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal }
}
