/**
 * The client's session with one node: the libp2p connection, the handshake (HELLO on the first
 * stream, JOIN for every further one), its streams within the node's limit (idle ones kept for
 * the next request, requests beyond the limit queued), and the session's delivery
 * acknowledgements (one commitment, then reveals as blocks verify).
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import { concatBytes } from '@noble/hashes/utils.js'
import { type AckFrame, SessionAcks } from '../acks/client-acks.ts'
import { StreamAcks } from '../acks/stream-acks.ts'
import type { ClientKey } from '../crypto/client-key.ts'
import { type ClientStream, joinSession, openSession } from '../handshake/client-handshake.ts'
import { sleep } from '../handshake/deadline.ts'
import { SessionError } from '../handshake/errors.ts'
import type { PeerDialer, PeerLink } from '../net/peer-dialer.ts'
import { CDN_SERVICE } from '../services/service-ids.ts'
import { encodeSessionFrame, type SessionFrame } from '../wire/session-frames.ts'
import { describeError, NodeFailureError } from './errors.ts'

export interface NodeSessionOptions {
  readonly key: ClientKey
  readonly handshakeTimeoutMs: number
  readonly chainLength?: number
}

/** What a session's acknowledgements cost this client so far (for benchmarks and the demo). */
export interface AckCounters {
  readonly verifiedUnits: number
  readonly acknowledgedUnits: number
  readonly commitments: number
  readonly signMs: number
  readonly hashMs: number
}

/** What a fetch waiting for a stream is given: an idle stream, or room to join a new one. */
type StreamGrant = { readonly stream: ClientStream } | { readonly stream?: undefined }

interface StreamWaiter {
  readonly grant: (grant: StreamGrant) => void
  readonly fail: (error: unknown) => void
}

/** How long a JOIN refused for load is retried: the node frees a stream slot a moment after we
 * end the stream, so the first refusal after a release is usually stale. */
const JOIN_RETRY_DELAYS_MS = [5, 20, 50, 100, 200, 400, 800]

/**
 * One session with one node. Streams: at most the node's `maxStreams` (from CHALLENGE) are
 * open at once, idle ones included; a request beyond that waits in a FIFO queue for the next
 * stream released, so a client never fails a fetch because of its own concurrency.
 * Acknowledgements: one chain for the session, routed to the streams by StreamAcks.
 */
export class NodeSession {
  readonly peer: string
  /** Streams the node allows this session (its CHALLENGE). */
  readonly maxStreams: number
  private readonly link: PeerLink
  private readonly first: ClientStream
  private readonly acks: SessionAcks
  private readonly idle: ClientStream[] = []
  private readonly waiters: StreamWaiter[] = []
  private readonly timeoutMs: number
  /** Streams of this session that are open, idle, or being joined. */
  private streams = 1
  private readonly streamAcks: StreamAcks<ClientStream>
  private closed = false
  /**
   * Set when a body is dropped before the session verified a block (a header under another
   * root: the start over). The node wrote off what it had sent, and forgives written-off blocks
   * only once the client has acknowledged one (src/acks/ledger.ts): until then they hold its
   * window, and the next body could stall until the node's acknowledgement timeout (seen: 10 s,
   * then SESSION_TIMEOUT at block 6). So no new request goes on it: the client opens a fresh
   * session (a fresh window) and this one ends when its last stream does.
   */
  private retired = false

  private constructor(
    peer: string,
    link: PeerLink,
    first: ClientStream,
    acks: SessionAcks,
    timeoutMs: number,
  ) {
    this.peer = peer
    this.link = link
    this.first = first
    this.acks = acks
    this.streamAcks = new StreamAcks(acks)
    this.timeoutMs = timeoutMs
    this.maxStreams = first.challenge.maxStreams
  }

