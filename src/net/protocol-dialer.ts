/**
 * Opens a stream of any protocol on a peer, as a ByteChannel: the one place a libp2p
 * connection becomes a channel (the client's handshake links, discovery, the messenger).
 */
import type { AbortOptions, Connection, Libp2p, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import type { ByteChannel } from '../wire/byte-channel.ts'
import { streamChannel } from './stream-channel.ts'

/** Where a peer is: a multiaddr naming its peer id, its string form, or a peer id known to libp2p. */
export type PeerAddress = Multiaddr | string | PeerId

export interface ProtocolDialer {
  /** A new stream of `protocol` to `peer` (dialled if not connected). */
  open(peer: PeerAddress, protocol: string, signal?: AbortSignal): Promise<ByteChannel>
}

function abortOptions(signal: AbortSignal | undefined): AbortOptions {
  return signal === undefined ? {} : { signal }
}

/** `peer` as libp2p dials it: a string is a multiaddr when it starts with '/', else a peer id. */
function dialTarget(peer: PeerAddress): Multiaddr | PeerId {
  if (typeof peer !== 'string') return peer
  return peer.startsWith('/') ? multiaddr(peer) : peerIdFromString(peer)
}

/** A new stream of `protocol` on an open connection. */
export async function openChannel(
  connection: Connection,
  protocol: string,
  signal?: AbortSignal,
): Promise<ByteChannel> {
  const stream = await connection.newStream(protocol, abortOptions(signal))
  return streamChannel(stream, connection.remotePeer.toString())
}

/** Any libp2p node that can dial: a full node's, a client's, a tab's. */
export type DialingLibp2p = Pick<Libp2p, 'dial'>

export function libp2pProtocolDialer(libp2p: DialingLibp2p): ProtocolDialer {
  return {
    async open(peer, protocol, signal) {
      signal?.throwIfAborted()
      const connection = await libp2p.dial(dialTarget(peer), abortOptions(signal))
      return openChannel(connection, protocol, signal)
    },
  }
}
