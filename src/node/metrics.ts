/**
 * Prometheus metrics of one node (prom-client, a registry per node so tests can run several
 * in one process). Served at `GET /metrics`.
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client'

export interface NodeMetrics {
  readonly registry: Registry
  readonly bytesServed: Counter<'format'>
  readonly requests: Counter<'route' | 'status'>
  readonly cacheHits: Counter
  readonly cacheMisses: Counter
  readonly originFetches: Counter<'origin' | 'result'>
  readonly originBytes: Counter<'origin'>
  readonly verificationFailures: Counter<'source'>
  readonly storeBytes: Gauge
  readonly storeContents: Gauge
  readonly scrubBytes: Counter
  readonly scrubPasses: Counter
  readonly sessionStreams: Gauge
  readonly sessionsRefused: Counter<'code'>
  /**
   * Refusals for load (TERMINATE 0x88), by the cap reached: sessions_per_client,
   * streams_per_session, node_sessions, node_streams. Their sum is the
   * `code="SESSION_RESOURCES_UNAVAILABLE"` count of `sessionsRefused`.
   */
  readonly sessionRefusals: Counter<'reason'>
  /** Sessions the node holds, idle ones included: read from `sessionsFrom`'s source on scrape. */
  readonly sessions: Gauge
  /** Where `sessions` reads its value (the session table, once it exists). */
  sessionsFrom(source: () => number): void
  readonly claimsStored: Counter
  readonly providerPeers: Gauge
  readonly providerRoots: Gauge
  readonly providerQueries: Counter<'result'>
  readonly providerStreamsRefused: Counter<'reason'>
  /** Rejections and exceptions nothing handled, caught by the process guard (process-guard.ts). */
  readonly unexpectedErrors: Counter<'kind'>
}

export function createMetrics(): NodeMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'fulmen_' })
  const registers = [registry]
  let sessionsHeld: () => number = () => 0
  return {
    registry,
    bytesServed: new Counter({
      name: 'fulmen_bytes_served_total',
      help: 'Content bytes sent to clients, by body format (raw or frames)',
      labelNames: ['format'],
      registers,
    }),
    requests: new Counter({
      name: 'fulmen_requests_total',
      help: 'HTTP gateway requests by route and status code',
      labelNames: ['route', 'status'],
      registers,
    }),
    cacheHits: new Counter({
      name: 'fulmen_cache_hits_total',
      help: 'Requests served from the block store',
      registers,
    }),
    cacheMisses: new Counter({
      name: 'fulmen_cache_misses_total',
      help: 'Requests whose content had to be fetched from an origin',
      registers,
    }),
    originFetches: new Counter({
      name: 'fulmen_origin_fetches_total',
      help: 'Origin fetches by origin and result (ok, or the error code)',
      labelNames: ['origin', 'result'],
      registers,
    }),
    originBytes: new Counter({
      name: 'fulmen_origin_bytes_total',
      help: 'Bytes received from origins',
      labelNames: ['origin'],
      registers,
    }),
    sessionStreams: new Gauge({
      name: 'fulmen_session_streams',
      help: 'Open session streams (libp2p, /fulmen/handshake/1.0.0)',
      registers,
    }),
    sessionsRefused: new Counter({
      name: 'fulmen_handshakes_refused_total',
      help: 'Handshakes the node refused, by error code',
      labelNames: ['code'],
      registers,
    }),
    sessionRefusals: new Counter({
      name: 'fulmen_session_refusals_total',
      help: 'Sessions and streams refused for load (TERMINATE 0x88), by the limit reached: sessions_per_client, streams_per_session, node_sessions, node_streams',
      labelNames: ['reason'],
      registers,
    }),
    sessions: new Gauge({
      name: 'fulmen_sessions',
      help: 'Sessions the node holds (libp2p sessions with or without an open stream)',
      registers,
      collect() {
        this.set(sessionsHeld())
      },
    }),
    sessionsFrom(source) {
      sessionsHeld = source
    },
    claimsStored: new Counter({
      name: 'fulmen_delivery_claims_stored_total',
      help: 'Delivery acknowledgement claims written to the DA pool',
      registers,
    }),
    providerPeers: new Gauge({
      name: 'fulmen_provider_peers',
      help: 'Peers (browser tabs) whose announced roots this node lists',
      registers,
    }),
    providerRoots: new Gauge({
      name: 'fulmen_provider_roots',
      help: 'Distinct roots announced by the peers this node lists',
      registers,
    }),
    providerQueries: new Counter({
      name: 'fulmen_provider_queries_total',
      help: 'Provider queries answered (libp2p and HTTP), by result (found, none)',
      labelNames: ['result'],
      registers,
    }),
    providerStreamsRefused: new Counter({
      name: 'fulmen_provider_streams_refused_total',
      help: 'Discovery streams ended with TERMINATE, by reason (hex)',
      labelNames: ['reason'],
      registers,
    }),
    unexpectedErrors: new Counter({
      name: 'fulmen_unexpected_errors_total',
      help: 'Errors nothing handled (unhandledRejection, uncaughtException); the node kept serving',
      labelNames: ['kind'],
      registers,
    }),
    verificationFailures: new Counter({
      name: 'fulmen_verification_failures_total',
      help: 'Content that failed verification (origin integrity, CID, BLAKE3; store: stored bytes that no longer match their tree), by source',
      labelNames: ['source'],
      registers,
    }),
    storeBytes: new Gauge({
      name: 'fulmen_store_bytes',
      help: 'Bytes of content in the block store',
      registers,
    }),
    storeContents: new Gauge({
      name: 'fulmen_store_contents',
      help: 'Contents in the block store',
      registers,
    }),
    scrubBytes: new Counter({
      name: 'fulmen_scrub_bytes_total',
      help: 'Stored bytes re-hashed against their tree by the store scrubber',
      registers,
    }),
    scrubPasses: new Counter({
      name: 'fulmen_scrub_passes_total',
      help: 'Passes of the store scrubber over the whole store',
      registers,
    }),
  }
}
