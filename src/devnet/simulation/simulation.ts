/**
 * A deterministic simulation of the network's geography (issue 19): the project's own
 * reputation (src/state/reputation-score.ts), topology (src/routing/topology.ts), content
 * summaries (src/routing/content-summary.ts) and routing (src/routing/node-ranking.ts), run over
 * nodes and clients placed on a map. Same options, same seed: the same figures, to the digit.
 *
 * Each epoch:
 *
 *   1. liveness   each node is up with its own uptime, less churn;
 *   2. topology   every node computes the connection graph from the on-chain latencies and the
 *                 epoch's seed (the chain's latencies table: the last report of each pair);
 *   3. clients    refresh what they know: ping a few nodes at the first epoch, then ask their
 *                 best two "who should serve me" and ping the suggestions (suggestServers);
 *                 rank them by measured latency and on-chain reputation (rankNodes);
 *   4. requests   each client fetches contents drawn from a Zipf catalogue through the node
 *                 spreadPick gives; a node missing the content fills it from a topology peer
 *                 whose summary holds it, else from the content's origin; a lying node's bytes
 *                 fail verification and the client moves on; the same request is priced under
 *                 random choice and under an oracle that knows every true latency and cache,
 *                 without changing any state, so the three policies see the same network;
 *   5. summaries  ten times an epoch, nodes whose popular set changed past the threshold send
 *                 their filter to their 8 closest topology peers;
 *   6. reports    each node measures its topology peers and 6 random nodes (signed pings and
 *                 probe transfers: latency, bandwidth, uptime, interactions); 10 % of nodes
 *                 report falsely (badmouth honest nodes, praise each other);
 *   7. reputation the epoch change's scores from those reports, beside a clean run of the
 *                 same algorithm without the false reports, to say how far the liars moved
 *                 honest scores.
 *
 * A node's "true quality" is the score the same algorithm, epoch after epoch, gives to noiseless,
 * honest reports of the same pairs (true round trip, bandwidth, whether it answered, honest
 * interactions): what the scores would be with perfect measurements and no liars.
 */
import { blake3 } from '@noble/hashes/blake3.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import { PeerSummaries, PopularContent } from '../../routing/content-summary.ts'
import { contentPick, rankNodes, suggestServers } from '../../routing/node-ranking.ts'
import { buildTopology, denseLatencyMatrix } from '../../routing/topology.ts'
import { FIXED_ONE, type Measurements } from '../../state/model.ts'
import { type ReputationReport, reputationScores } from '../../state/reputation-score.ts'
import { Prng } from '../fuzz-random.ts'
import { type Place, placeAround, propagationRttMs } from './geography.ts'
import { quantile, spearman } from './statistics.ts'

export interface SimulationOptions {
  readonly nodes: number
  readonly clients: number
  readonly epochs: number
  readonly seed: number
  /** Requests per client per epoch (default 10). */
  readonly requestsPerClient?: number
  /** Contents in the catalogue (default 2,000), drawn Zipf(0.9). */
  readonly contents?: number
  /** Contents a node caches (default 100). */
  readonly cacheCapacity?: number
  /** Share of nodes that report false measurements (default 0.1). */
  readonly falseReporters?: number
  /** Share of nodes that serve slowly or lie (default 0.05, half each). */
  readonly badServers?: number
  /** Share of nodes down for an epoch besides their own uptime (default 0.03). */
  readonly churn?: number
}

