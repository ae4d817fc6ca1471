/**
 * How the client reaches a node, as the client sees it: a dialer that returns a link to the
 * node, on which it opens handshake streams. libp2p is one implementation
 * (src/net/libp2p-dialer.ts); a browser worker that cannot hold a WebRTC connection itself
 * can dial through its page with another, since all the client needs are ByteChannels. It lives
 * in net, below client, because net's dialers implement it.
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ByteChannel } from '../wire/byte-channel.ts'

/** An open connection to one node. */
export interface PeerLink {
  /** The node's peer id, as a string. */
  readonly peer: string
  /** The node's peer id as multihash bytes (what the handshake binds). */
  readonly peerIdBytes: Uint8Array
  /** The node's Ed25519 public key (what acknowledgements name). */
  readonly publicKey: Uint8Array
  /** A new stream of the handshake protocol. */
  openStream(signal?: AbortSignal): Promise<ByteChannel>
  readonly isOpen: boolean
  close(): Promise<void>
}

export interface PeerDialer {
  /** Connects to the node at `address` (which names its peer id). */
  dial(address: Multiaddr, signal?: AbortSignal): Promise<PeerLink>
  /** Round trip to the node, ms. */
  ping(address: Multiaddr, signal?: AbortSignal): Promise<number>
}
