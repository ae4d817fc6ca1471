/**
 * Node-to-node measurements on a full node that runs the chain (issue 19, "Measurements"): the
 * chain node composes this Component when `chain.measure` is on. Started, it
 *
 *   1. answers `/fulmen/ping/1.0.0` for the node registry's nodes (ping-protocol.ts),
 *   2. pings the epoch's other active nodes every `pingEveryMs` at the first address the
 *      registry gives for each (src/reputation/pinger.ts), recording into one ledger,
 *   3. submits the ledger's reports as node-signed `SubmitReputationMeasurements` once or twice
 *      an epoch (src/reputation/measurement-submitter.ts).
 *
 * Stopped, it takes them down in reverse. Metrics: pings by result and their round trips,
 * peers measured, submissions by result.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { nodeKeyOfPeer } from '../../client/chain-vetter.ts'
import { readCommittee, readMetadata, readNodeAddress } from '../../consensus/chain-reads.ts'
import type { Orderer } from '../../consensus/orderer.ts'
import { equalBytes } from '../../core/bytes.ts'
import type { Component } from '../../core/lifecycle.ts'
import type { Logger } from '../../core/logger.ts'
import type { Metrics } from '../../core/metrics.ts'
import type { DialingLibp2p } from '../../net/protocol-dialer.ts'
import type { ProtocolServer } from '../../net/protocol-server.ts'
import {
  createMeasurementLedger,
  type MeasurementLedger,
} from '../../reputation/measurement-ledger.ts'
import {
  createMeasurementSubmitter,
  type MeasurementSubmitter,
} from '../../reputation/measurement-submitter.ts'
import { createPinger, type Pinger, type PingPeer } from '../../reputation/pinger.ts'
import type { StateExecutor } from '../../state/executor.ts'
import { nodeKeyOfSeed } from '../../state/transaction.ts'
import { pingPeer, pingServer } from './ping-protocol.ts'

export interface ReputationNodeOptions {
  readonly libp2p: DialingLibp2p & Parameters<typeof pingServer>[0]['libp2p']
  readonly executor: StateExecutor
  /** The node's Orderer face: its transactions go through it. */
  readonly orderer: Orderer
  readonly nodeSeed: Uint8Array
  /** How often every other node is pinged, milliseconds. */
  readonly pingEveryMs: number
  /** How often the submitter looks at the epoch's clock, milliseconds. */
  readonly submitCheckMs: number
  readonly metrics: Metrics
  readonly logger: Logger
}

export interface ReputationNode extends Component {
  readonly ledger: MeasurementLedger
}

export function createReputationNode(options: ReputationNodeOptions): ReputationNode {
  const { executor, metrics, nodeSeed } = options
  const log = options.logger.child({ component: 'reputation' })
  const self = nodeKeyOfSeed(nodeSeed)
  const ledger = createMeasurementLedger({ self, epoch: executor.head.epoch })
  const pings = metrics.counter({
    name: 'fulmen_pings_total',
    help: 'Pings this node sent to other nodes, by result (ok, timeout, error, or the failure code)',
    labelNames: ['result'],
  })
  const rtt = metrics.histogram({
    name: 'fulmen_ping_rtt_seconds',
    help: 'Round trips of the pings other nodes answered with a verified pong',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  })
  const submissions = metrics.counter({
    name: 'fulmen_reputation_submissions_total',
    help: 'SubmitReputationMeasurements transactions sent, by result (ok or error)',
    labelNames: ['result'],
  })
  const reported = metrics.counter({
    name: 'fulmen_reputation_reports_submitted_total',
    help: 'Measurement reports (one per peer) sent in SubmitReputationMeasurements',
  })
  metrics.gauge({
    name: 'fulmen_reputation_peers',
    help: 'Nodes measured so far this epoch',
    collect: () => ledger.peers,
  })

  /** The epoch's active nodes but this one, at the registry's first address of each. */
  const peers = async (): Promise<PingPeer[]> => {
    const meta = await readMetadata(executor)
    const committee = await readCommittee(executor, meta.epoch)
    const out: PingPeer[] = []
    for (const key of committee?.activeNodes ?? []) {
      if (equalBytes(key, self)) continue
      const address = await readNodeAddress(executor, key)
      if (address !== undefined) out.push({ key, address })
    }
    return out
  }

  let parts: Component[] = []
  let server: ProtocolServer | undefined

  const build = (): {
    server: ProtocolServer
    pinger: Pinger
    submitter: MeasurementSubmitter
  } => ({
    server: pingServer({
      libp2p: options.libp2p,
      seed: nodeSeed,
      nodeKey: self,
      // Only the registry's nodes are answered: they are the ones that measure.
      allow: async (peer) => {
        const key = nodeKeyOfPeer(peer)
        return key !== undefined && (await executor.get('nodes', key)) !== undefined
      },
      metrics,
      logger: log,
    }),
    pinger: createPinger({
      ledger,
      peers,
      ping: (peer, pad, signal) => pingPeer(options.libp2p, peer, pad, signal),
      everyMs: options.pingEveryMs,
      onPing: (outcome) => {
        pings.labels(outcome.ok ? 'ok' : outcome.code).inc()
        if (outcome.ok) rtt.observe(outcome.rttUs / 1e6)
      },
      logger: log.child({ component: 'pinger' }),
    }),
    submitter: createMeasurementSubmitter({
      orderer: options.orderer,
      executor,
      ledger,
      nodeSeed,
      everyMs: options.submitCheckMs,
      onSubmit: (outcome) => {
        submissions.labels(outcome.ok ? 'ok' : 'error').inc()
        if (outcome.ok) reported.inc(outcome.reports)
      },
      logger: log.child({ component: 'measurement-submitter' }),
    }),
  })

  return {
    name: 'reputation',
    ledger,
    async start() {
      const built = build()
      server = built.server
      await server.start()
      for (const part of [built.submitter, built.pinger]) {
        await part.start()
        parts.push(part)
      }
      log.info(
        { node: bytesToHex(self), pingEveryMs: options.pingEveryMs },
        'measuring the other nodes',
      )
    },
    async stop() {
      for (const part of parts.reverse()) await part.stop()
      parts = []
      await server?.stop()
      server = undefined
    },
  }
}
