/**
 * What the messenger (messenger.ts) needs from a network: open a stream to a peer by id, and
 * be handed the streams peers open. libp2p is one implementation (below); an in-memory network
 * (memory-transport.ts) is the other, for tests and simulations of many peers in one process.
 */
import type { Libp2p } from '@libp2p/interface'
import type { ByteChannel } from '../wire/byte-channel.ts'
import { libp2pProtocolDialer, type PeerAddress } from './protocol-dialer.ts'
import { streamChannel } from './stream-channel.ts'

export interface MessageTransport {
  /** This end's peer id. */
  readonly self: string
  /** A new stream to `peer`; rejects when it cannot be reached now. */
  open(peer: string, signal: AbortSignal): Promise<ByteChannel>
  /** Hands every stream a peer opens to `accept`, until `unlisten`. */
  listen(accept: (channel: ByteChannel) => void): Promise<void>
  unlisten(): Promise<void>
}

export interface Libp2pMessageTransportOptions {
  readonly libp2p: Pick<Libp2p, 'peerId' | 'dial' | 'handle' | 'unhandle'>
  /** The messenger's protocol id (one per use: a committee's, discovery's…). */
  readonly protocol: string
  /** Where to dial a peer (default: its id, which libp2p must already know addresses of). */
  readonly addressOf?: (peer: string) => PeerAddress
  /** Inbound streams of the protocol one connection may have open (default 4). */
  readonly maxInboundStreams?: number
}

export function libp2pMessageTransport(options: Libp2pMessageTransportOptions): MessageTransport {
  const { libp2p, protocol } = options
  const dialer = libp2pProtocolDialer(libp2p)
  return {
    self: libp2p.peerId.toString(),
    open: (peer, signal) => dialer.open(options.addressOf?.(peer) ?? peer, protocol, signal),
    listen: (accept) =>
      libp2p.handle(
        protocol,
        (stream, connection) => accept(streamChannel(stream, connection.remotePeer.toString())),
        { maxInboundStreams: options.maxInboundStreams ?? 4 },
      ),
    unlisten: () => libp2p.unhandle(protocol),
  }
}
