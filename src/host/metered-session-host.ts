/**
 * A session host whose hooks feed the node's `HostMetrics` (streams, refusals, sessions held):
 * what every node runs, the node core's and a test node's alike (src/devnet/lying-node.ts).
 */
import {
  createSessionHost,
  type SessionHost,
  type SessionHostOptions,
} from '../services/session-host.ts'
import type { HostMetrics } from './host-metrics.ts'

export interface MeteredSessionHostOptions extends SessionHostOptions {
  readonly metrics: HostMetrics
}

export function createMeteredSessionHost(options: MeteredSessionHostOptions): SessionHost {
  const { metrics, hooks = {} } = options
  const host = createSessionHost({
    ...options,
    hooks: {
      refused: (code, peer, limit) => {
        metrics.sessionsRefused.labels(code).inc()
        if (limit !== undefined) metrics.sessionRefusals.labels(limit).inc()
        hooks.refused?.(code, peer, limit)
      },
      opened: (stream) => {
        metrics.sessionStreams.inc()
        hooks.opened?.(stream)
      },
      closed: () => {
        metrics.sessionStreams.dec()
        hooks.closed?.()
      },
    },
  })
  metrics.sessionsFrom(() => host.table.size)
  return host
}
