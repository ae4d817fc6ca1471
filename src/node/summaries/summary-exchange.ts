/**
 * Content summaries between full nodes (issue 19, "Geographic awareness"; docs/protocol.md
 * "Content summaries"): a Component that keeps the cuckoo filter of the content this node
 * serves most (`PopularContent`, src/routing/content-summary.ts), pushes it on
 * `/fulmen/summary/1.0.0` to its k closest peers when it has changed by the share threshold
 * (never the whole filter on every insert), and keeps the filters its peers push to it
 * (`PeerSummaries`), which the peer origin (peer-origin.ts) asks on a miss.
 *
 * - Closest peers: connected peers that speak the protocol (libp2p identify), the topology
 *   keeper's assigned peers first (their peer-store tag), then by the round trip libp2p ping
 *   measured, unmeasured last; k of them (default 8).
 * - Each peer gets each snapshot once: a peer that joins the closest set, reconnects, or whose
 *   push failed gets the latest snapshot at the next check, and nothing more until the next one.
 * - A peer's filter is replaced only by a higher seq, and forgotten when its last connection
 *   closes (a restarted peer counts from 1 again). At most `maxPeerSummaries` peers are kept,
 *   each ≤ 1 MiB.
 * - `dialPeers`: multiaddrs the node dials and redials at each check, for a network without
 *   the chain's topology (a devnet, a fixed set of nodes).
 */
import type { Libp2p, PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Component } from '../../core/lifecycle.ts'
import type { Logger } from '../../core/logger.ts'
import type { Counter, Gauge, Metrics } from '../../core/metrics.ts'
import { TerminationReason } from '../../handshake/termination.ts'
import { openChannel } from '../../net/protocol-dialer.ts'
import { protocolServer, type StreamRefusal } from '../../net/protocol-server.ts'
import { SUMMARY_PROTOCOL } from '../../net/protocols.ts'
import {
  PeerSummaries,
  PopularContent,
  type PopularContentOptions,
  type SummarySnapshot,
} from '../../routing/content-summary.ts'
import { RoutingError } from '../../routing/errors.ts'
import {
  encodeSummaryFrame,
  type SummaryStreamFrame,
  summaryCodec,
} from '../../wire/summary-frames.ts'
import { TOPOLOGY_TAG } from '../topology/topology-keeper.ts'

export const DEFAULT_SUMMARY_PEERS = 8
export const DEFAULT_SUMMARY_CHECK_MS = 5_000
/** Roots in the filter by default: 10,000 at 12 bits is a 24 KiB summary. */
export const DEFAULT_SUMMARY_CAPACITY = 10_000
export const DEFAULT_MAX_PEER_SUMMARIES = 64
/** A push that takes longer than this is given up (retried at the next check). */
const PUSH_TIMEOUT_MS = 10_000

export type SummaryLibp2p = Pick<
  Libp2p,
  | 'peerId'
  | 'handle'
  | 'unhandle'
  | 'dial'
  | 'getConnections'
  | 'peerStore'
  | 'addEventListener'
  | 'removeEventListener'
> & {
  readonly services: {
    readonly ping: { ping(peer: PeerId, o?: { signal?: AbortSignal }): Promise<number> }
  }
}

export interface SummaryMetrics {
  readonly sent: Counter
  readonly sentBytes: Counter
  readonly received: Counter<'result'>
  readonly receivedBytes: Counter
  readonly peers: Gauge
  readonly peerFills: Counter<'result'>
}

/** The exchange's metrics on the node's registry. */
export function summaryMetrics(metrics: Metrics): SummaryMetrics {
  return {
    sent: metrics.counter({
      name: 'fulmen_summaries_sent_total',
      help: 'Content summaries (cuckoo filters) pushed to close peers',
    }),
    sentBytes: metrics.counter({
      name: 'fulmen_summary_bytes_sent_total',
      help: 'Bytes of content summaries pushed to close peers',
    }),
    received: metrics.counter({
      name: 'fulmen_summaries_received_total',
      help: 'Content summaries received, by result (taken, stale, refused)',
      labelNames: ['result'],
    }),
    receivedBytes: metrics.counter({
      name: 'fulmen_summary_bytes_received_total',
      help: 'Bytes of content summaries received',
    }),
    peers: metrics.gauge({
      name: 'fulmen_summary_peers',
      help: 'Peers whose content summary this node holds',
    }),
    peerFills: metrics.counter({
      name: 'fulmen_peer_fills_total',
      help: 'Misses filled from a peer whose summary held the root, by result (hit, false_positive, failed)',
      labelNames: ['result'],
    }),
  }
}

