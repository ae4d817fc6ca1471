/**
 * Which nodes the page asks, and in what order. Honest: the full nodes, nearest first, the
 * unstaked one included so that the client is seen refusing it. Lying: the tampering node first
 * (`order: 'given'`), so every fetch meets the lie, then the full nodes for the client to fail
 * over to.
 *
 * On a committee chain the honest route verifies the chain: the client uses a node only once
 * its light client proved it staked (the staked nodes' gateways serve the checkpoints and
 * proofs). The lying route does not: the liar is not staked, and a verifying client would
 * refuse it before it could lie, which is not what that route is there to show. A solo chain
 * signs no checkpoints: nothing to verify against there.
 */
import type { NetworkDescription } from './network.ts'

export interface RouteChain {
  /** The genesis file's JSON text. */
  readonly genesis: string
  /** The staked nodes' gateways: where the light client reads checkpoints and proofs. */
  readonly gateways: readonly string[]
}

export interface Route {
  readonly liar: boolean
  readonly bootstrap: readonly string[]
  readonly order: 'latency' | 'given'
  /** The chain the client verifies nodes against; undefined: it does not. */
  readonly chain: RouteChain | undefined
}

/** The staked nodes' HTTP gateways (every node but the unstaked one). */
export function stakedGateways(network: NetworkDescription): string[] {
  return network.nodes.filter((n) => n.role !== 'unstaked').map((n) => n.gateway)
}

/** The light client's view of the network: undefined on a chain that signs no checkpoints. */
export function chainOf(network: NetworkDescription): RouteChain | undefined {
  if (network.chain.consensus !== 'committee') return undefined
  return { genesis: network.chain.genesisJson, gateways: stakedGateways(network) }
}

export function routeFor(network: NetworkDescription, liar: boolean): Route {
  const nodes = network.nodes.map((n) => n.multiaddr)
  if (liar && network.liar !== undefined)
    return {
      liar: true,
      bootstrap: [network.liar.multiaddr, ...nodes],
      order: 'given',
      chain: undefined,
    }
  return { liar: false, bootstrap: nodes, order: 'latency', chain: chainOf(network) }
}
