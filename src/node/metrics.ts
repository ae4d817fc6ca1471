/**
 * Prometheus metrics of one node (prom-client, a registry per node so tests can run several
 * in one process), served at `GET /metrics`. Parts count through the core `Metrics` interface
 * (src/core/metrics.ts); `promMetrics` is prom-client behind it. The node core's metrics
 * (src/host/host-metrics.ts) are made here beside the full node's own.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { Counter as CoreCounter, Gauge as CoreGauge, Metrics } from '../core/metrics.ts'
import { createHostMetrics, type HostMetrics } from '../host/host-metrics.ts'

export interface NodeMetrics extends HostMetrics {
  /** What `/metrics` serves. */
  readonly registry: Registry
  readonly requests: CoreCounter<'route' | 'status'>
  readonly cacheHits: CoreCounter
  readonly cacheMisses: CoreCounter
  readonly originFetches: CoreCounter<'origin' | 'result'>
  readonly originBytes: CoreCounter<'origin'>
  readonly verificationFailures: CoreCounter<'source'>
  readonly storeBytes: CoreGauge
  readonly storeContents: CoreGauge
  readonly scrubBytes: CoreCounter
  readonly scrubPasses: CoreCounter
  readonly providerPeers: CoreGauge
  readonly providerRoots: CoreGauge
  readonly providerQueries: CoreCounter<'result'>
  readonly providerStreamsRefused: CoreCounter<'reason'>
  /** Rejections and exceptions nothing handled, caught by the process guard (process-guard.ts). */
  readonly unexpectedErrors: CoreCounter<'kind'>
}

/** The core `Metrics` on a prom-client registry: each metric is prom-client's own. */
export function promMetrics(registry: Registry): Metrics {
  const registers = [registry]
  return {
    counter: (o) =>
      new Counter({ name: o.name, help: o.help, labelNames: o.labelNames ?? [], registers }),
    gauge: (o) => {
      const { collect } = o
      return new Gauge({
        name: o.name,
        help: o.help,
        labelNames: o.labelNames ?? [],
        registers,
        ...(collect === undefined
          ? {}
          : {
              collect() {
                this.set(collect())
              },
            }),
      })
    },
    histogram: (o) =>
      new Histogram({
        name: o.name,
        help: o.help,
        labelNames: o.labelNames ?? [],
        registers,
        ...(o.buckets === undefined ? {} : { buckets: [...o.buckets] }),
      }),
  }
}

export function createMetrics(): NodeMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'fulmen_' })
  const metrics = promMetrics(registry)
  return {
    registry,
    ...createHostMetrics(metrics),
    requests: metrics.counter({
      name: 'fulmen_requests_total',
      help: 'HTTP gateway requests by route and status code',
      labelNames: ['route', 'status'],
    }),
    cacheHits: metrics.counter({
      name: 'fulmen_cache_hits_total',
      help: 'Requests served from the block store',
    }),
    cacheMisses: metrics.counter({
      name: 'fulmen_cache_misses_total',
      help: 'Requests whose content had to be fetched from an origin',
    }),
    originFetches: metrics.counter({
      name: 'fulmen_origin_fetches_total',
      help: 'Origin fetches by origin and result (ok, or the error code)',
      labelNames: ['origin', 'result'],
    }),
    originBytes: metrics.counter({
      name: 'fulmen_origin_bytes_total',
      help: 'Bytes received from origins',
      labelNames: ['origin'],
    }),
    providerPeers: metrics.gauge({
      name: 'fulmen_provider_peers',
      help: 'Peers (browser tabs) whose announced roots this node lists',
    }),
    providerRoots: metrics.gauge({
      name: 'fulmen_provider_roots',
      help: 'Distinct roots announced by the peers this node lists',
    }),
    providerQueries: metrics.counter({
      name: 'fulmen_provider_queries_total',
      help: 'Provider queries answered (libp2p and HTTP), by result (found, none)',
      labelNames: ['result'],
    }),
    providerStreamsRefused: metrics.counter({
      name: 'fulmen_provider_streams_refused_total',
      help: 'Discovery streams ended with TERMINATE, by reason (hex)',
      labelNames: ['reason'],
    }),
    unexpectedErrors: metrics.counter({
      name: 'fulmen_unexpected_errors_total',
      help: 'Errors nothing handled (unhandledRejection, uncaughtException); the node kept serving',
      labelNames: ['kind'],
    }),
    verificationFailures: metrics.counter({
      name: 'fulmen_verification_failures_total',
      help: 'Content that failed verification (origin integrity, CID, BLAKE3; store: stored bytes that no longer match their tree), by source',
      labelNames: ['source'],
    }),
    storeBytes: metrics.gauge({
      name: 'fulmen_store_bytes',
      help: 'Bytes of content in the block store',
    }),
    storeContents: metrics.gauge({
      name: 'fulmen_store_contents',
      help: 'Contents in the block store',
    }),
    scrubBytes: metrics.counter({
      name: 'fulmen_scrub_bytes_total',
      help: 'Stored bytes re-hashed against their tree by the store scrubber',
    }),
    scrubPasses: metrics.counter({
      name: 'fulmen_scrub_passes_total',
      help: 'Passes of the store scrubber over the whole store',
    }),
  }
}
