/**
 * Network topology: which nodes each node keeps connections to, computed by every node from the
 * same on-chain latencies and the same epoch seed, so all of them agree on one graph without
 * talking about it. Lightning's `core/topology` (src/{lib,core,divisive,clustering,pairing}.rs)
 * does this with a divisive hierarchy of constrained k-medoids clusters; so does this module:
 *
 * 1. Latency matrix: the measured latency of each pair (both directions averaged), rounded to
 *    whole microseconds; a pair never measured gets an estimate (below).
 * 2. Fewer than `fullMeshBelow` nodes (16): every node connects to every other.
 * 3. Otherwise a set of m nodes is split into k = min(⌊m / target⌋, target) clusters of
 *    ⌊m / k⌋ or ⌈m / k⌉ nodes by k-medoids under that size constraint, seeded by the epoch's
 *    randomness; each cluster is split again the same way until it holds fewer than
 *    2 × target nodes (target = `targetClusterSize`, Lightning's k = 8). The nodes of such a
 *    last cluster all connect to each other.
 * 4. At every split, sibling clusters are bridged by their lowest-latency pairs (Lightning
 *    `greedy_pairs`), so the graph is connected and a broadcast crosses the hierarchy in a few
 *    hops.
 *
 * Everything is a pure function of (latencies, seed, params): the random stream is BLAKE3 in
 * counter mode keyed from the seed, latencies are integers (exact in float64), ties break by
 * node index, and no iteration order depends on anything else.
 *
 * Where this differs from Lightning, deliberately:
 * - A missing pair is estimated from triangle bounds through nodes that measured both ends
 *   (else from the two nodes' mean latencies), not set to the largest latency measured
 *   anywhere (`build_latency_matrix`), which pushes every barely-measured node away from
 *   everyone, its own region included. When each node measured only its 14 nearest and 6
 *   random others (1,000 nodes, five regions, 3 % of pairs), 76 % of connections stay within
 *   a region, mean link latency 39 ms; from the two nodes' means alone: 45 % and 88 ms; with
 *   every pair measured: 80 %.
 * - The seed is the caller's (the epoch's randomness) through BLAKE3, not ChaCha8 seeded with
 *   the epoch number, which anyone can compute for any future epoch.
 * - Initial medoids are drawn k-medoids++ style (weighted by distance to the medoids so far),
 *   not uniformly (`rand::seq::index::sample`): fewer rounds, fewer bad local optima.
 * - The size constraint is part of the iteration: each round assigns nodes to medoids by an
 *   exact min-cost balanced assignment, then moves each medoid to its cluster's centre.
 *   Lightning runs unconstrained FasterPAM and applies the constraint once at the end (a
 *   min-cost flow that leaves the medoids themselves out and labels them afterwards), so its
 *   medoids were chosen for clusters it then does not build.
 * - Fewer bridges: at a split a node makes at most `crossLinks` of them (only the one bridge
 *   every sibling pair is owed may go over). Lightning pairs every node with every sibling
 *   cluster at every depth, a degree of about (k − 1) × depth + k; here it is about
 *   crossLinks × depth + k (1,000 nodes: mean 14, max 18; any node 3.5 hops away on
 *   average, 6 at most, and the farthest 203 ms away along the graph against 197 ms direct).
 * - Latencies are whole microseconds, not truncated to milliseconds (`as_millis`), so nodes in
 *   one city are still told apart.
 * - The output is one symmetric, sorted neighbour list per node, not lists per depth.
 */
import { blake3 } from '@noble/hashes/blake3.js'
import { RoutingError } from './errors.ts'

/** Measured latencies of `size` nodes, in microseconds; `undefined`: the pair was not measured. */
export interface LatencyMatrix {
  readonly size: number
  latency(i: number, j: number): number | undefined
}

export interface TopologyParams {
  /** Nodes per final cluster: clusters end with target … 2 × target − 1 nodes; also the most
   * clusters a split makes (Lightning's k). Default 8. */
  readonly targetClusterSize?: number
  /** Below this many nodes, the topology is a full mesh (Lightning's MIN_NODES). Default 16. */
  readonly fullMeshBelow?: number
  /** Bridges a node makes to sibling clusters at each split of the hierarchy. Default 2. */
  readonly crossLinks?: number
}

