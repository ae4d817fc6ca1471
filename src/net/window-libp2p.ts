/**
 * libp2p in a browser window: the only place `RTCPeerConnection` exists. WebRTC between
 * browsers is set up through a full node's circuit relay (the SDP offer and answer travel over
 * the relayed connection, then the data flows directly); WebSockets reach the relays. A tab
 * node listens here; a page's client dials tab nodes from here for its worker.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { connectionMonitor } from './connection-monitor.ts'
import { libp2pDialer } from './libp2p-dialer.ts'
import type { PeerDialer } from './peer-dialer.ts'

export interface WindowLibp2pOptions {
  readonly privateKey?: PrivateKey
  /** `['/p2p-circuit', '/webrtc']` for a node that others dial; nothing for a client. */
  readonly listen?: readonly string[]
}

export async function createWindowLibp2p(options: WindowLibp2pOptions = {}) {
  return createLibp2p({
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    addresses: { listen: [...(options.listen ?? [])] },
    transports: [webSockets(), webRTC(), circuitRelayTransport()],
    connectionMonitor,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: {
      // Loopback and private addresses are where local networks and tests live.
      denyDialMultiaddr: () => false,
    },
    services: { identify: identify(), ping: ping() },
  })
}

export type WindowLibp2p = Awaited<ReturnType<typeof createWindowLibp2p>>

/** A client-only window libp2p and its dialer (what a page dials tab nodes with). */
export async function createWindowDialer(): Promise<{ libp2p: WindowLibp2p; dialer: PeerDialer }> {
  const libp2p = await createWindowLibp2p()
  return { libp2p, dialer: libp2pDialer(libp2p) }
}