export interface SummaryExchangeOptions {
  readonly libp2p: () => SummaryLibp2p
  readonly metrics: SummaryMetrics
  readonly logger: Logger
  /** The filter: capacity, share threshold, least time between shares… */
  readonly popular?: Partial<PopularContentOptions>
  /** k: the closest peers a summary is pushed to (default 8). */
  readonly peers?: number
  /** How often a share is considered, milliseconds (default 5 s). */
  readonly checkEveryMs?: number
  /** Peers' summaries kept at most (default 64); more are refused. */
  readonly maxPeerSummaries?: number
  /** Multiaddrs (with /p2p) dialled at start and redialled at each check. */
  readonly dialPeers?: readonly string[]
  /** Told when a peer's last connection closed (the peer origin ends its session to it). */
  readonly onPeerGone?: (peer: string) => void
}

export interface SummaryExchange extends Component {
  readonly popular: PopularContent
  readonly summaries: PeerSummaries
  /** Counts one request served for `root`. */
  recordRequest(root: Uint8Array): void
  /** Peers whose summary holds `root` (maybe), closest first. */
  holders(root: Uint8Array): Promise<string[]>
  /** The k closest peers that speak the protocol, closest first. */
  closestPeers(): Promise<string[]>
  /** Considers a share now (what the timer does). */
  check(): Promise<void>
}

class TooManySummaries extends Error {}

function terminationOf(refusal: StreamRefusal): { reason: number; message: string } {
  const { cause, error, message } = refusal
  if (cause === 'frame-too-large') return { reason: TerminationReason.FRAME_TOO_LARGE, message }
  if (cause === 'too-many-frames' || error instanceof TooManySummaries)
    return { reason: TerminationReason.RESOURCES_UNAVAILABLE, message }
  if (cause === 'malformed-frame' || error instanceof RoutingError)
    return { reason: TerminationReason.MALFORMED_FRAME, message }
  return { reason: TerminationReason.UNKNOWN, message: 'internal error' }
}