export interface EpochFigures {
  readonly epoch: number
  readonly liveNodes: number
  readonly requests: number
  readonly routingP50Ms: number
  readonly routingP99Ms: number
  readonly randomP50Ms: number
  readonly randomP99Ms: number
  readonly oracleP50Ms: number
  readonly oracleP99Ms: number
  readonly routingP50VsOracle: number
  readonly routingP50VsRandom: number
  /** Spearman's ρ between the on-chain reputation and true quality, over scored nodes. */
  readonly reputationSpearman: number
  /** Largest |score − clean score| / clean score over honest nodes (clean: no false reports). */
  readonly honestScoreShiftMax: number
  /** The same, in points of the 0..100 scale. */
  readonly honestScoreShiftMaxPoints: number
  /** Of the misses at serving nodes, the share filled from a peer (not the origin). */
  readonly peerFillHitRate: number
  /** Of the requests, the share the chosen node served from its cache. */
  readonly cacheHitRate: number
  /** Peer fills tried on a summary's word that the peer did not hold (a false positive or an
   * eviction since): one round trip lost each. */
  readonly peerFillMisses: number
  readonly summariesSent: number
  readonly summaryBytes: number
  readonly connectionsMean: number
  readonly connectionsMax: number
  /** Requests that met a lying node first (and went on to another). */
  readonly liesMet: number
}

export interface SimulationResult {
  readonly options: Required<SimulationOptions>
  readonly epochs: readonly EpochFigures[]
  readonly seconds: number
}

type Serving = 'honest' | 'slow' | 'liar'

interface SimNode {
  readonly key: Uint8Array
  readonly hex: string
  readonly place: Place
  /** Processing before the first byte, ms. */
  readonly serviceMs: number
  /** Upload rate, MB/s. */
  readonly bandwidthMBps: number
  readonly uptime: number
  readonly serving: Serving
  readonly falseReporter: boolean
  /** LRU: content index → true (Map keeps insertion order; a hit re-inserts). */
  readonly cache: Map<number, true>
  readonly popular: PopularContent
  readonly summaries: PeerSummaries
  up: boolean
  /** Outcome of probe transfers from peers this epoch: peer index → successes − failures. */
}

interface Candidate {
  readonly node: number
  readonly id: Uint8Array
  readonly latencyMs: number
  readonly reputation: number | undefined
}

interface SimClient {
  readonly place: Place
  readonly accessMs: number
  /** What the client measured: node index → round trip, ms. */
  readonly known: Map<number, number>
  /** First-byte times the client saw from nodes it fetched from, ms (an EWMA): a ping does not
   * see a node's own slowness, a fetch does. */
  readonly firstByte: Map<number, number>
  /** Nodes whose bytes failed verification: never again. */
  readonly refused: Set<number>
  /** This epoch's ranking of `known`, best first. */
  ranked: Candidate[]
  /** The oracle's node: the lowest true round trip, service and transfer time. */
  oracle: number
}

const CONTENT_BYTES = 256 * 1024
const NODE_ACCESS_MS = 1
const ORIGIN_EXTRA_MS = 40
const PINGS_PER_PEER = 10
const PROBES_PER_PEER = 5
const EXPLORE_PEERS = 32
const SUMMARY_FANOUT = 8
const GOSSIP_TICKS = 10
const EPOCH_MS = 60 * 60 * 1000
const CLIENT_KNOWN_MAX = 24
const MIN_REPORTS = 3

const transferMs = (bandwidthMBps: number) => (CONTENT_BYTES / (bandwidthMBps * 1e6)) * 1000

