/**
 * A service over sessions (docs/protocol.md "Sessions"): what the session host needs to run
 * one. The host does the handshake and keeps the session table; a service names its id (the
 * one a HELLO asks for), the codec of the frames its clients send, the state it keeps per
 * session, the parameters it greets a session with, and how it serves a stream. The CDN is one
 * (services/cdn/cdn-service.ts); adding another needs no change to the host.
 */
import type { NodeStream } from '../handshake/node-handshake.ts'
import type { SessionInfo } from '../handshake/session-table.ts'
import type { FrameCodec } from '../wire/frame-codec.ts'

/** A new session, as the service sees it when it makes the session's state. */
export interface ServiceSessionInfo extends SessionInfo {
  /** The epoch the session opened in (the one the node's CHALLENGE named). */
  readonly epoch: bigint
}

export interface Service<State = unknown, F = unknown> {
  /** The id a HELLO names (u32; the CDN is 0). */
  readonly id: number
  /** For logs. */
  readonly name: string
  /** The frames its clients send once the session is open; it encodes what it sends too. */
  readonly codec: FrameCodec<F>
  /** The state it keeps per session (kept across a retry of the session's primary stream). */
  createState(info: ServiceSessionInfo): State
  /** Its parameters for a session, carried by SESSION on every stream (≤ 256 bytes; none if absent). */
  greeting?(state: State): Uint8Array
  /**
   * Serves one stream whose handshake succeeded, until it ends or `signal` aborts (the node
   * stops); it ends the stream (close or TERMINATE) before it resolves.
   */
  serve(stream: NodeStream<State, F>, signal: AbortSignal): Promise<void>
}
