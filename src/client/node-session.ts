/**
 * The client's session with one node: the libp2p connection, the handshake (HELLO on the first
 * stream, JOIN for every further one), idle streams kept for the next request, and the
 * session's delivery acknowledgements (one commitment, then reveals as blocks verify).
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import { SessionAcks } from '../acks/client-acks.ts'
import type { ClientKey } from '../crypto/client-key.ts'
import { type ClientStream, joinSession, openSession } from '../handshake/client-handshake.ts'
import { CDN_SERVICE } from '../services/service-ids.ts'
import { encodeSessionFrame, type SessionFrame } from '../wire/session-frames.ts'
import { describeError, NodeFailureError } from './errors.ts'
import type { PeerDialer, PeerLink } from './peer-dialer.ts'

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

export class NodeSession {
  readonly peer: string
  private readonly link: PeerLink
  private readonly first: ClientStream
  private readonly acks: SessionAcks
  private readonly idle: ClientStream[] = []
  private readonly timeoutMs: number
  private closed = false
  private begun = false

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
    this.timeoutMs = timeoutMs
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

  /** A stream of this session with `request` sent on it: an idle one, or a new JOIN. */
  async request(request: SessionFrame, signal?: AbortSignal): Promise<ClientStream> {
    let stream = this.idle.pop()
    if (stream !== undefined) await stream.send(request)
    else stream = await this.join(request, signal)
    // A body given up on (aborted) leaves blocks verified and not yet acknowledged: the node
    // forgives the rest of an aborted body only to a client that pays for what it verified
    // (docs/protocol.md, "Delivery acknowledgements").
    if (this.acks.commitments > 0) for (const frame of this.acks.flush()) await stream.send(frame)
    return stream
  }

  private async join(request: SessionFrame, signal?: AbortSignal): Promise<ClientStream> {
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
      throw error
    }
  }

  /** `units` more blocks verified from this node: sends the acknowledgements now due. */
  async verified(stream: ClientStream, units = 1): Promise<void> {
    await this.begin(stream)
    for (const frame of this.acks.verified(units)) await stream.send(frame)
  }

  /** End of a response: acknowledges everything verified. */
  async flush(stream: ClientStream): Promise<void> {
    await this.begin(stream)
    for (const frame of this.acks.flush()) await stream.send(frame)
  }

  /** Sends the session's first commitment, once. */
  private async begin(stream: ClientStream): Promise<void> {
    if (this.begun) return
    this.begun = true
    // Making the chain blocks the thread for ~20 ms: let the reader take the first block first.
    await new Promise((resolve) => setTimeout(resolve, 0))
    await stream.send(this.acks.begin())
  }

  /** A stream whose response ended cleanly goes back to the idle pool; others are dropped. */
  release(stream: ClientStream, reusable: boolean): void {
    if (reusable && !this.closed) this.idle.push(stream)
    else stream.abort(new Error('stream released'))
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

  get isOpen(): boolean {
    return !this.closed && this.link.isOpen
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const s of this.idle.splice(0)) await s.close().catch(() => {})
    await this.link.close()
  }
}

function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal }
}