export const DEFAULT_TARGET_CLUSTER_SIZE = 8
export const DEFAULT_FULL_MESH_BELOW = 16
export const DEFAULT_CROSS_LINKS = 2
/** Latencies above this (about 36 minutes) count as this: unreachable is unreachable. Keeps
 * every latency × pair count below 2^53, so sort keys stay exact. */
export const LATENCY_CEILING_US = 2 ** 31 - 1
/** Rounds of assign-then-recentre before a split settles for what it has (1,000 nodes in five
 * regions: every split converged in 2 to 8; the total cost never rises, so stopping is safe). */
export const MAX_MEDOID_ROUNDS = 16

const SEED_CONTEXT = new TextEncoder().encode('fulmen 2026 routing topology seed v1')

/**
 * Connections of each node (by index in `matrix`): symmetric (j in out[i] iff i in out[j]), no
 * self links, each list sorted ascending. Same inputs, same graph, on every machine.
 */
export function buildTopology(
  matrix: LatencyMatrix,
  seed: Uint8Array,
  params: TopologyParams = {},
): readonly (readonly number[])[] {
  if (!(seed instanceof Uint8Array) || seed.length === 0)
    throw invalid('A topology seed is non-empty bytes', { field: 'seed' })
  const target = paramOf(params, 'targetClusterSize', DEFAULT_TARGET_CLUSTER_SIZE, 2)
  const fullMeshBelow = paramOf(params, 'fullMeshBelow', DEFAULT_FULL_MESH_BELOW, 0)
  const crossLinks = paramOf(params, 'crossLinks', DEFAULT_CROSS_LINKS, 1)
  const n = checkedSize(matrix?.size)
  const distance = completeLatencies(matrix, n)
  const graph = new Graph(n)
  const everyone = Int32Array.from({ length: n }, (_, i) => i)
  if (n < fullMeshBelow) {
    graph.mesh(everyone)
  } else {
    const split: Split = {
      distance,
      n,
      target,
      crossLinks,
      random: new SeededRandom(seed),
      graph,
      load: new Int32Array(n),
    }
    divide(split, everyone)
  }
  return graph.sortedLists()
}

/**
 * A symmetric matrix from measurements: all measurements of a pair, in either direction, are
 * averaged. Entries naming a node outside 0 … size − 1, a node to itself, or a latency that is
 * not a finite number ≥ 0 are refused (ROUTING_INVALID_ARGUMENT).
 */
export function denseLatencyMatrix(
  size: number,
  entries: Iterable<{ from: number; to: number; latencyUs: number }>,
): LatencyMatrix {
  const n = checkedSize(size)
  const sum = new Float64Array(n * n)
  const count = new Uint32Array(n * n)
  for (const { from, to, latencyUs } of entries) {
    if (!isIndex(from, n) || !isIndex(to, n) || from === to)
      throw invalid(`Latency entry ${from} → ${to} is not a pair`, {
        field: 'entries',
        from,
        to,
        size: n,
      })
    checkLatency(latencyUs, from, to)
    const lo = Math.min(from, to)
    const hi = Math.max(from, to)
    sum[lo * n + hi]! += latencyUs
    count[lo * n + hi]! += 1
  }
  const mean = new Float64Array(n * n).fill(Number.NaN)
  for (let i = 0; i < n; i++) {
    mean[i * n + i] = 0
    for (let j = i + 1; j < n; j++) {
      const c = count[i * n + j]!
      if (c > 0) mean[i * n + j] = mean[j * n + i] = sum[i * n + j]! / c
    }
  }
  const matrix: LatencyMatrix = {
    size: n,
    latency(i, j) {
      if (!isIndex(i, n) || !isIndex(j, n))
        throw invalid(`Node ${i} or ${j} is not in 0 … ${n - 1}`, { field: 'index', i, j, size: n })
      const v = mean[i * n + j]!
      return Number.isNaN(v) ? undefined : v
    },
  }
  DENSE_MEANS.set(matrix, mean)
  return matrix
}

/** The checked, symmetric means behind each matrix `denseLatencyMatrix` made (NaN: not
 * measured), so `completeLatencies` reads them directly instead of through n² calls. */
