/**
 * The epoch's topology as every node computes it (issue 19, "Topology"): the inputs of
 * `buildTopology` (topology.ts) read from the chain state at one agreed point, and, for a node
 * key, the node keys it keeps connections to.
 *
 * The agreed point is the state after the block that started the epoch (the epoch's start
 * height, found by bisection on the metadata's epoch): latencies submitted during the epoch
 * overwrite the table's entries, so a node reading the latest state mid-epoch would see another
 * matrix than one that read it at the change. From that state:
 *
 * - nodes: the epoch's active nodes (its committee entry), ascending by node key, so index i
 *   is the same node everywhere;
 * - latencies: the `latencies` entries of every ordered pair of them;
 * - seed: BLAKE3-derive-key("fulmen 2026 topology epoch seed", epoch u64be ‖ beacon seed), the
 *   beacon seed being the one the chain drew the epoch's committee with (beacon.ts
 *   `beaconSeed` of the previous epoch's reveals, in node-key order; its committee entry keeps
 *   them). The chain keeps no seed of its own, so it is recomputed; the epoch number is mixed
 *   in because a devnet without a beacon round has no reveals and would get one seed forever.
 *
 * Nothing here does I/O but through the caller's `StateAt`: the node reads its executor, a test
 * the HTTP chain routes, and both get the same graph.
 */
import { deriveKey } from '../b3/hash.ts'
import { equalBytes } from '../core/bytes.ts'
import { beaconSeed } from '../state/beacon.ts'
import { compareNodeKeys } from '../state/committee-selection.ts'
import type { NodeKey, TableName } from '../state/model.ts'
import { decodeEntry, METADATA_KEY, tableKeys, u64be } from '../state/tables.ts'
import { RoutingError } from './errors.ts'
import { buildTopology, denseLatencyMatrix, type TopologyParams } from './topology.ts'

const SEED_CONTEXT = 'fulmen 2026 topology epoch seed'

/** The encoded entry under (table, key) in the state after block `height` (0: genesis). */
export type StateAt = (
  table: TableName,
  key: Uint8Array,
  height: number,
) => Promise<Uint8Array | undefined>

/** One measured latency, as the `latencies` table holds it (reporter ‖ subject). */
export interface LatencyReport {
  readonly reporter: NodeKey
  readonly subject: NodeKey
  readonly latencyUs: number
}

export interface EpochTopologyInputs {
  readonly epoch: number
  /** The height of the block that started the epoch: the state everything was read from. */
  readonly height: number
  /** The epoch's active nodes, ascending by node key, no repeats. */
  readonly nodes: readonly NodeKey[]
  readonly latencies: readonly LatencyReport[]
  readonly seed: Uint8Array
}

export interface EpochTopology {
  readonly epoch: number
  readonly height: number
  readonly nodes: readonly NodeKey[]
  /** Neighbours by index into `nodes` (buildTopology's output). */
  readonly neighbours: readonly (readonly number[])[]
  /** The node keys `node` keeps connections to; none for a node not active in the epoch. */
  peersOf(node: NodeKey): NodeKey[]
}

/** The epoch's topology seed from its number and the previous epoch's beacon reveals. */
export function topologySeed(
  epoch: number,
  previousReveals: readonly { readonly node: NodeKey; readonly reveal: Uint8Array }[],
): Uint8Array {
  const reveals = [...previousReveals].sort((a, b) => compareNodeKeys(a.node, b.node))
  const beacon = beaconSeed(reveals.map((r) => r.reveal))
  const material = new Uint8Array(8 + beacon.length)
  material.set(u64be(epoch))
  material.set(beacon, 8)
  return deriveKey(SEED_CONTEXT, material)
}

/** Sorted ascending, repeats dropped: the index order every node uses. */
export function sortedNodes(nodes: readonly NodeKey[]): NodeKey[] {
  const sorted = [...nodes].sort(compareNodeKeys)
  return sorted.filter((key, i) => i === 0 || !equalBytes(key, sorted[i - 1]!))
}

