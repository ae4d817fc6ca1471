/**
 * Which nodes of each region run which service this epoch (whitepaper, "Node Assignment &
 * Shuffling": "every epoch the network uses various graph algorithms to assign edge nodes in
 * each geographic region to perform the work for every service … when a service experiences
 * increased demand … other services no longer heavily utilized are automatically downscaled").
 *
 * 1. Regions: the nodes split into `ceil(n / regionSize)` clusters of equal size by latency,
 *    with the topology's own size-constrained k-medoids (src/routing/topology.ts) over the
 *    same completed latency matrix and the epoch's seed; fewer than two regions' worth of
 *    nodes is one region.
 * 2. Per region and service, a share of the region's nodes in proportion to the service's
 *    demand (its work served last epoch), never fewer than `minPerRegion` (every service stays
 *    reachable everywhere) nor more than the region holds.
 * 3. Which nodes: the highest rendezvous weights BLAKE3(seed ‖ service ‖ node key). A new seed
 *    each epoch shuffles who serves what (no node can choose its service); within an epoch a
 *    service that grows keeps the nodes it had and gains the next ones (rendezvous order is
 *    stable), so scaling moves as little as possible.
 *
 * A pure function of (node keys, latencies, demands, seed): every node computes the same.
 */
import { blake3 } from '@noble/hashes/blake3.js'
import { RoutingError } from './errors.ts'
import {
  completeLatencies,
  constrainedKMedoids,
  type LatencyMatrix,
  SeededRandom,
} from './topology.ts'

export interface ServiceDemand {
  /** The service id (0 the CDN, 1 edge functions…). */
  readonly service: number
  /** Work served last epoch, in any unit common to all services; ≥ 0. */
  readonly demand: number
}

export interface AssignmentParams {
  /** Nodes per region (default 64). */
  readonly regionSize?: number
  /** Least nodes a service gets in a region (default 2, or the region's size if smaller). */
  readonly minPerRegion?: number
}

export interface ServiceAssignment {
  /** Node indices per region (into the matrix), ascending. */
  readonly regions: readonly (readonly number[])[]
  /** By service, the node indices serving it in each region (same order as `regions`). */
  readonly services: ReadonlyMap<number, readonly (readonly number[])[]>
}

export const DEFAULT_REGION_SIZE = 64
export const DEFAULT_MIN_PER_REGION = 2

function invalid(field: string, value: unknown, why: string): never {
  throw new RoutingError('ROUTING_INVALID_ARGUMENT', `${field} ${why}, got ${String(value)}`, {
    details: { field, value: String(value) },
  })
}

/** The regions of `matrix`'s nodes: equal-size latency clusters, seeded (step 1). */
export function regionsOf(
  matrix: LatencyMatrix,
  seed: Uint8Array,
  regionSize = DEFAULT_REGION_SIZE,
): number[][] {
  const n = matrix.size
  if (!Number.isSafeInteger(regionSize) || regionSize < 1)
    invalid('regionSize', regionSize, 'must be a positive integer')
  const all = Int32Array.from({ length: n }, (_, i) => i)
  const k = Math.ceil(n / regionSize)
  if (k < 2) return n === 0 ? [] : [Array.from(all)]
  const distance = completeLatencies(matrix, n)
  return constrainedKMedoids(distance, n, all, k, new SeededRandom(seed)).map((c) =>
    Array.from(c).sort((a, b) => a - b),
  )
}

/** Rendezvous weight of `node` for `service` under `seed` (step 3): 8 bytes of BLAKE3. */
function weight(seed: Uint8Array, service: number, node: Uint8Array): bigint {
  const input = new Uint8Array(seed.length + 4 + node.length)
  input.set(seed)
  new DataView(input.buffer).setUint32(seed.length, service)
  input.set(node, seed.length + 4)
  return new DataView(blake3(input).buffer).getBigUint64(0)
}

/**
 * The epoch's assignment: `keys[i]` names node i of `matrix`; `demands` one entry per service
 * (a service absent from it runs nowhere). Throws ROUTING_INVALID_ARGUMENT for a key count that
 * is not the matrix's, a service id that is not a u32 or repeats, a negative or non-finite
 * demand, an empty seed, or bad params.
 */
export function assignServices(
  matrix: LatencyMatrix,
  keys: readonly Uint8Array[],
  demands: readonly ServiceDemand[],
  seed: Uint8Array,
  params: AssignmentParams = {},
): ServiceAssignment {
  if (keys.length !== matrix.size)
    invalid('keys', keys.length, `must name the ${matrix.size} nodes`)
  if (!(seed instanceof Uint8Array) || seed.length === 0) invalid('seed', seed, 'must be bytes')
  const minPerRegion = params.minPerRegion ?? DEFAULT_MIN_PER_REGION
  if (!Number.isSafeInteger(minPerRegion) || minPerRegion < 0)
    invalid('minPerRegion', minPerRegion, 'must be a non-negative integer')
  const seen = new Set<number>()
  let total = 0
  for (const { service, demand } of demands) {
    if (!Number.isInteger(service) || service < 0 || service > 0xffff_ffff || seen.has(service))
      invalid('service', service, 'must be a u32 named once')
    if (!Number.isFinite(demand) || demand < 0) invalid('demand', demand, 'must be finite and ≥ 0')
    seen.add(service)
    total += demand
  }
  const regions = regionsOf(matrix, seed, params.regionSize ?? DEFAULT_REGION_SIZE)
  const services = new Map<number, number[][]>()
  for (const { service, demand } of demands) {
    const weights = keys.map((key) => weight(seed, service, key))
    services.set(
      service,
      regions.map((region) => {
        const share = total === 0 ? 0 : Math.ceil((region.length * demand) / total)
        const count = Math.min(region.length, Math.max(minPerRegion, share))
        return [...region]
          .sort((a, b) => (weights[b]! > weights[a]! ? 1 : weights[b]! < weights[a]! ? -1 : a - b))
          .slice(0, count)
          .sort((a, b) => a - b)
      }),
    )
  }
  return { regions, services }
}
