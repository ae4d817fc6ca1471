/**
 * The node's share of the network topology (issue 19, "Topology"): a Component the chain node
 * composes (with `chain.measure` on: the graph is made of the measurements). At start and
 * whenever the chain's epoch changes it computes the epoch's graph from the state after the
 * block that started the epoch (src/routing/epoch-topology.ts: every node computes the same),
 * and keeps libp2p connections to its assigned peers:
 *
 * - each assigned peer not connected is dialled at the first address the node registry gives
 *   for it (as the pinger does; its peer id is its node key), a few dials at a time;
 * - assigned peers carry the peer-store tag `keep-alive-fulmen-topology`: libp2p's connection
 *   manager prunes them last and, for the `keep-alive` prefix, redials them when they drop;
 *   a peer no longer assigned loses the tag (its connection stays until libp2p prunes it: other
 *   parts of the node may be using it);
 * - every `checkEveryMs` it looks at the epoch and dials the assigned peers that dropped.
 *
 * `assignment` is what the HTTP route `/chain/topology` shows. Metrics: assigned and connected
 * topology peers, the epoch of the assignment, dials by result.
 */
import { KEEP_ALIVE, type Libp2p } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { readNodeAddress } from '../../consensus/chain-reads.ts'
import type { Component } from '../../core/lifecycle.ts'
import type { Logger } from '../../core/logger.ts'
import type { Metrics } from '../../core/metrics.ts'
import { epochTopology, readEpochTopologyInputs } from '../../routing/epoch-topology.ts'
import type { StateExecutor } from '../../state/executor.ts'
import { peerIdOfNodeKey } from '../chain/committee-chain.ts'

/** The peer-store tag of assigned peers (the `keep-alive` prefix makes libp2p redial them). */
export const TOPOLOGY_TAG = `${KEEP_ALIVE}-fulmen-topology`
/** Its value: above libp2p's defaults (0…50), so pruning takes other peers first. */
export const TOPOLOGY_TAG_VALUE = 100
/** Dials at once when an assignment changes (a node of 1,000 has about 14 peers). */
export const DEFAULT_DIAL_CONCURRENCY = 4
/** A dial that takes longer than this is given up until the next check. */
export const DIAL_TIMEOUT_MS = 10_000

export type TopologyLibp2p = Pick<Libp2p, 'dial' | 'getConnections' | 'peerStore'>

export interface TopologyKeeperOptions {
  readonly libp2p: TopologyLibp2p
  readonly executor: Pick<StateExecutor, 'head' | 'prove' | 'get' | 'entries'>
  /** This node's key (its Ed25519 public key). */
  readonly nodeKey: Uint8Array
  /** How often the epoch is looked at and dropped peers redialled, milliseconds. */
  readonly checkEveryMs: number
  readonly dialConcurrency?: number
  readonly metrics: Metrics
  readonly logger: Logger
}

/** The node's assignment, as `/chain/topology` shows it (keys in hex). */
export interface TopologyAssignmentJson {
  readonly epoch: number
  /** The height of the block that started the epoch: the state the graph was computed from. */
  readonly height: number
  readonly node: string
  /** Active nodes in the graph. */
  readonly nodes: number
  /** Node keys of the assigned peers, ascending. */
  readonly peers: readonly string[]
  /** Those of them this node has a connection to now. */
  readonly connected: readonly string[]
}

export interface TopologyKeeper extends Component {
  /** The current assignment; undefined before the first is computed. */
  readonly assignment: TopologyAssignmentJson | undefined
}