/** The graph of `inputs`: a pure function of them, so every node's view is the same. */
export function epochTopology(
  inputs: EpochTopologyInputs,
  params: TopologyParams = {},
): EpochTopology {
  const nodes = sortedNodes(inputs.nodes)
  const index = new Map(nodes.map((key, i) => [hexKey(key), i]))
  const entries = []
  for (const { reporter, subject, latencyUs } of inputs.latencies) {
    const from = index.get(hexKey(reporter))
    const to = index.get(hexKey(subject))
    // A latency of or to a node not active this epoch has no place in the matrix.
    if (from === undefined || to === undefined || from === to) continue
    entries.push({ from, to, latencyUs })
  }
  const neighbours =
    nodes.length === 0
      ? []
      : buildTopology(denseLatencyMatrix(nodes.length, entries), inputs.seed, params)
  return {
    epoch: inputs.epoch,
    height: inputs.height,
    nodes,
    neighbours,
    peersOf(node) {
      const i = index.get(hexKey(node))
      return i === undefined ? [] : (neighbours[i] ?? []).map((j) => nodes[j]!)
    },
  }
}

async function epochAt(at: StateAt, height: number): Promise<number> {
  const bytes = await at('metadata', METADATA_KEY, height)
  if (bytes === undefined)
    throw new RoutingError('ROUTING_STATE_MISSING', `no chain metadata at height ${height}`)
  return decodeEntry('metadata', bytes).epoch
}

/**
 * The lowest height ≤ `headHeight` whose state is in `epoch` or later (epochs only grow with
 * height): about log2(headHeight) reads.
 */
export async function epochStartHeight(
  at: StateAt,
  epoch: number,
  headHeight: number,
): Promise<number> {
  let lo = 0
  let hi = headHeight
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2)
    if ((await epochAt(at, mid)) >= epoch) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** The entries of a table in the latest state (the executor's `entries`). */
export type LatestEntries = (
  table: 'latencies',
) => AsyncIterable<{ readonly key: Uint8Array; readonly value: Uint8Array }>

/**
 * The inputs of the epoch of the state after `headHeight`: everything read from the state
 * after the block that started that epoch. Without `latest`, reads n × (n − 1) latency entries
 * for n active nodes, plus the bisection's. With it, walks the latest `latencies` entries and
 * reads at the start height only those written in the epoch or later: an entry carries the
 * epoch it was written in and is never deleted, so one of an earlier epoch is the same at the
 * start height (a node measures ~20 others: ~20 n entries instead of n² reads).
 */
export async function readEpochTopologyInputs(
  at: StateAt,
  headHeight: number,
  latest?: LatestEntries,
): Promise<EpochTopologyInputs> {
  const epoch = await epochAt(at, headHeight)
  const height = await epochStartHeight(at, epoch, headHeight)
  const committeeOf = async (e: number) => {
    const bytes = await at('committees', tableKeys.committee(e), height)
    return bytes === undefined ? undefined : decodeEntry('committees', bytes)
  }
  const committee = await committeeOf(epoch)
  if (committee === undefined)
    throw new RoutingError('ROUTING_STATE_MISSING', `epoch ${epoch} has no committee entry`)
  const nodes = sortedNodes(committee.activeNodes)
  const previous = epoch === 0 ? undefined : await committeeOf(epoch - 1)
  const latencies: LatencyReport[] = []
  if (latest === undefined) {
    for (const reporter of nodes) {
      for (const subject of nodes) {
        if (reporter === subject) continue
        const bytes = await at('latencies', tableKeys.latency(reporter, subject), height)
        if (bytes === undefined) continue
        latencies.push({ reporter, subject, latencyUs: decodeEntry('latencies', bytes).latencyUs })
      }
    }
  } else {
    const active = new Set(nodes.map(hexKey))
    for await (const { key, value } of latest('latencies')) {
      const reporter = key.slice(0, key.length / 2)
      const subject = key.slice(key.length / 2)
      if (!active.has(hexKey(reporter)) || !active.has(hexKey(subject))) continue
      let entry = decodeEntry('latencies', value)
      if (entry.epoch >= epoch) {
        const then = await at('latencies', key, height)
        if (then === undefined) continue
        entry = decodeEntry('latencies', then)
      }
      latencies.push({ reporter, subject, latencyUs: entry.latencyUs })
    }
  }
  return {
    epoch,
    height,
    nodes,
    latencies,
    seed: topologySeed(epoch, previous?.beaconReveals ?? []),
  }
}

function hexKey(key: Uint8Array): string {
  let out = ''
  for (const b of key) out += b.toString(16).padStart(2, '0')
  return out
}
