/** The client's `PeerDialer` over a libp2p node that dials and runs ping (src/net/client-libp2p.ts). */
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ClientLibp2p } from './client-libp2p.ts'
import type { PeerDialer, PeerLink } from './peer-dialer.ts'
import { openChannel } from './protocol-dialer.ts'
import { HANDSHAKE_PROTOCOL } from './protocols.ts'

export function libp2pDialer(libp2p: ClientLibp2p): PeerDialer {
  return {
    async dial(address: Multiaddr, signal?: AbortSignal): Promise<PeerLink> {
      const connection = await libp2p.dial(address, signal === undefined ? {} : { signal })
      const peerId = connection.remotePeer
      const publicKey = peerId.publicKey?.raw
      if (publicKey === undefined) {
        await connection.close().catch(() => {})
        throw new Error(`peer ${peerId} has no public key in its id`)
      }
      const peer = peerId.toString()
      return {
        peer,
        peerIdBytes: peerId.toMultihash().bytes,
        publicKey,
        openStream: (streamSignal) => openChannel(connection, HANDSHAKE_PROTOCOL, streamSignal),
        get isOpen() {
          return connection.status === 'open'
        },
        close: () => connection.close().catch(() => {}),
      }
    },
    ping: (address, signal) =>
      libp2p.services.ping.ping(address, signal === undefined ? {} : { signal }),
  }
}