export function summaryExchange(options: SummaryExchangeOptions): SummaryExchange {
  const { metrics } = options
  const log = options.logger.child({ component: 'summaries' })
  const k = options.peers ?? DEFAULT_SUMMARY_PEERS
  const checkEveryMs = options.checkEveryMs ?? DEFAULT_SUMMARY_CHECK_MS
  const maxPeerSummaries = options.maxPeerSummaries ?? DEFAULT_MAX_PEER_SUMMARIES
  const popular = new PopularContent({
    capacity: DEFAULT_SUMMARY_CAPACITY,
    ...options.popular,
  })
  const summaries = new PeerSummaries()
  /** Peers with a summary in `summaries`. */
  const held = new Set<string>()
  /** The seq each peer was last sent. */
  const sentSeq = new Map<string, number>()
  /** Round trips libp2p ping measured, ms. */
  const latency = new Map<string, number>()
  let latest: SummarySnapshot | undefined
  let timer: ReturnType<typeof setInterval> | undefined
  let running: Promise<void> | undefined
  const stopping = new AbortController()

  const server = protocolServer<SummaryStreamFrame>({
    libp2p: {
      handle: (...a) => options.libp2p().handle(...a),
      unhandle: (p) => options.libp2p().unhandle(p),
    },
    protocol: SUMMARY_PROTOCOL,
    codec: summaryCodec('to-receiver'),
    maxStreamsPerConnection: 2,
    maxFramesPerStream: 1,
    idleTimeoutMs: PUSH_TIMEOUT_MS,
    logger: log,
    onFrame: (frame, stream) => {
      if (frame.kind !== 'summary') return
      metrics.receivedBytes.inc(frame.filter.length)
      if (summaries.size >= maxPeerSummaries && !held.has(stream.peer))
        throw new TooManySummaries(`summaries of ${maxPeerSummaries} peers held already`)
      const taken = summaries.update(stream.peer, { seq: frame.seq, bytes: frame.filter })
      held.add(stream.peer)
      metrics.received.labels(taken ? 'taken' : 'stale').inc()
      metrics.peers.set(summaries.size)
      log.debug(
        { peer: stream.peer, seq: frame.seq, bytes: frame.filter.length, taken },
        'summary received',
      )
    },
    refusal: (refusal) => encodeSummaryFrame({ kind: 'terminate', ...terminationOf(refusal) }),
    onRefused: (refusal, peer) => {
      metrics.received.labels('refused').inc()
      log.warn({ peer, err: refusal.message }, 'summary refused')
    },
  })

  const onDisconnect = (event: CustomEvent<PeerId>) => {
    const peer = event.detail.toString()
    sentSeq.delete(peer)
    latency.delete(peer)
    held.delete(peer)
    options.onPeerGone?.(peer)
    if (summaries.remove(peer)) {
      metrics.peers.set(summaries.size)
      log.debug({ peer }, 'summary dropped: peer disconnected')
    }
  }

  /** Sort key of a peer: assigned topology peers first, then by measured latency. */
  const closeness = async (peers: readonly string[]) => {
    const libp2p = options.libp2p()
    const keyed = await Promise.all(
      peers.map(async (peer) => {
        const id = libp2p.getConnections().find((c) => c.remotePeer.toString() === peer)?.remotePeer
        let assigned = false
        if (id !== undefined) {
          const stored = await libp2p.peerStore.get(id).catch(() => undefined)
          assigned = stored?.tags.has(TOPOLOGY_TAG) === true
        }
        return { peer, assigned, ms: latency.get(peer) ?? Number.POSITIVE_INFINITY }
      }),
    )
    keyed.sort((a, b) => Number(b.assigned) - Number(a.assigned) || a.ms - b.ms)
    return keyed.map((e) => e.peer)
  }

  const closestPeers = async (): Promise<string[]> => {
    const libp2p = options.libp2p()
    const candidates = new Map<string, PeerId>()
    for (const connection of libp2p.getConnections()) {
      if (connection.status !== 'open') continue
      candidates.set(connection.remotePeer.toString(), connection.remotePeer)
    }
    const speaking: string[] = []
    await Promise.all(
      [...candidates].map(async ([peer, id]) => {
        const stored = await libp2p.peerStore.get(id).catch(() => undefined)
        if (stored?.protocols.includes(SUMMARY_PROTOCOL) !== true) return
        speaking.push(peer)
        if (!latency.has(peer)) {
          // The node's own libp2p ping, once a peer: the measured latencies live with the chain
          // (src/node/reputation), and a node without a chain has none.
          const ms = await libp2p.services.ping
            .ping(id, { signal: AbortSignal.timeout(2_000) })
            .catch(() => undefined)
          if (ms !== undefined) latency.set(peer, ms)
        }
      }),
    )
    return (await closeness(speaking)).slice(0, k)
  }

  const push = async (peer: string, snapshot: SummarySnapshot) => {
    const libp2p = options.libp2p()
    const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(PUSH_TIMEOUT_MS)])
    const connection = libp2p
      .getConnections()
      .find((c) => c.remotePeer.toString() === peer && c.status === 'open')
    if (connection === undefined) return
    const channel = await openChannel(connection, SUMMARY_PROTOCOL, signal)
    try {
      await channel.write(
        encodeSummaryFrame({ kind: 'summary', seq: snapshot.seq, filter: snapshot.bytes }),
      )
      await channel.close()
    } catch (error) {
      channel.abort(error instanceof Error ? error : new Error(String(error)))
      throw error
    }
    sentSeq.set(peer, snapshot.seq)
    metrics.sent.inc()
    metrics.sentBytes.inc(snapshot.bytes.length)
  }

  const redial = async () => {
    const libp2p = options.libp2p()
    await Promise.all(
      (options.dialPeers ?? []).map(async (address) => {
        const target = multiaddr(address)
        const peer = target.getComponents().findLast((c) => c.name === 'p2p')?.value
        if (
          peer !== undefined &&
          libp2p.getConnections().some((c) => c.remotePeer.toString() === peer)
        )
          return
        await libp2p
          .dial(target, {
            signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(PUSH_TIMEOUT_MS)]),
          })
          .catch((error: unknown) =>
            log.debug({ address, err: String(error) }, 'summary peer dial failed'),
          )
      }),
    )
  }

  const check = async () => {
    await redial()
    const now = Date.now()
    if (popular.shouldShare(now)) {
      latest = popular.takeSnapshot(now)
      log.info(
        { seq: latest.seq, roots: popular.size, bytes: latest.bytes.length },
        'summary taken',
      )
    }
    const snapshot = latest
    if (snapshot === undefined) return
    const peers = (await closestPeers()).filter((p) => (sentSeq.get(p) ?? 0) < snapshot.seq)
    await Promise.all(
      peers.map((peer) =>
        push(peer, snapshot).then(
          () => log.debug({ peer, seq: snapshot.seq }, 'summary sent'),
          (error: unknown) => log.debug({ peer, err: String(error) }, 'summary push failed'),
        ),
      ),
    )
  }

  const tick = () => {
    if (running !== undefined) return
    running = check()
      .catch((error: unknown) => log.warn({ err: String(error) }, 'summary check failed'))
      .finally(() => {
        running = undefined
      })
  }

  return {
    name: 'summaries',
    popular,
    summaries,
    recordRequest: (root) => popular.recordRequest(root),
    async holders(root) {
      return closeness(summaries.holders(root))
    },
    closestPeers,
    check,
    async start() {
      await server.start()
      options.libp2p().addEventListener('peer:disconnect', onDisconnect)
      timer = setInterval(tick, checkEveryMs)
      timer.unref?.()
      tick()
    },
    async stop() {
      clearInterval(timer)
      stopping.abort(new Error('the node is stopping'))
      options.libp2p().removeEventListener('peer:disconnect', onDisconnect)
      await running
      await server.stop()
    },
  }
}

