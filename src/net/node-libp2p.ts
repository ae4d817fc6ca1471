/**
 * libp2p for a full node: WebSockets (browsers reach nodes here) and WebRTC-direct listeners,
 * Noise, Yamux, identify, ping, and a circuit-relay-v2 server so browser tabs can reserve a
 * slot and be dialled by other browsers.
 */

import { createSocket } from 'node:dgram'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { webRTCDirect } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { connectionMonitor } from './connection-monitor.ts'

export interface NodeLibp2pOptions {
  readonly privateKey: PrivateKey
  readonly host: string
  readonly wsPort: number
  readonly webrtcPort: number
}

/**
 * A UDP port the kernel calls free on `host`. libp2p's WebRTC-direct listener maps port 0
 * through `get-port`, which tests TCP only: on a machine running many nodes it handed out a
 * port another node held for UDP (CI: "a libp2p port is in use … webrtc 0/udp").
 */
export function freeUdpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4')
    socket.once('error', (e) => {
      socket.close()
      reject(e)
    })
    socket.bind({ address: host, port: 0, exclusive: true }, () => {
      const { port } = socket.address()
      socket.close(() => resolve(port))
    })
  })
}

export async function createNodeLibp2p(options: NodeLibp2pOptions) {
  const { privateKey, host, wsPort } = options
  const webrtcPort = options.webrtcPort === 0 ? await freeUdpPort(host) : options.webrtcPort
  return createLibp2p({
    privateKey,
    addresses: {
      listen: [`/ip4/${host}/tcp/${wsPort}/ws`, `/ip4/${host}/udp/${webrtcPort}/webrtc-direct`],
    },
    transports: [webSockets(), webRTCDirect()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor,
    connectionManager: {
      // libp2p's default (5 new connections per second per address) would refuse the
      // clients of one NAT, or one test machine, dialling at once.
      inboundConnectionThreshold: 100,
      // libp2p's default (10 connections mid-upgrade) refused dials when 20 clients came at
      // once (issue 23: 48 of 320 fetches failed with CLIENT_UNREACHABLE). An upgrade costs a
      // Noise handshake: 128 of them is a few ms of CPU and little memory.
      maxIncomingPendingConnections: 128,
    },
    services: {
      identify: identify(),
      ping: ping(),
      relay: circuitRelayServer({ reservations: { maxReservations: 128 } }),
    },
    start: false,
  })
}

export type NodeLibp2p = Awaited<ReturnType<typeof createNodeLibp2p>>