const DENSE_MEANS = new WeakMap<LatencyMatrix, Float64Array>()

// ---- Latencies ----------------------------------------------------------------------------

/**
 * The n × n latency matrix the clustering runs on: whole microseconds, symmetric, 0 on the
 * diagonal, every pair filled. A pair measured one way only takes that measurement. A pair not
 * measured at all is estimated through relays, nodes that measured both ends: the middle of
 * the tightest triangle bounds (`relayBounds`), so two nodes of one region that never pinged
 * each other still look close. A pair no relay knows takes the mean of its two nodes' mean
 * measured latencies: a node far from everyone stays far, a central one central (a node with
 * no measurement counts the network's mean; with none anywhere, every pair is 1 µs and the
 * seed alone decides).
 */
export function completeLatencies(matrix: LatencyMatrix, n: number): Float64Array {
  const d = new Float64Array(n * n).fill(Number.NaN)
  const rowSum = new Float64Array(n)
  const rowCount = new Float64Array(n)
  let total = 0
  let measured = 0
  const dense = DENSE_MEANS.get(matrix)
  for (let i = 0; i < n; i++) {
    d[i * n + i] = 0
    for (let j = i + 1; j < n; j++) {
      const v = dense !== undefined ? dense[i * n + j]! : measuredLatency(matrix, i, j)
      if (Number.isNaN(v)) continue
      const us = Math.round(Math.min(v, LATENCY_CEILING_US))
      d[i * n + j] = d[j * n + i] = us
      rowSum[i]! += us
      rowSum[j]! += us
      rowCount[i]! += 1
      rowCount[j]! += 1
      total += us
      measured++
    }
  }
  if (measured === (n * (n - 1)) / 2) return d
  const networkMean = measured > 0 ? total / measured : 1
  const rowMean = new Float64Array(n)
  for (let i = 0; i < n; i++)
    rowMean[i] = rowCount[i]! > 0 ? rowSum[i]! / rowCount[i]! : networkMean
  const { upper, lower } = relayBounds(d, n)
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      if (!Number.isNaN(d[i * n + j]!)) continue
      const up = Math.min(upper[i * n + j]!, upper[j * n + i]!)
      const low = Math.max(lower[i * n + j]!, lower[j * n + i]!)
      const estimate =
        up < Number.POSITIVE_INFINITY ? (low + up) / 2 : (rowMean[i]! + rowMean[j]!) / 2
      d[i * n + j] = d[j * n + i] = Math.round(Math.min(estimate, LATENCY_CEILING_US))
    }
  return d
}

/** Relays per node for bounding the pairs nobody measured (its nearest measured neighbours):
 * at most this many, and fewer when nodes measured many others, so that a node's relays
 * together know about ESTIMATE_WORK pairs (at least 4 relays). */
export const ESTIMATE_RELAYS = 32
export const ESTIMATE_WORK = 2048

/**
 * Triangle bounds of the pairs nobody measured: a node k that measured both i and j puts
 * d(i, j) between |d(i, k) − d(k, j)| and d(i, k) + d(k, j). The relays tried for i are its
 * nearest measured neighbours (near relays give the tightest bounds), as many as keep the work
 * near n · ESTIMATE_WORK, not n³. The tightest bounds found through i's relays are at i·n + j
 * (those through j's at j·n + i): upper +∞ and lower 0 where no relay knows both.
 */
