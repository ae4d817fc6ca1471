/**
 * Which nodes the page asks, and in what order. Honest: the full nodes, nearest first. Lying:
 * the tampering node first (`order: 'given'`), so every fetch meets the lie, then the full
 * nodes for the client to fail over to.
 */
import type { NetworkDescription } from './network.ts'

export interface Route {
  readonly liar: boolean
  readonly bootstrap: readonly string[]
  readonly order: 'latency' | 'given'
}

export function routeFor(network: NetworkDescription, liar: boolean): Route {
  const nodes = network.nodes.map((n) => n.multiaddr)
  if (liar && network.liar !== undefined)
    return { liar: true, bootstrap: [network.liar.multiaddr, ...nodes], order: 'given' }
  return { liar: false, bootstrap: nodes, order: 'latency' }
}