  /**
   * Dials `address`, opens a session with `request` pipelined behind HELLO (the node serves
   * it right after SESSION). Resolves with the session and the stream the request's answer
   * arrives on; the signed commitment goes out with the first acknowledgement.
   */
  static async open(
    dialer: PeerDialer,
    address: Multiaddr,
    request: SessionFrame,
    options: NodeSessionOptions & { signal?: AbortSignal },
  ): Promise<{ session: NodeSession; stream: ClientStream }> {
    const link = await dialer.dial(address, options.signal).catch((error) => {
      if (options.signal?.aborted) throw error
      throw new NodeFailureError(
        'CLIENT_UNREACHABLE',
        `cannot dial ${address}: ${describeError(error)}`,
      )
    })
    const channel = await link.openStream(options.signal)
    let stream: ClientStream
    try {
      stream = await openSession(channel, {
        key: options.key,
        service: CDN_SERVICE,
        nodePeerId: link.peerIdBytes,
        timeoutMs: options.handshakeTimeoutMs,
        pipeline: [encodeSessionFrame(request)],
        ...signalOption(options.signal),
      })
    } catch (error) {
      channel.abort(error as Error)
      throw error
    }
    const nodeKey = link.publicKey
    const acks = new SessionAcks({
      key: options.key,
      session: stream.session,
      nodeKey,
      epoch: stream.challenge.epoch,
      service: CDN_SERVICE,
      window: stream.challenge.ackWindow,
      unit: stream.challenge.unit,
      ...(options.chainLength === undefined ? {} : { chainLength: options.chainLength }),
    })
    const session = new NodeSession(link.peer, link, stream, acks, options.handshakeTimeoutMs)
    // The commitment (a 16,384-unit hash chain and a signature: ~25 ms) waits for the first
    // verified block: the node serves a window before it needs one, and the first byte does not
    // wait for it.
    return { session, stream }
  }

  /**
   * A stream of this session with `request` sent on it: an idle one, a new JOIN, or, when the
   * node's `maxStreams` are all busy, the next one released (in the order asked).
   */
  async request(request: SessionFrame, signal?: AbortSignal): Promise<ClientStream> {
    let stream = (await this.take(signal)).stream
    if (stream !== undefined) {
      try {
        await stream.send(request)
      } catch {
        // The node closed the idle stream meanwhile: its slot is ours to join again.
        stream.abort(new Error('idle stream failed'))
        stream = undefined
      }
    }
    if (stream === undefined) {
      try {
        stream = await this.join(request, signal)
      } catch (error) {
        this.freeSlot()
        throw error
      }
    }
    // A body given up on (aborted) leaves blocks verified and not yet acknowledged: the node
    // forgives the rest of an aborted body only to a client that pays for what it verified
    // (docs/protocol.md, "Delivery acknowledgements").
    await this.sendAcks(stream, this.streamAcks.flush(stream))
    return stream
  }

  /** An idle stream or room for one now, else a place in the queue. */
  private take(signal?: AbortSignal): Promise<StreamGrant> {
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
    return new Promise<StreamGrant>((resolve, reject) => {
      const onAbort = () => {
        const at = this.waiters.indexOf(waiter)
        if (at >= 0) this.waiters.splice(at, 1)
        reject(signal!.reason)
      }
      const waiter: StreamWaiter = {
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
  private async join(request: SessionFrame, signal?: AbortSignal): Promise<ClientStream> {
    for (let attempt = 0; ; attempt++) {
      const channel = await this.link.openStream(signal)
      try {
        return await joinSession(channel, {
          session: this.first.session,
          token: this.first.token,
          timeoutMs: this.timeoutMs,
          pipeline: [encodeSessionFrame(request)],
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

  /** `units` more blocks verified from this node: sends the acknowledgements now due. */
  async verified(stream: ClientStream, units = 1): Promise<void> {
    // Making the chain blocks the thread for ~20 ms: the reader takes the first block first.
    // Whoever comes first makes it; StreamAcks makes it once however many streams wait here.
    if (!this.streamAcks.begun) await new Promise((resolve) => setTimeout(resolve, 0))
    await this.sendAcks(stream, this.streamAcks.verified(stream, units))
  }

  /** End of a response: acknowledges everything verified. */
  async flush(stream: ClientStream): Promise<void> {
    await this.sendAcks(stream, this.streamAcks.flush(stream))
  }

  /** Writes acknowledgement frames on `stream` in one write (concurrent calls cannot interleave). */
  private async sendAcks(stream: ClientStream, frames: readonly AckFrame[]): Promise<void> {
    if (frames.length === 0) return
    await stream.send(concatBytes(...frames.map((f) => encodeSessionFrame(f))))
  }

  /** A stream whose response ended cleanly goes back to the idle pool; others are dropped. */
  release(stream: ClientStream, reusable: boolean): void {
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

  get ackCounters(): AckCounters {
    const a = this.acks
    return {
      verifiedUnits: a.verifiedUnits,
      acknowledgedUnits: a.acknowledgedUnits,
      commitments: a.commitments,
      signMs: a.signMs,
      hashMs: a.hashMs,
    }
  }

  /**
   * A body about to be dropped under another root's header (the start over): retires the
   * session if it has verified nothing, so nothing of what the node sent can be paid for.
   */
  retireIfUnpaid(): void {
    if (this.acks.verifiedUnits === 0) this.retired = true
  }

  /** Whether new requests may go on this session. */
  get isOpen(): boolean {
    return !this.closed && !this.retired && this.link.isOpen
  }

  /** Retired (see `retired`): it ends by itself when its streams do; not the client's to close. */
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
