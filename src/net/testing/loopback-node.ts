/** A full node's libp2p for tests: a fresh key, started, listening on loopback only. */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createNodeLibp2p, type NodeLibp2p } from '../node-libp2p.ts'

export async function startLoopbackNode(): Promise<NodeLibp2p> {
  const libp2p = await createNodeLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    host: '127.0.0.1',
    wsPort: 0,
    webrtcPort: 0,
  })
  await libp2p.start()
  return libp2p
}

/** The node's WebSocket multiaddr (with its peer id). */
export function wsAddressOf(libp2p: NodeLibp2p): string {
  const address = libp2p.getMultiaddrs().find((a) => a.toString().includes('/ws/'))
  if (address === undefined) throw new Error('the node listens on no WebSocket address')
  return address.toString()
}
