/**
 * A dialer whose links reach a session host in memory: each stream the client opens is one end
 * of an in-memory byte channel whose other end the host handles, as libp2p streams are on a
 * full node. For tests of the client's sessions against a real host, without a network.
 */
import type { PeerDialer, PeerLink } from '../../net/peer-dialer.ts'
import { channelPair } from '../../wire/testing/channel-pair.ts'
import type { SessionHost } from '../session-host.ts'

export interface HostNode {
  /** The node's peer id in binary (multihash) form, as HELLO binds it. */
  readonly peerIdBytes: Uint8Array
  /** The node's Ed25519 public key, as acknowledgements name it. */
  readonly publicKey: Uint8Array
}

/** A link to `host`, which stands for the node `node`. */
export function hostLink(host: Pick<SessionHost, 'handle'>, node: HostNode): PeerLink {
  return {
    peer: 'node',
    peerIdBytes: node.peerIdBytes,
    publicKey: node.publicKey,
    isOpen: true,
    async openStream() {
      const [client, nodeEnd] = channelPair({ peers: ['node', 'client'] })
      void host.handle(nodeEnd)
      return client
    },
    close: async () => {},
  }
}

/** A dialer that reaches `host` whatever address it is given. */
export function hostDialer(host: Pick<SessionHost, 'handle'>, node: HostNode): PeerDialer {
  const link = hostLink(host, node)
  return { dial: async () => link, ping: async () => 1 }
}
