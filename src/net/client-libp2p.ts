/**
 * libp2p for a client: dials nodes over WebSockets (the transport both Node and browsers,
 * including workers, have), Noise, Yamux, and ping to measure each node's latency. It listens
 * on nothing: clients only dial.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import type { PrivateKey } from '@libp2p/interface'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { connectionMonitor } from './connection-monitor.ts'

export interface ClientLibp2pOptions {
  /** The client's network identity (default: a fresh one; it is not the client key). */
  readonly privateKey?: PrivateKey
}

export async function createClientLibp2p(options: ClientLibp2pOptions = {}) {
  return createLibp2p({
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    addresses: { listen: [] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor,
    connectionGater: {
      // Loopback and private addresses are where test networks and local nodes live.
      denyDialMultiaddr: () => false,
    },
    services: { identify: identify(), ping: ping() },
  })
}

export type ClientLibp2p = Awaited<ReturnType<typeof createClientLibp2p>>
