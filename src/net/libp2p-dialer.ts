/** The client's `PeerDialer` over a libp2p node that dials and runs ping (src/net/client-libp2p.ts). */
import type { Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ClientLibp2p } from './client-libp2p.ts'
import type { PeerDialer, PeerLink } from './peer-dialer.ts'
import { openChannel } from './protocol-dialer.ts'
import { HANDSHAKE_PROTOCOL } from './protocols.ts'

/**
 * The link to the node at the other end of `connection`; `close` ends it (a client's own
 * connection is closed, a full node's connection to a peer it uses for more is kept). Throws
 * for a peer id that carries no public key, after `close`.
 */
export async function peerLinkOf(
  connection: Connection,
  close: () => Promise<void>,
): Promise<PeerLink> {
  const peerId = connection.remotePeer
  const publicKey = peerId.publicKey?.raw
  if (publicKey === undefined) {
    await close()
    throw new Error(`peer ${peerId} has no public key in its id`)
  }
  return {
    peer: peerId.toString(),
    peerIdBytes: peerId.toMultihash().bytes,
    publicKey,
    openStream: (streamSignal) => openChannel(connection, HANDSHAKE_PROTOCOL, streamSignal),
    get isOpen() {
      return connection.status === 'open'
    },
    close,
  }
}

export function libp2pDialer(libp2p: ClientLibp2p): PeerDialer {
  return {
    async dial(address: Multiaddr, signal?: AbortSignal): Promise<PeerLink> {
      const connection = await libp2p.dial(address, signal === undefined ? {} : { signal })
      return peerLinkOf(connection, () => connection.close().catch(() => {}))
    },
    ping: (address, signal) =>
      libp2p.services.ping.ping(address, signal === undefined ? {} : { signal }),
  }
}
