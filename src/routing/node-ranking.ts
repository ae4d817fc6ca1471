/**
 * Which node serves a request (whitepaper, "Smart Routing & Work Allocation": the lowest
 * latency, highest reputation node): pure functions a client, a service worker and a full node
 * answering "who should serve me" share, and that the simulation (src/devnet/simulation) runs
 * unchanged.
 *
 * A candidate's cost is its measured round trip scaled by its reputation:
 *
 *   cost = latency × (1 + penalty × (100 − reputation) / 100)
 *
 * so a node of reputation 100 costs its latency and one of reputation 0 costs (1 + penalty)×
 * it (penalty 1 by default: a 0-reputation node must be twice as close to be chosen). A node
 * without a score yet is taken at `unknownReputation` (50): new nodes get traffic, and so a
 * score, without outranking proven ones. A node never measured costs `unmeasuredMs`.
 *
 * Load is spread over the best few (`spread`, default 3) whose cost is within `tolerance`
 * (default 1.3×) of the best: every client of a region picking the one best node would make
 * it the region's bottleneck, and the next ones are nearly as good.
 */
import { RoutingError } from './errors.ts'

export interface RoutingCandidate {
  /** Measured round trip, ms; undefined when not measured or unreachable. */
  readonly latencyMs: number | undefined
  /** Verified reputation 0..100; undefined when the node has none yet. */
  readonly reputation: number | undefined
}

export interface RankingParams {
  /** Extra cost of a 0-reputation node, as a multiple of its latency (default 1). */
  readonly reputationPenalty?: number
  /** Reputation assumed for a node without one (default 50). */
  readonly unknownReputation?: number
  /** Latency assumed for a node never measured, ms (default 10,000). */
  readonly unmeasuredMs?: number
}

export interface SpreadParams {
  /** At most this many of the best are shared out (default 3). */
  readonly spread?: number
  /** Only those within this factor of the best cost (default 1.3). */
  readonly tolerance?: number
}

const DEFAULTS = { reputationPenalty: 1, unknownReputation: 50, unmeasuredMs: 10_000 }
export const DEFAULT_SPREAD = 3
export const DEFAULT_TOLERANCE = 1.3

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0)
    throw new RoutingError(
      'ROUTING_INVALID_ARGUMENT',
      `${name} must be a finite number ≥ 0, got ${value}`,
    )
  return value
}

/** The cost of serving from `c` (lower is better); see the module comment. */
export function routingCost(c: RoutingCandidate, params: RankingParams = {}): number {
  const penalty = nonNegative(
    'reputationPenalty',
    params.reputationPenalty ?? DEFAULTS.reputationPenalty,
  )
  const latency = nonNegative(
    'latencyMs',
    c.latencyMs ?? params.unmeasuredMs ?? DEFAULTS.unmeasuredMs,
  )
  const reputation = c.reputation ?? params.unknownReputation ?? DEFAULTS.unknownReputation
  if (!Number.isFinite(reputation) || reputation < 0 || reputation > 100)
    throw new RoutingError(
      'ROUTING_INVALID_ARGUMENT',
      `reputation must be 0..100, got ${reputation}`,
    )
  return latency * (1 + (penalty * (100 - reputation)) / 100)
}

/** The candidates cheapest first (stable: equal costs keep their order). */
export function rankNodes<T extends RoutingCandidate>(
  candidates: readonly T[],
  params: RankingParams = {},
): T[] {
  const costs = candidates.map((c) => routingCost(c, params))
  return candidates
    .map((c, i) => ({ c, i }))
    .sort((a, b) => (costs[a.i] as number) - (costs[b.i] as number) || a.i - b.i)
    .map(({ c }) => c)
}

/**
 * Index into `ranked` (cheapest first) of the node to use: one of the first `spread` whose cost
 * is within `tolerance` × the best, chosen by `draw` (uniform in [0, 1), the caller's
 * randomness, so that a seeded simulation replays). −1 for an empty list.
 */