export function createTopologyKeeper(options: TopologyKeeperOptions): TopologyKeeper {
  const { libp2p, executor, metrics } = options
  const log = options.logger.child({ component: 'topology' })
  const self = bytesToHex(options.nodeKey)
  const concurrency = Math.max(1, options.dialConcurrency ?? DEFAULT_DIAL_CONCURRENCY)
  /** Assigned peers: node key hex → peer id text. */
  let assigned = new Map<string, string>()
  let current: { epoch: number; height: number; nodes: number } | undefined
  let controller: AbortController | undefined
  let timer: ReturnType<typeof setTimeout> | undefined
  let running: Promise<void> | undefined

  const isConnected = (peer: string) =>
    libp2p.getConnections(peerIdFromString(peer)).some((c) => c.status === 'open')
  const connectedKeys = () => [...assigned].filter(([, peer]) => isConnected(peer)).map(([k]) => k)

  metrics.gauge({
    name: 'fulmen_topology_peers_assigned',
    help: 'Peers the epoch’s topology assigns this node',
    collect: () => assigned.size,
  })
  metrics.gauge({
    name: 'fulmen_topology_peers_connected',
    help: 'Assigned topology peers this node has an open connection to',
    collect: () => connectedKeys().length,
  })
  metrics.gauge({
    name: 'fulmen_topology_epoch',
    help: 'The epoch of the current topology assignment',
    collect: () => current?.epoch ?? 0,
  })
  const dials = metrics.counter({
    name: 'fulmen_topology_dials_total',
    help: 'Dials of assigned topology peers, by result (ok, error, no_address)',
    labelNames: ['result'],
  })

  const tag = async (peer: string, on: boolean, address?: string) => {
    try {
      await libp2p.peerStore.merge(peerIdFromString(peer), {
        tags: { [TOPOLOGY_TAG]: on ? { value: TOPOLOGY_TAG_VALUE } : undefined },
        // The registry's address, for libp2p's redial of a keep-alive peer.
        ...(address === undefined ? {} : { multiaddrs: [multiaddr(address)] }),
      })
    } catch (err) {
      log.warn({ err, peer }, on ? 'tagging a topology peer failed' : 'untagging failed')
    }
  }

  /** The registry's first address of `key`, as the pinger dials it. */
  const addressOf = (key: string) => readNodeAddress(executor, hexToBytes(key))

  const dialOne = async (key: string, signal: AbortSignal) => {
    const address = await addressOf(key)
    if (address === undefined) {
      dials.labels('no_address').inc()
      return
    }
    try {
      await libp2p.dial(multiaddr(address), {
        signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]),
      })
      dials.labels('ok').inc()
    } catch (err) {
      if (signal.aborted) return
      dials.labels('error').inc()
      log.debug({ err, peer: key, address }, 'dialling a topology peer failed')
    }
  }

  /** Dials the assigned peers that are not connected, `concurrency` at a time. */
  const connectMissing = async (signal: AbortSignal) => {
    const missing = [...assigned].filter(([, peer]) => !isConnected(peer))
    let next = 0
    const worker = async () => {
      while (next < missing.length && !signal.aborted) {
        const [key] = missing[next++]!
        await dialOne(key, signal)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, missing.length) }, worker))
  }

  /** Computes the epoch's assignment and (un)tags the peers that joined or left it. */
  const assign = async () => {
    const inputs = await readEpochTopologyInputs(
      async (table, key, height) => (await executor.prove(table, key, height)).value,
      executor.head.height,
      (table) => executor.entries(table),
    )
    const topology = epochTopology(inputs)
    const next = new Map<string, string>()
    for (const key of topology.peersOf(options.nodeKey))
      next.set(bytesToHex(key), peerIdOfNodeKey(key))
    const added = [...next].filter(([k]) => !assigned.has(k))
    const removed = [...assigned].filter(([k]) => !next.has(k))
    for (const [key, peer] of added) await tag(peer, true, await addressOf(key))
    for (const [, peer] of removed) await tag(peer, false)
    const changed = current?.epoch !== inputs.epoch
    assigned = next
    current = { epoch: inputs.epoch, height: inputs.height, nodes: topology.nodes.length }
    if (changed)
      log.info(
        {
          epoch: inputs.epoch,
          height: inputs.height,
          nodes: topology.nodes.length,
          latencies: inputs.latencies.length,
          peers: next.size,
          added: added.length,
          removed: removed.length,
        },
        'topology assignment',
      )
  }

  /** Whether the last check failed: a failure that repeats every check is logged once. */
  let failing = false
  const check = async (signal: AbortSignal) => {
    try {
      if (current?.epoch !== executor.head.epoch) await assign()
      if (!signal.aborted) await connectMissing(signal)
      if (failing) log.info({ epoch: current?.epoch }, 'keeping the topology again')
      failing = false
    } catch (err) {
      if (signal.aborted) return
      if (failing) log.debug({ err }, 'keeping the topology failed again')
      else log.warn({ err }, 'keeping the topology failed')
      failing = true
    }
  }

  const loop = (signal: AbortSignal) => {
    running = check(signal).finally(() => {
      if (!signal.aborted) timer = setTimeout(() => loop(signal), options.checkEveryMs)
    })
  }

  return {
    name: 'topology',
    get assignment() {
      if (current === undefined) return undefined
      return {
        ...current,
        node: self,
        peers: [...assigned.keys()].sort(),
        connected: connectedKeys().sort(),
      }
    },
    start() {
      controller = new AbortController()
      // The first check runs in the background: the node need not wait for its dials.
      loop(controller.signal)
    },
    async stop() {
      controller?.abort()
      clearTimeout(timer)
      await running
      for (const peer of assigned.values()) await tag(peer, false)
      assigned = new Map()
      current = undefined
      controller = undefined
    },
  }
}