/** A whole number ≥ `min` from the environment, or undefined when unset. */
function envInteger(env: NodeJS.ProcessEnv, name: string, min: number): number | undefined {
  const text = env[name]
  if (text === undefined || text === '') return undefined
  const value = Number(text)
  if (!Number.isSafeInteger(value) || value < min)
    throw new RangeError(`${name} must be a whole number ≥ ${min}, not ${JSON.stringify(text)}`)
  return value
}

/**
 * The exchange's settings from the environment: FULMEN_SUMMARY_CAPACITY (roots in the filter),
 * FULMEN_SUMMARY_PEERS (k), FULMEN_SUMMARY_CHECK_MS, FULMEN_SUMMARY_MIN_SHARE_MS (least time
 * between two shares), FULMEN_SUMMARY_DIAL (comma-separated multiaddrs to keep connected).
 */
export function summaryOptionsFromEnv(
  env: NodeJS.ProcessEnv,
): Pick<SummaryExchangeOptions, 'popular' | 'peers' | 'checkEveryMs' | 'dialPeers'> {
  const capacity = envInteger(env, 'FULMEN_SUMMARY_CAPACITY', 1)
  const minShareIntervalMs = envInteger(env, 'FULMEN_SUMMARY_MIN_SHARE_MS', 0)
  const peers = envInteger(env, 'FULMEN_SUMMARY_PEERS', 1)
  const checkEveryMs = envInteger(env, 'FULMEN_SUMMARY_CHECK_MS', 10)
  const dial = (env.FULMEN_SUMMARY_DIAL ?? '').split(',').filter((a) => a.trim() !== '')
  return {
    popular: {
      ...(capacity === undefined ? {} : { capacity }),
      ...(minShareIntervalMs === undefined ? {} : { minShareIntervalMs }),
    },
    ...(peers === undefined ? {} : { peers }),
    ...(checkEveryMs === undefined ? {} : { checkEveryMs }),
    ...(dial.length === 0 ? {} : { dialPeers: dial.map((a) => a.trim()) }),
  }
}
