/**
 * Who is who: peer id → a name and a colour, so every block, log line and table row names a
 * node the same way.
 */
import type { NetworkDescription } from './network.ts'

export interface Peer {
  readonly peerId: string
  readonly name: string
  readonly role: 'node' | 'liar'
  /** Index in `network.nodes` (the stop/start endpoints use it); undefined for the liar. */
  readonly index: number | undefined
  readonly color: string
  readonly multiaddr: string
}

/** Distinct on the dark background; red is kept for the liar and for rejected blocks. */
const NODE_COLORS = ['#2dd4bf', '#a78bfa', '#fb923c', '#60a5fa', '#f472b6', '#a3e635', '#fbbf24']
export const LIAR_COLOR = '#ef4444'

export class PeerDirectory {
  readonly all: readonly Peer[]
  private readonly byPeer: Map<string, Peer>

  constructor(network: NetworkDescription) {
    const peers: Peer[] = network.nodes.map((n, index) => ({
      peerId: n.peerId,
      name: n.name,
      role: 'node',
      index,
      color: NODE_COLORS[index % NODE_COLORS.length] ?? '#94a3b8',
      multiaddr: n.multiaddr,
    }))
    const liar = network.liar
    if (liar !== undefined)
      peers.push({
        peerId: liar.peerId,
        name: liar.name,
        role: 'liar',
        index: undefined,
        color: LIAR_COLOR,
        multiaddr: liar.multiaddr,
      })
    this.all = peers
    this.byPeer = new Map(peers.map((p) => [p.peerId, p]))
  }

  get(peerId: string): Peer | undefined {
    return this.byPeer.get(peerId)
  }

  /** A node's name, or a short peer id for one the page does not know. */
  name(peerId: string): string {
    return this.byPeer.get(peerId)?.name ?? `…${peerId.slice(-6)}`
  }

  color(peerId: string): string {
    return this.byPeer.get(peerId)?.color ?? '#94a3b8'
  }
}
