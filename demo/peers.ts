/**
 * Who is who: peer id → a name and a colour, so every block, log line and table row names a
 * node the same way. Full nodes and the liar come from the network description; browser tabs
 * join as the client discovers them (a tab holding content the page asked for).
 */
import type { NetworkDescription } from './network.ts'

export interface Peer {
  readonly peerId: string
  readonly name: string
  readonly role: 'node' | 'liar' | 'tab'
  /** Index in `network.nodes` (the stop/start endpoints use it); undefined for the liar and tabs. */
  readonly index: number | undefined
  readonly color: string
  readonly multiaddr: string
}

/** Distinct on the dark background; red is kept for the liar and for rejected blocks. */
const NODE_COLORS = ['#2dd4bf', '#a78bfa', '#fb923c', '#60a5fa', '#f472b6', '#a3e635', '#fbbf24']
export const LIAR_COLOR = '#ef4444'
/** Tabs get shades of fuchsia, apart from every full node's colour. */
const TAB_COLORS = ['#e879f9', '#f0abfc', '#c026d3', '#d8b4fe']

/** How the page names a tab: short enough for a block's tooltip, distinct enough to tell apart. */
export function tabName(peerId: string): string {
  return `tab-${peerId.slice(-6)}`
}

export class PeerDirectory {
  private readonly peers: Peer[]
  private readonly byPeer: Map<string, Peer>
  private tabs = 0

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
    this.peers = peers
    this.byPeer = new Map(peers.map((p) => [p.peerId, p]))
  }

  /** Full nodes, the liar, then the tabs in the order they were discovered. */
  get all(): readonly Peer[] {
    return this.peers
  }

  /**
   * Registers a discovered browser tab; false when it was known already. Only bootstrap nodes
   * and discovered tabs can serve the client, so any other peer that shows up is a tab.
   */
  addTab(peerId: string, multiaddr = ''): boolean {
    if (this.byPeer.has(peerId)) return false
    const peer: Peer = {
      peerId,
      name: tabName(peerId),
      role: 'tab',
      index: undefined,
      color: TAB_COLORS[this.tabs++ % TAB_COLORS.length] ?? '#e879f9',
      multiaddr,
    }
    this.peers.push(peer)
    this.byPeer.set(peerId, peer)
    return true
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