export function spreadPick(
  ranked: readonly RoutingCandidate[],
  draw: number,
  params: SpreadParams & RankingParams = {},
): number {
  if (!(draw >= 0 && draw < 1))
    throw new RoutingError('ROUTING_INVALID_ARGUMENT', `draw must be in [0, 1), got ${draw}`)
  if (ranked.length === 0) return -1
  return Math.floor(draw * nearCount(ranked, params))
}

/** How many of the first of `ranked` are near the best: at most `spread`, within `tolerance`. */
function nearCount(
  ranked: readonly RoutingCandidate[],
  params: SpreadParams & RankingParams,
): number {
  if (ranked.length === 0) return 0
  const spread = Math.max(1, Math.floor(params.spread ?? DEFAULT_SPREAD))
  const tolerance = params.tolerance ?? DEFAULT_TOLERANCE
  const best = routingCost(ranked[0] as RoutingCandidate, params)
  let near = 1
  while (
    near < Math.min(spread, ranked.length) &&
    routingCost(ranked[near] as RoutingCandidate, params) <= best * tolerance
  )
    near++
  return near
}

/** A candidate that names itself (its node key), for content affinity. */
export interface NamedCandidate extends RoutingCandidate {
  readonly id: Uint8Array
}

const word = (b: Uint8Array, at: number) =>
  ((b[at] ?? 0) | ((b[at + 1] ?? 0) << 8) | ((b[at + 2] ?? 0) << 16) | ((b[at + 3] ?? 0) << 24)) >>>
  0

/** murmur3's 32-bit finaliser: every input bit moves every output bit. */
function mix32(x: number): number {
  let h = x >>> 0
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b)
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return (h ^ (h >>> 16)) >>> 0
}

/**
 * Rendezvous (highest-random-weight) hashing of a content over nodes: `root` and node keys are
 * hashes already, so a mix of their first eight bytes is weight enough (no hash call per
 * request). Every client that sees the same near set sends the same content to the same node.
 */
export function rendezvousWeight(root: Uint8Array, id: Uint8Array): number {
  return mix32(word(root, 0) ^ word(id, 0) ^ mix32(word(root, 4) ^ word(id, 4)))
}

/**
 * Index into `ranked` (cheapest first) of the node to ask for `root`: among the same near set
 * as `spreadPick`, the one of highest rendezvous weight. Clients of one region then agree on
 * which of their nearby nodes serves which content, so those nodes cache different contents
 * and their caches add up (measured in docs/simulation.md: spreading by a random draw left
 * each node of a cluster caching the same popular set). −1 for an empty list.
 */
export function contentPick(
  ranked: readonly NamedCandidate[],
  root: Uint8Array,
  params: SpreadParams & RankingParams = {},
): number {
  const near = nearCount(ranked, params)
  let best = -1
  let bestWeight = -1
  for (let i = 0; i < near; i++) {
    const weight = rendezvousWeight(root, (ranked[i] as NamedCandidate).id)
    if (weight > bestWeight) {
      bestWeight = weight
      best = i
    }
  }
  return best
}

export interface PeerOffer extends RoutingCandidate {
  readonly peer: string
  /** Whether the peer's content summary holds the root asked about. */
  readonly holds: boolean
}

/**
 * A full node's answer to a client's "who should serve me": up to `max` of its peers, those
 * whose summary holds the root first (a likely hit saves the origin fetch), each group
 * cheapest first. The client measures them itself before trusting the order.
 */
export function suggestServers(
  offers: readonly PeerOffer[],
  max: number,
  params: RankingParams = {},
): string[] {
  const holders = rankNodes(
    offers.filter((o) => o.holds),
    params,
  )
  const others = rankNodes(
    offers.filter((o) => !o.holds),
    params,
  )
  return [...holders, ...others].slice(0, Math.max(0, max)).map((o) => o.peer)
}