function withDefaults(o: SimulationOptions): Required<SimulationOptions> {
  const all: Required<SimulationOptions> = {
    requestsPerClient: 10,
    contents: 2_000,
    cacheCapacity: 100,
    falseReporters: 0.1,
    badServers: 0.05,
    churn: 0.03,
    ...o,
  }
  for (const [name, v] of Object.entries(all))
    if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a number ≥ 0, got ${v}`)
  if (all.nodes < 2 || all.clients < 1 || all.epochs < 1)
    throw new RangeError('the simulation needs ≥ 2 nodes, ≥ 1 client and ≥ 1 epoch')
  return all
}

/** A normal draw (sum of four uniforms, variance 1). */
const normal = (prng: Prng) =>
  (prng.float() + prng.float() + prng.float() + prng.float() - 2) * Math.sqrt(3)

export function runSimulation(
  input: SimulationOptions,
  onEpoch?: (figures: EpochFigures) => void,
): SimulationResult {
  const started = performance.now()
  const options = withDefaults(input)
  const prng = new Prng(options.seed)
  const N = options.nodes

  // --- the world ------------------------------------------------------------------------
  const nodes: SimNode[] = []
  const falseCount = Math.round(N * options.falseReporters)
  const badCount = Math.round(N * options.badServers)
  for (let i = 0; i < N; i++) {
    const key = prng.bytes(32)
    // Roles by index, then the order of indices shuffled: places and qualities are independent.
    const serving: Serving = i < badCount ? (i % 2 === 0 ? 'slow' : 'liar') : 'honest'
    const base = Math.min(80, Math.max(1, Math.exp(Math.log(8) + 0.6 * normal(prng))))
    nodes.push({
      key,
      hex: bytesToHex(key),
      place: placeAround(prng, (m) => m.nodes),
      serviceMs: serving === 'slow' ? base * 8 : base,
      bandwidthMBps: 10 + 90 * prng.float(),
      uptime: 0.85 + 0.15 * prng.float(),
      serving,
      falseReporter: i >= badCount && i < badCount + falseCount,
      cache: new Map(),
      popular: new PopularContent({ capacity: options.cacheCapacity }),
      summaries: new PeerSummaries(),
      up: true,
    })
  }
  const clients: SimClient[] = []
  for (let c = 0; c < options.clients; c++)
    clients.push({
      place: placeAround(prng, (m) => m.users),
      accessMs: 5 + 15 * prng.float(),
      known: new Map(),
      firstByte: new Map(),
      refused: new Set(),
      ranked: [],
      oracle: 0,
    })
  const roots: Uint8Array[] = []
  const origins: Place[] = []
  const zipf = new Float64Array(options.contents)
  let mass = 0
  for (let k = 0; k < options.contents; k++) {
    roots.push(blake3(new Uint8Array(new Uint32Array([k, options.seed]).buffer)))
    origins.push(placeAround(prng, (m) => m.users))
    mass += 1 / (k + 1) ** 0.9
    zipf[k] = mass
  }
  const drawContent = () => {
    const x = prng.float() * mass
    let lo = 0
    let hi = options.contents - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((zipf[mid] as number) < x) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  // True round trips, precomputed: node ↔ node and client → node (the map does not move).
  const nodeRtt = new Float32Array(N * N)
  for (let i = 0; i < N; i++)
    for (let j = i + 1; j < N; j++) {
      const rtt = propagationRttMs(nodes[i]!.place, nodes[j]!.place, 2 * NODE_ACCESS_MS)
      nodeRtt[i * N + j] = rtt
      nodeRtt[j * N + i] = rtt
    }
  const clientRtt = new Float32Array(options.clients * N)
  for (let c = 0; c < options.clients; c++)
    for (let i = 0; i < N; i++)
      clientRtt[c * N + i] = propagationRttMs(
        clients[c]!.place,
        nodes[i]!.place,
        clients[c]!.accessMs + NODE_ACCESS_MS,
      )
  const originRtt = (node: number, content: number) =>
    propagationRttMs(nodes[node]!.place, origins[content]!, NODE_ACCESS_MS) + ORIGIN_EXTRA_MS

  /** The chain: the last reported latency of each (reporter, subject), µs; and the scores. */
  const chainLatency = new Map<number, number>()
  let reputation = new Map<string, number>()
  let cleanReputation = new Map<string, number>()
  /** Scores from noiseless, honest reports of the same pairs: true quality. */
  let quality = new Map<string, number>()
  const reputationOf = (node: number) => reputation.get(nodes[node]!.hex)

  const figures: EpochFigures[] = []
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    // 1. liveness
    let liveNodes = 0
    for (const n of nodes) {
      n.up = prng.chance(n.uptime) && !prng.chance(options.churn)
      if (n.up) liveNodes++
    }

    // 2. topology, from what the chain holds
    const entries: { from: number; to: number; latencyUs: number }[] = []
    for (const [pair, latencyUs] of chainLatency)
      entries.push({ from: Math.floor(pair / N), to: pair % N, latencyUs })
    const topology = buildTopology(denseLatencyMatrix(N, entries), prng.bytes(32))
    let degreeSum = 0
    let degreeMax = 0
    for (const peers of topology) {
      degreeSum += peers.length
      degreeMax = Math.max(degreeMax, peers.length)
    }
    // A node's view of its peers' latency: its own on-chain report, else the true one measured now.
    const nodeView = (from: number, to: number) => {
      const reported = chainLatency.get(from * N + to)
      return reported === undefined ? (nodeRtt[from * N + to] as number) : reported / 1000
    }
    const closest = topology.map((peers, i) =>
      [...peers].sort((a, b) => nodeView(i, a) - nodeView(i, b)).slice(0, SUMMARY_FANOUT),
    )

    // 3. clients refresh what they know and rank it
    const ping = (c: number, node: number) =>
      (clientRtt[c * N + node] as number) + nodes[node]!.serviceMs * 0.1 + Math.abs(normal(prng))
    for (let c = 0; c < options.clients; c++) {
      const client = clients[c]!
      if (client.known.size === 0)
        for (let k = 0; k < 8; k++) {
          const node = prng.int(N)
          if (nodes[node]!.up) client.known.set(node, ping(c, node))
        }
      const best = rankNodes(
        [...client.known].map(([node, latencyMs]) => ({
          node,
          latencyMs,
          reputation: reputationOf(node),
        })),
      ).slice(0, 2)
      for (const { node } of best) {
        if (!nodes[node]!.up) continue
        const suggested = suggestServers(
          topology[node]!.map((p) => ({
            peer: String(p),
            latencyMs: nodeView(node, p),
            reputation: reputationOf(p),
            holds: false,
          })),
          8,
        )
        for (const p of suggested) client.known.set(Number(p), 0)
      }
      // Measure everything known again (a node down this epoch does not answer) and keep the best.
      const measured: Candidate[] = []
      for (const node of client.known.keys()) {
        if (!nodes[node]!.up || client.refused.has(node)) continue
        measured.push({
          node,
          id: nodes[node]!.key,
          latencyMs: Math.max(ping(c, node), client.firstByte.get(node) ?? 0),
          reputation: reputationOf(node),
        })
      }
      client.ranked = rankNodes(measured).slice(0, CLIENT_KNOWN_MAX)
      client.known.clear()
      for (const m of client.ranked) client.known.set(m.node, m.latencyMs)
      // The oracle knows every true latency (not the caches): the live honest node of the
      // lowest round trip, service and transfer time.
      let oracleCost = Number.POSITIVE_INFINITY
      for (let node = 0; node < N; node++) {
        const n = nodes[node]!
        if (!n.up || n.serving === 'liar') continue
        const cost = (clientRtt[c * N + node] as number) + n.serviceMs + transferMs(n.bandwidthMBps)
        if (cost < oracleCost) {
          oracleCost = cost
          client.oracle = node
        }
      }
    }

    // 4 and 5. requests, with summaries gossiped ten times an epoch
    const total = options.clients * options.requestsPerClient
    const routing = new Float64Array(total)
    const random = new Float64Array(total)
    const oracle = new Float64Array(total)
    let misses = 0
    let peerFills = 0
    let peerFillMisses = 0
    let summariesSent = 0
    let summaryBytes = 0
    let liesMet = 0
    const fillMs = (node: number, content: number, commit: boolean): number => {
      const n = nodes[node]!
      if (n.cache.has(content)) {
        if (commit) {
          n.cache.delete(content)
          n.cache.set(content, true)
        }
        return 0
      }
      let cost = originRtt(node, content)
      let from = -1
      let holderCost = Number.POSITIVE_INFINITY
      for (const holder of n.summaries.holders(roots[content]!)) {
        const p = Number(holder)
        if (!nodes[p]!.up) continue
        const c = nodeView(node, p)
        if (c < holderCost) {
          holderCost = c
          from = p
        }
      }
      if (from >= 0) {
        const p = nodes[from]!
        const hit = p.cache.has(content) && p.serving !== 'liar'
        cost = hit
          ? (nodeRtt[node * N + from] as number) + p.serviceMs + transferMs(p.bandwidthMBps)
          : (nodeRtt[node * N + from] as number) + cost
        if (commit) {
          if (hit) peerFills++
          else peerFillMisses++
        }
      }
      if (commit) {
        misses++
        n.cache.set(content, true)
        if (n.cache.size > options.cacheCapacity)
          n.cache.delete(n.cache.keys().next().value as number)
      }
      return cost
    }
    const serveMs = (c: number, node: number, content: number, commit: boolean) => {
      const n = nodes[node]!
      return (
        (clientRtt[c * N + node] as number) +
        n.serviceMs +
        transferMs(n.bandwidthMBps) +
        fillMs(node, content, commit)
      )
    }
    for (let r = 0; r < total; r++) {
      const c = r % options.clients
      const client = clients[c]!
      const content = drawContent()
      // Random and the oracle first: they must not see the cache fill the routed request makes.
      // Random choice among live nodes; a liar's bytes are refused and another is drawn.
      let randomSpent = 0
      for (;;) {
        const node = prng.int(N)
        if (!nodes[node]!.up) continue
        randomSpent += serveMs(c, node, content, false)
        if (nodes[node]!.serving !== 'liar') break
      }
      random[r] = randomSpent
      oracle[r] = serveMs(c, client.oracle, content, false)
      // Fulmen: the ranked list, the content's node among the best few; a lie costs the whole
      // transfer.
      let spent = 0
      let candidates = client.ranked
      for (;;) {
        const pick = contentPick(candidates, roots[content]!)
        if (pick < 0) {
          spent += originRtt(0, content) // nobody known: the client's own origin fetch
          break
        }
        const node = candidates[pick]!.node
        const cost = serveMs(c, node, content, true)
        nodes[node]!.popular.recordRequest(roots[content]!)
        const firstByte = (clientRtt[c * N + node] as number) + nodes[node]!.serviceMs
        const seen = client.firstByte.get(node)
        client.firstByte.set(node, seen === undefined ? firstByte : 0.7 * seen + 0.3 * firstByte)
        spent += cost
        if (nodes[node]!.serving !== 'liar') break
        liesMet++
        client.refused.add(node)
        candidates = candidates.filter((x) => x.node !== node)
        client.ranked = candidates
      }
      routing[r] = spent
      if ((r + 1) % Math.max(1, Math.floor(total / GOSSIP_TICKS)) === 0) {
        const now = epoch * EPOCH_MS + ((r + 1) / total) * EPOCH_MS
        for (let i = 0; i < N; i++) {
          const n = nodes[i]!
          if (!n.up || !n.popular.shouldShare(now)) continue
          const snapshot = n.popular.takeSnapshot(now)
          for (const p of closest[i]!) {
            nodes[p]!.summaries.update(String(i), snapshot)
            summariesSent++
            summaryBytes += snapshot.bytes.length
          }
        }
      }
    }

    // 6. measurements and reports
    const reports: ReputationReport[] = []
    const ideal: ReputationReport[] = []
    for (let i = 0; i < N; i++) {
      const reporter = nodes[i]!
      if (!reporter.up) continue
      const measured = new Set(topology[i])
      for (let k = 0; k < EXPLORE_PEERS; k++) {
        const j = prng.int(N)
        if (j !== i) measured.add(j)
      }
      for (const j of measured) {
        const subject = nodes[j]!
        const trueRtt = (nodeRtt[i * N + j] as number) + subject.serviceMs
        let answered = 0
        for (let p = 0; p < PINGS_PER_PEER; p++) if (subject.up) answered++
        const honest: Measurements =
          answered === 0
            ? { uptime: 0, interactions: -PROBES_PER_PEER }
            : {
                latencyUs: Math.round(trueRtt * (1 + 0.1 * Math.abs(normal(prng))) * 1000),
                outboundBandwidth: Math.round(
                  subject.bandwidthMBps * 1e6 * (0.85 + 0.3 * prng.float()),
                ),
                uptime: Math.round((answered / PINGS_PER_PEER) * Number(FIXED_ONE)),
                interactions: subject.serving === 'liar' ? -PROBES_PER_PEER : PROBES_PER_PEER,
              }
        const told: Measurements = !reporter.falseReporter
          ? honest
          : subject.falseReporter
            ? {
                latencyUs: 1000,
                outboundBandwidth: 6_250_000_000,
                uptime: Number(FIXED_ONE),
                interactions: PROBES_PER_PEER,
              }
            : {
                latencyUs: 19_999_000,
                outboundBandwidth: 0,
                uptime: 0,
                interactions: -PROBES_PER_PEER,
              }
        reports.push({ reporter: reporter.key, subject: subject.key, measurements: told })
        ideal.push({
          reporter: reporter.key,
          subject: subject.key,
          measurements:
            answered === 0
              ? honest
              : {
                  latencyUs: Math.round(trueRtt * 1000),
                  outboundBandwidth: Math.round(subject.bandwidthMBps * 1e6),
                  uptime: honest.uptime,
                  interactions: honest.interactions,
                },
        })
        if (told.latencyUs !== undefined) chainLatency.set(i * N + j, told.latencyUs)
      }
    }

    // 7. the epoch change
    const falseKeys = new Set(nodes.filter((n) => n.falseReporter).map((n) => n.key))
    reputation = reputationScores(reports, reputation, MIN_REPORTS)
    cleanReputation = reputationScores(
      reports.filter((r) => !falseKeys.has(r.reporter)),
      cleanReputation,
      MIN_REPORTS,
    )
    quality = reputationScores(ideal, quality, MIN_REPORTS)
    const scored = nodes.filter((n) => quality.has(n.hex) && reputation.has(n.hex))
    let shift = 0
    let shiftPoints = 0
    for (const n of nodes) {
      if (n.falseReporter || n.serving !== 'honest') continue
      const clean = cleanReputation.get(n.hex) ?? 0
      const moved = Math.abs((reputation.get(n.hex) ?? 0) - clean)
      shiftPoints = Math.max(shiftPoints, moved)
      if (clean > 0) shift = Math.max(shift, moved / clean)
    }

    const p50 = (a: Float64Array) => quantile(a, 0.5)
    const epochFigures: EpochFigures = {
      epoch,
      liveNodes,
      requests: total,
      routingP50Ms: p50(routing),
      routingP99Ms: quantile(routing, 0.99),
      randomP50Ms: p50(random),
      randomP99Ms: quantile(random, 0.99),
      oracleP50Ms: p50(oracle),
      oracleP99Ms: quantile(oracle, 0.99),
      routingP50VsOracle: p50(routing) / p50(oracle),
      routingP50VsRandom: p50(routing) / p50(random),
      reputationSpearman: spearman(
        scored.map((n) => reputation.get(n.hex) ?? 0),
        scored.map((n) => quality.get(n.hex) ?? 0),
      ),
      honestScoreShiftMax: shift,
      honestScoreShiftMaxPoints: shiftPoints,
      peerFillHitRate: misses === 0 ? 0 : peerFills / misses,
      cacheHitRate: 1 - misses / total,
      peerFillMisses,
      summariesSent,
      summaryBytes,
      connectionsMean: degreeSum / N,
      connectionsMax: degreeMax,
      liesMet,
    }
    figures.push(epochFigures)
    onEpoch?.(epochFigures)
  }
  return { options, epochs: figures, seconds: (performance.now() - started) / 1000 }
}