function relayBounds(d: Float64Array, n: number): { upper: Float64Array; lower: Float64Array } {
  // Measured neighbours of each node (ascending), in one flat list.
  const start = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) {
    let degree = 0
    for (let j = 0; j < n; j++) if (j !== i && !Number.isNaN(d[i * n + j]!)) degree++
    start[i + 1] = start[i]! + degree
  }
  const neighbour = new Int32Array(start[n]!)
  const latency = new Float64Array(start[n]!)
  for (let i = 0, e = 0; i < n; i++)
    for (let j = 0; j < n; j++)
      if (j !== i && !Number.isNaN(d[i * n + j]!)) {
        neighbour[e] = j
        latency[e++] = d[i * n + j]!
      }
  const meanDegree = Math.max(1, start[n]! / n)
  const relays = Math.max(4, Math.min(ESTIMATE_RELAYS, Math.floor(ESTIMATE_WORK / meanDegree)))
  const upper = new Float64Array(n * n).fill(Number.POSITIVE_INFINITY)
  const lower = new Float64Array(n * n)
  const keys = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    // i's nearest neighbours (ties: lower index) as keys latency · n + neighbour.
    const degree = start[i + 1]! - start[i]!
    for (let e = 0; e < degree; e++)
      keys[e] = latency[start[i]! + e]! * n + neighbour[start[i]! + e]!
    const count = Math.min(degree, relays)
    if (count < degree) selectSmallest(keys, 0, degree - 1, count)
    const row = i * n
    for (let r = 0; r < count; r++) {
      const k = keys[r]! % n
      const ik = (keys[r]! - k) / n
      for (let e = start[k]!; e < start[k + 1]!; e++) {
        const j = neighbour[e]!
        if (j === i || !Number.isNaN(d[row + j]!)) continue
        const kj = latency[e]!
        if (ik + kj < upper[row + j]!) upper[row + j] = ik + kj
        if (Math.abs(ik - kj) > lower[row + j]!) lower[row + j] = Math.abs(ik - kj)
      }
    }
  }
  return { upper, lower }
}

/** The pair's latency, both directions averaged (one if only one is known); NaN if neither. */
function measuredLatency(matrix: LatencyMatrix, i: number, j: number): number {
  const ij = matrix.latency(i, j)
  const ji = matrix.latency(j, i)
  if (ij !== undefined) checkLatency(ij, i, j)
  if (ji !== undefined) checkLatency(ji, j, i)
  return ij === undefined ? (ji ?? Number.NaN) : ji === undefined ? ij : (ij + ji) / 2
}

function invalid(message: string, details: Readonly<Record<string, unknown>>): RoutingError {
  return new RoutingError('ROUTING_INVALID_ARGUMENT', message, { details })
}

function checkLatency(v: unknown, from: number, to: number): asserts v is number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw invalid(`Latency ${from} → ${to} is ${String(v)}`, {
      field: 'latency',
      from,
      to,
      value: String(v),
    })
}

function checkedSize(size: unknown): number {
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 1)
    throw invalid(`A latency matrix needs ≥ 1 node, not ${size}`, {
      field: 'size',
      value: String(size),
    })
  return size
}

function isIndex(i: unknown, n: number): i is number {
  return typeof i === 'number' && Number.isInteger(i) && i >= 0 && i < n
}

function paramOf(params: TopologyParams, name: keyof TopologyParams, def: number, min: number) {
  const v = params[name] ?? def
  if (!Number.isSafeInteger(v) || v < min)
    throw invalid(`${name} must be an integer ≥ ${min}, not ${v}`, {
      field: name,
      value: String(v),
    })
  return v
}

// ---- Random stream ------------------------------------------------------------------------

/**
 * BLAKE3 in counter mode: block c is BLAKE3-keyed(key, c as 8 bytes little-endian), key derived
 * from the seed under this module's context string. Explicit so that any implementation can
 * reproduce the stream (and so the graph) byte for byte.
 */
export class SeededRandom {
  readonly #key: Uint8Array
  #counter = 0
  #words = new Uint32Array(8)
  #next = 8

  constructor(seed: Uint8Array) {
    this.#key = blake3(seed, { context: SEED_CONTEXT })
  }

