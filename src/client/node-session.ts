/**
 * The client's CDN session with one node: a generic session (service-session.ts: connection,
 * handshake, streams within the node's limit, retirement) of the CDN service, plus what the CDN
 * adds: requests, and the session's delivery acknowledgements (one commitment, then reveals as
 * blocks verify) in the window and unit the node's greeting gave.
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import { concatBytes } from '@noble/hashes/utils.js'
import { type AckFrame, SessionAcks } from '../acks/client-acks.ts'
import { StreamAcks } from '../acks/stream-acks.ts'
import type { ClientKey } from '../crypto/client-key.ts'
import type { ClientStream } from '../handshake/client-handshake.ts'
import type { PeerDialer } from '../net/peer-dialer.ts'
import { CDN_SERVICE } from '../services/service-ids.ts'
import { CDN_CODEC, type CdnFrame, decodeCdnGreeting, encodeCdnFrame } from '../wire/cdn-frames.ts'
import { ServiceSession } from './service-session.ts'

/** A stream of a CDN session: requests out, content bodies in. */
export type CdnClientStream = ClientStream<CdnFrame>

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

/**
 * One CDN session with one node. Streams as `ServiceSession` keeps them; acknowledgements: one
 * chain for the session, routed to the streams by StreamAcks.
 */
export class NodeSession {
  readonly peer: string
  /** Streams the node allows this session (its CHALLENGE). */
  readonly maxStreams: number
  private readonly session: ServiceSession<CdnFrame>
  private readonly acks: SessionAcks
  private readonly streamAcks: StreamAcks<CdnClientStream>

  private constructor(session: ServiceSession<CdnFrame>, acks: SessionAcks) {
    this.session = session
    this.peer = session.peer
    this.maxStreams = session.maxStreams
    this.acks = acks
    this.streamAcks = new StreamAcks(acks)
  }

  /**
   * Dials `address`, opens a session with `request` pipelined behind HELLO (the node serves
   * it right after SESSION). Resolves with the session and the stream the request's answer
   * arrives on; the signed commitment goes out with the first acknowledgement.
   */
  static async open(
    dialer: PeerDialer,
    address: Multiaddr,
    request: CdnFrame,
    options: NodeSessionOptions & { signal?: AbortSignal },
  ): Promise<{ session: NodeSession; stream: CdnClientStream }> {
    const { session, stream } = await ServiceSession.open(dialer, address, request, {
      key: options.key,
      service: CDN_SERVICE,
      codec: CDN_CODEC['to-client'],
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
    let acks: SessionAcks
    try {
      // The node's window and unit for this session, from its SESSION grant.
      const { ackWindow, unit } = decodeCdnGreeting(stream.greeting)
      acks = new SessionAcks({
        key: options.key,
        session: stream.session,
        nodeKey: session.link.publicKey,
        epoch: stream.challenge.epoch,
        service: CDN_SERVICE,
        window: ackWindow,
        unit,
        ...(options.chainLength === undefined ? {} : { chainLength: options.chainLength }),
      })
    } catch (error) {
      stream.abort(error as Error)
      throw error
    }
    // The commitment (a 16,384-unit hash chain and a signature: ~25 ms) waits for the first
    // verified block: the node serves a window before it needs one, and the first byte does not
    // wait for it.
    return { session: new NodeSession(session, acks), stream }
  }

  /**
   * A stream of this session with `request` sent on it: an idle one, a new JOIN, or, when the
   * node's `maxStreams` are all busy, the next one released (in the order asked).
   */
  async request(request: CdnFrame, signal?: AbortSignal): Promise<CdnClientStream> {
    const stream = await this.session.stream(request, signal)
    // A body given up on (aborted) leaves blocks verified and not yet acknowledged: the node
    // forgives the rest of an aborted body only to a client that pays for what it verified
    // (docs/protocol.md, "Delivery acknowledgements").
    await this.sendAcks(stream, this.streamAcks.flush(stream))
    return stream
  }

  /** `units` more blocks verified from this node: sends the acknowledgements now due. */
  async verified(stream: CdnClientStream, units = 1): Promise<void> {
    // Making the chain blocks the thread for ~20 ms: the reader takes the first block first.
    // Whoever comes first makes it; StreamAcks makes it once however many streams wait here.
    if (!this.streamAcks.begun) await new Promise((resolve) => setTimeout(resolve, 0))
    await this.sendAcks(stream, this.streamAcks.verified(stream, units))
  }

  /** End of a response: acknowledges everything verified. */
  async flush(stream: CdnClientStream): Promise<void> {
    await this.sendAcks(stream, this.streamAcks.flush(stream))
  }

  /** Writes acknowledgement frames on `stream` in one write (concurrent calls cannot interleave). */
  private async sendAcks(stream: CdnClientStream, frames: readonly AckFrame[]): Promise<void> {
    if (frames.length === 0) return
    await stream.send(concatBytes(...frames.map((f) => encodeCdnFrame(f))))
  }

  /** A stream whose response ended cleanly goes back to the idle pool; others are dropped. */
  release(stream: CdnClientStream, reusable: boolean): void {
    this.session.release(stream, reusable)
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
   * The node wrote off what it had sent, and forgives written-off blocks only once the client
   * has acknowledged one (src/acks/ledger.ts): until then they hold its window, and the next
   * body could stall until the node's acknowledgement timeout (seen: 10 s, then
   * SESSION_TIMEOUT at block 6). So no new request goes on it: the client opens a fresh
   * session (a fresh window) and this one ends when its last stream does.
   */
  retireIfUnpaid(): void {
    if (this.acks.verifiedUnits === 0) this.session.retire()
  }

  /** Whether new requests may go on this session. */
  get isOpen(): boolean {
    return this.session.isOpen
  }

  /** Retired (see `retireIfUnpaid`): it ends by itself when its streams do; not the client's to close. */
  get isRetired(): boolean {
    return this.session.isRetired
  }

  close(): Promise<void> {
    return this.session.close()
  }
}
