/**
 * The seam between transports and protocols: an ordered, reliable byte stream in each
 * direction. The handshake and the services are written against this, not against libp2p, so
 * the same code runs over a libp2p stream in Node, in a browser worker, or over an in-memory
 * pair in tests. `src/net` adapts libp2p streams to it.
 */
export interface ByteChannel {
  /** Bytes from the peer, in order; ends when the peer closes its side. Iterate it once. */
  readonly source: AsyncIterable<Uint8Array>
  /** Sends bytes; resolves when the transport can take more (backpressure). */
  write(bytes: Uint8Array): Promise<void>
  /** Closes our side after everything written so far has been sent. */
  close(): Promise<void>
  /** Tears the channel down at once, both directions. */
  abort(reason: Error): void
  /** Who is on the other end, as the transport authenticated it (a libp2p peer id). */
  readonly remotePeer: string
}