  nextUint32(): number {
    if (this.#next === 8) {
      const block = new Uint8Array(8)
      new DataView(block.buffer).setBigUint64(0, BigInt(this.#counter++), true)
      const out = blake3(block, { key: this.#key })
      const view = new DataView(out.buffer, out.byteOffset, 32)
      for (let w = 0; w < 8; w++) this.#words[w] = view.getUint32(w * 4, true)
      this.#next = 0
    }
    return this.#words[this.#next++]!
  }

  /** Uniform in [0, 1), 53 random bits. */
  nextFloat(): number {
    const hi = this.nextUint32() >>> 11 // 21 bits
    return (hi * 2 ** 32 + this.nextUint32()) / 2 ** 53
  }

  /** Uniform integer in [0, bound), bound ≤ 2^32, without modulo bias (rejection). */
  below(bound: number): number {
    const limit = 2 ** 32 - (2 ** 32 % bound)
    for (;;) {
      const x = this.nextUint32()
      if (x < limit) return x % bound
    }
  }
}

// ---- The hierarchy ------------------------------------------------------------------------

interface Split {
  readonly distance: Float64Array
  readonly n: number
  readonly target: number
  readonly crossLinks: number
  readonly random: SeededRandom
  readonly graph: Graph
  /** Bridges each node has made at the current split (reset after each). */
  readonly load: Int32Array
}

/** Splits `members` (ascending) into clusters, bridges them, recurses; meshes a last cluster. */
function divide(s: Split, members: Int32Array): void {
  const count = Math.floor(members.length / s.target)
  if (count <= 1) {
    s.graph.mesh(members)
    return
  }
  const k = Math.min(count, s.target)
  const clusters = constrainedKMedoids(s.distance, s.n, members, k, s.random)
  bridgeSiblings(s, clusters)
  for (const cluster of clusters) divide(s, cluster)
}

/**
 * Splits `members` into k clusters of ⌊m/k⌋ or ⌈m/k⌉ nodes around medoids: seed medoids
 * k-medoids++ style, then alternate an exact balanced assignment and moving each medoid to the
 * member nearest all others in its cluster, until the medoids stay put. Returns the clusters
 * (members ascending), ordered by their first member, so the result does not depend on how
 * medoids happen to be numbered.
 */
export function constrainedKMedoids(
  distance: Float64Array,
  n: number,
  members: Int32Array,
  k: number,
  random: SeededRandom,
): Int32Array[] {
  const m = members.length
  const medoids = initialMedoids(distance, n, members, k, random) // local indices
  const toMedoid = new Float64Array(m * k)
  let labels: Int32Array = new Int32Array(m)
  for (let round = 0; round < MAX_MEDOID_ROUNDS; round++) {
    for (let q = 0; q < m; q++) {
      const row = members[q]! * n
      for (let c = 0; c < k; c++) toMedoid[q * k + c] = distance[row + members[medoids[c]!]!]!
    }
    labels = balancedAssignment(toMedoid, m, k)
    if (!recentre(distance, n, members, labels, medoids)) break
  }
  const sizes = new Int32Array(k)
  for (let q = 0; q < m; q++) sizes[labels[q]!]!++
  const clusters = Array.from(sizes, (size) => new Int32Array(size))
  const fill = new Int32Array(k)
  for (let q = 0; q < m; q++) {
    const c = labels[q]!
    clusters[c]![fill[c]!++] = members[q]!
  }
  return clusters.sort((a, b) => a[0]! - b[0]!)
}

/** k-medoids++: the first medoid uniform, each next with probability ∝ its distance to the
 * nearest medoid so far (members at distance 0 from a medoid are never drawn). */
function initialMedoids(
  distance: Float64Array,
  n: number,
  members: Int32Array,
  k: number,
  random: SeededRandom,
): Int32Array {
  const m = members.length
  const medoids = new Int32Array(k)
  const isMedoid = new Uint8Array(m)
  const nearest = new Float64Array(m)
  medoids[0] = random.below(m)
  isMedoid[medoids[0]!] = 1
  let row = members[medoids[0]!]! * n
  for (let q = 0; q < m; q++) nearest[q] = distance[row + members[q]!]!
  for (let c = 1; c < k; c++) {
    let total = 0
    for (let q = 0; q < m; q++) total += nearest[q]!
    let pick = -1
    if (total > 0) {
      const point = random.nextFloat() * total
      let cumulative = 0
      for (let q = 0; q < m; q++) {
        if (nearest[q]! === 0) continue
        cumulative += nearest[q]!
        pick = q
        if (cumulative > point) break
      }
    } else {
      // All remaining members coincide with a medoid: any non-medoid, from a random start.
      pick = random.below(m)
      while (isMedoid[pick]) pick = (pick + 1) % m
    }
    medoids[c] = pick
    isMedoid[pick] = 1
    row = members[pick]! * n
    for (let q = 0; q < m; q++) nearest[q] = Math.min(nearest[q]!, distance[row + members[q]!]!)
  }
  return medoids
}

/**
 * Moves each medoid to the member of its cluster with the least total distance to the others
 * (the current medoid wins ties, so rounds cannot cycle). True if any medoid moved.
 */
function recentre(
  distance: Float64Array,
  n: number,
  members: Int32Array,
  labels: Int32Array,
  medoids: Int32Array,
): boolean {
  const k = medoids.length
  const m = members.length
  let moved = false
  const inCluster = new Int32Array(m)
  for (let c = 0; c < k; c++) {
    let size = 0
    for (let q = 0; q < m; q++) if (labels[q] === c) inCluster[size++] = q
    const current = medoids[c]!
    let best = -1
    let bestCost = Number.POSITIVE_INFINITY
    let currentCost = Number.POSITIVE_INFINITY
    for (let x = 0; x < size; x++) {
      const row = members[inCluster[x]!]! * n
      let cost = 0
      for (let y = 0; y < size; y++) cost += distance[row + members[inCluster[y]!]!]!
      if (inCluster[x] === current) currentCost = cost
      if (cost < bestCost) {
        bestCost = cost
        best = inCluster[x]!
      }
    }
    if (best >= 0 && bestCost < currentCost) {
      medoids[c] = best
      moved = true
    }
  }
  return moved
}

/**
 * The assignment of m points to k clusters minimising Σ cost[q][label q] subject to every
 * cluster holding ⌊m/k⌋ or ⌈m/k⌉ points: a min-cost flow (source → points → clusters → sink,
 * each cluster ⌊m/k⌋ mandatory slots plus one optional slot, r = m mod k optional slots in
 * all) solved by successive shortest paths, one point at a time. Points are never the graph's
 * nodes: a path from the new point enters a cluster, and passes on by moving that cluster's
 * cheapest-to-move point to another cluster (edge cost min over its points of
 * cost[q][b] − cost[q][a]), or hands its optional slot over through the pool of optional
 * slots. Bellman–Ford over k + 1 nodes finds the cheapest path; the cheapest moves are kept
 * up to date, rescanning only clusters a path took a point from: O(m · k³ + m² · path) in all.
 * Costs are integers, so there are no rounding-made negative cycles. Ties: lowest index.
 */
export function balancedAssignment(cost: Float64Array, m: number, k: number): Int32Array {
  const floor = Math.floor(m / k)
  const optional = m - floor * k // clusters that end with floor + 1 points
  const pool = k // the node standing for the pool of optional slots
  const labels = new Int32Array(m).fill(-1)
  const sizes = new Int32Array(k)
  let atCeiling = 0
  // move[a·k + b]: the cheapest move of an assigned point from cluster a to cluster b, by
  // point moveVia[a·k + b]; kept up to date as points arrive and leave.
  const move = new Float64Array(k * k).fill(Number.POSITIVE_INFINITY)
  const moveVia = new Int32Array(k * k).fill(-1)
  const offer = (q: number, a: number) => {
    const base = cost[q * k + a]!
    for (let b = 0; b < k; b++) {
      const delta = cost[q * k + b]! - base
      const at = a * k + b
      if (b !== a && (delta < move[at]! || (delta === move[at] && q < moveVia[at]!))) {
        move[at] = delta
        moveVia[at] = q
      }
    }
  }
  const left = new Uint8Array(k)
  const arrivals = new Int32Array(2 * k + 2)
  const dist = new Float64Array(k + 1)
  const pred = new Int32Array(k + 1)
  for (let p = 0; p < m; p++) {
    for (let c = 0; c < k; c++) dist[c] = cost[p * k + c]!
    dist[pool] = Number.POSITIVE_INFINITY
    pred.fill(-1)
    const poolFull = optional > 0 && atCeiling === optional
    for (let round = 0; round <= k + 1; round++) {
      let changed = false
      for (let a = 0; a < k; a++) {
        const da = dist[a]!
        for (let b = 0; b < k; b++) {
          const w = move[a * k + b]!
          if (da + w < dist[b]!) {
            dist[b] = da + w
            pred[b] = a
            changed = true
          }
        }
        // A full cluster takes an optional slot from the pool, whose last holder must shed one.
        if (poolFull && sizes[a] === floor && da < dist[pool]!) {
          dist[pool] = da
          pred[pool] = a
          changed = true
        }
      }
      const dp = dist[pool]!
      for (let b = 0; b < k; b++)
        if (optional > 0 && sizes[b] === floor + 1 && dp < dist[b]!) {
          dist[b] = dp
          pred[b] = pool
          changed = true
        }
      if (!changed) break
    }
    let end = -1
    for (let t = 0; t < k; t++) {
      const free = sizes[t]! < floor || (sizes[t] === floor && atCeiling < optional)
      if (free && (end < 0 || dist[t]! < dist[end]!)) end = t
    }
    // Walk the path back from its end, moving points as it goes.
    let arrived = 0
    left.fill(0)
    let node = end
    for (let steps = 0; ; steps++) {
      if (steps > 2 * k + 2) throw new Error('balancedAssignment: augmenting path does not end')
      if (node === pool) {
        node = pred[pool]!
        continue
      }
      const from = pred[node]!
      if (from === -1) {
        labels[p] = node
        sizes[node]!++
        arrivals[arrived++] = p
        break
      }
      if (from !== pool) {
        const q = moveVia[from * k + node]!
        labels[q] = node
        sizes[from]!--
        sizes[node]!++
        left[from] = 1
        arrivals[arrived++] = q
      }
      node = from
    }
    // A cluster that lost its cheapest mover is rescanned; arrivals elsewhere are offered.
    for (let a = 0; a < k; a++) {
      if (!left[a]) continue
      move.fill(Number.POSITIVE_INFINITY, a * k, a * k + k)
      for (let q = 0; q <= p; q++) if (labels[q] === a) offer(q, a)
    }
    for (let i = 0; i < arrived; i++) {
      const q = arrivals[i]!
      if (!left[labels[q]!]) offer(q, labels[q]!)
    }
    // Pool hand-overs keep the count of clusters at the ceiling; recount, it is k entries.
    atCeiling = 0
    for (let c = 0; c < k; c++) if (sizes[c] === floor + 1) atCeiling++
  }
  return labels
}

/**
 * Bridges every pair of sibling clusters with its lowest-latency pairs (Lightning
 * `greedy_pairs`), each node at most once per sibling pair and at most `crossLinks` times per
 * split. A pair of clusters of sizes a ≤ b aims for crossLinks · a / (k − 1) bridges, so an
 * average node makes about crossLinks of them; pairs take their bridges in rounds, one each, so
 * the first pairs do not use up the nodes' allowance. Every sibling pair gets at least its one
 * lowest-latency bridge, allowance or not: that is what keeps the graph connected.
 */
function bridgeSiblings(s: Split, clusters: readonly Int32Array[]): void {
  const k = clusters.length
  const pairs: { a: Int32Array; b: Int32Array; order: PairOrder; quota: number }[] = []
  for (let x = 0; x < k; x++)
    for (let y = x + 1; y < k; y++) {
      const a = clusters[x]!
      const b = clusters[y]!
      const small = Math.min(a.length, b.length)
      const quota = Math.min(small, Math.max(1, Math.round((s.crossLinks * small) / (k - 1))))
      pairs.push({ a, b, order: new PairOrder(s.distance, s.n, a, b), quota })
    }
  const taken = new Int32Array(pairs.length)
  const usedA = pairs.map((p) => new Uint8Array(p.a.length))
  const usedB = pairs.map((p) => new Uint8Array(p.b.length))
  for (let progress = true; progress; ) {
    progress = false
    for (let i = 0; i < pairs.length; i++) {
      const { a, b, order, quota } = pairs[i]!
      if (taken[i]! >= quota) continue
      for (let index = order.next(); index >= 0; index = order.next()) {
        const x = Math.floor(index / b.length)
        const y = index - x * b.length
        const u = a[x]!
        const v = b[y]!
        if (usedA[i]![x] || usedB[i]![y]) continue
        if (s.load[u]! >= s.crossLinks || s.load[v]! >= s.crossLinks) continue
        usedA[i]![x] = usedB[i]![y] = 1
        s.load[u]!++
        s.load[v]!++
        s.graph.link(u, v)
        taken[i]!++
        progress = true
        break
      }
    }
  }
  for (let i = 0; i < pairs.length; i++) {
    const { a, b, order } = pairs[i]!
    if (taken[i] === 0) {
      const x = Math.floor(order.first / b.length)
      s.graph.link(a[x]!, b[order.first - x * b.length]!)
    }
  }
  for (const cluster of clusters) for (const u of cluster) s.load[u] = 0
}

/**
 * The pairs (x in a, y in b), as x · |b| + y, handed out by latency, then by that index. Each
 * pair is one float64 key, latency · count + index (exact: below 2^53), so the order is the
 * native numeric sort's. Sorted lazily: bridging mostly takes pairs from the first few percent,
 * so each step moves only the next chunk of smallest keys to the front (quickselect) and sorts
 * that, doubling the chunk every time. Beyond 2^52 / 2^31 ≈ 2 million pairs (sibling clusters
 * over 2,048 nodes each), latencies are compared in coarser steps so the keys stay exact.
 */
export class PairOrder {
  /** The lowest-latency pair (the first that `next` gives). */
  readonly first: number
  readonly #keys: Float64Array
  readonly #count: number
  #sorted = 0
  #chunk = 64
  #next = 0

  constructor(distance: Float64Array, n: number, a: Int32Array, b: Int32Array) {
    const count = a.length * b.length
    const step = Math.max(1, Math.ceil(((LATENCY_CEILING_US + 1) * count) / 2 ** 52))
    const keys = new Float64Array(count)
    let least = 0
    for (let x = 0; x < a.length; x++) {
      const row = a[x]! * n
      for (let y = 0; y < b.length; y++) {
        const index = x * b.length + y
        keys[index] = Math.floor(distance[row + b[y]!]! / step) * count + index
        if (keys[index]! < keys[least]!) least = index
      }
    }
    this.#keys = keys
    this.#count = count
    this.first = least
  }

  /** The next pair, or −1 when all were given. */
  next(): number {
    if (this.#next === this.#sorted) {
      if (this.#sorted === this.#count) return -1
      const end = Math.min(this.#count, this.#sorted + this.#chunk)
      if (end < this.#count) selectSmallest(this.#keys, this.#sorted, this.#count - 1, end)
      this.#keys.subarray(this.#sorted, end).sort()
      this.#sorted = end
      this.#chunk *= 2
    }
    return this.#keys[this.#next++]! % this.#count
  }
}

/**
 * Rearranges distinct keys[lo … hi] so that every key before position `boundary` is smaller than
 * every key from it: quickselect (Hoare partition, median-of-three pivot) that falls back to a
 * full sort of what is left after 2·log2 + 8 rounds, so crafted latencies cannot make it
 * quadratic.
 */
function selectSmallest(keys: Float64Array, lo: number, hi: number, boundary: number): void {
  let rounds = 2 * Math.ceil(Math.log2(hi - lo + 2)) + 8
  while (boundary > lo && boundary <= hi) {
    if (rounds-- === 0) {
      keys.subarray(lo, hi + 1).sort()
      return
    }
    const x = keys[lo]!
    const y = keys[(lo + hi) >>> 1]!
    const z = keys[hi]!
    const pivot = Math.max(Math.min(x, y), Math.min(Math.max(x, y), z))
    let i = lo
    let j = hi
    while (i <= j) {
      while (keys[i]! < pivot) i++
      while (keys[j]! > pivot) j--
      if (i <= j) {
        const t = keys[i]!
        keys[i++] = keys[j]!
        keys[j--] = t
      }
    }
    // Now keys[lo … j] ≤ pivot ≤ keys[i … hi], j < i.
    if (boundary <= j) hi = j
    else if (boundary > i) lo = i
    else return
  }
}

/** Undirected simple graph: one set of neighbours per node. */
class Graph {
  readonly #neighbours: Set<number>[]

  constructor(n: number) {
    this.#neighbours = Array.from({ length: n }, () => new Set<number>())
  }

  link(u: number, v: number): void {
    if (u === v) return
    this.#neighbours[u]!.add(v)
    this.#neighbours[v]!.add(u)
  }

  mesh(nodes: Int32Array): void {
    for (let i = 0; i < nodes.length; i++)
      for (let j = i + 1; j < nodes.length; j++) this.link(nodes[i]!, nodes[j]!)
  }

  sortedLists(): number[][] {
    return this.#neighbours.map((set) => Array.from(set).sort((a, b) => a - b))
  }
}
