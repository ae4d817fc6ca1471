/**
 * What a node's core counts, the same on a full node and in a tab: content bytes sent, session
 * streams, sessions, refusals and stored claims. Made on any `Metrics` backend (prom-client on a
 * full node, where they are part of `/metrics`; memory in a tab, where `stats()` reads them).
 */
import type { Counter, Gauge, Metrics } from '../core/metrics.ts'

export interface HostMetrics {
  /** Content bytes sent, by body format (`session` for sessions; the gateway adds raw, frames). */
  readonly bytesServed: Counter<'format'>
  readonly sessionStreams: Gauge
  readonly sessionsRefused: Counter<'code'>
  /**
   * Refusals for load (TERMINATE 0x88), by the cap reached: sessions_per_client,
   * streams_per_session, node_sessions, node_streams. Their sum is the
   * `code="SESSION_RESOURCES_UNAVAILABLE"` count of `sessionsRefused`.
   */
  readonly sessionRefusals: Counter<'reason'>
  /** Sessions the node holds, idle ones included: read from `sessionsFrom`'s source. */
  readonly sessions: Gauge
  /** Where `sessions` reads its value (the session table, once it exists). */
  sessionsFrom(source: () => number): void
  readonly claimsStored: Counter
}

/** The names `HostMetrics` registers, for reading them back from a memory backend. */
export const HOST_METRIC_NAMES = {
  bytesServed: 'fulmen_bytes_served_total',
  sessionStreams: 'fulmen_session_streams',
  sessionsRefused: 'fulmen_handshakes_refused_total',
  sessionRefusals: 'fulmen_session_refusals_total',
  sessions: 'fulmen_sessions',
  claimsStored: 'fulmen_delivery_claims_stored_total',
} as const

export function createHostMetrics(metrics: Metrics): HostMetrics {
  let sessionsHeld: () => number = () => 0
  return {
    bytesServed: metrics.counter({
      name: HOST_METRIC_NAMES.bytesServed,
      help: 'Content bytes sent to clients, by body format (raw or frames)',
      labelNames: ['format'],
    }),
    sessionStreams: metrics.gauge({
      name: HOST_METRIC_NAMES.sessionStreams,
      help: 'Open session streams (libp2p, /fulmen/handshake/2.0.0)',
    }),
    sessionsRefused: metrics.counter({
      name: HOST_METRIC_NAMES.sessionsRefused,
      help: 'Handshakes the node refused, by error code',
      labelNames: ['code'],
    }),
    sessionRefusals: metrics.counter({
      name: HOST_METRIC_NAMES.sessionRefusals,
      help: 'Sessions and streams refused for load (TERMINATE 0x88), by the limit reached: sessions_per_client, streams_per_session, node_sessions, node_streams',
      labelNames: ['reason'],
    }),
    sessions: metrics.gauge({
      name: HOST_METRIC_NAMES.sessions,
      help: 'Sessions the node holds (libp2p sessions with or without an open stream)',
      collect: () => sessionsHeld(),
    }),
    sessionsFrom(source) {
      sessionsHeld = source
    },
    claimsStored: metrics.counter({
      name: HOST_METRIC_NAMES.claimsStored,
      help: 'Delivery acknowledgement claims written to the DA pool',
    }),
  }
}
