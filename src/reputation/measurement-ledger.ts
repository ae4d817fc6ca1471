/**
 * What this node measured of each peer this epoch (issue 19, "Measurements"; Lightning's
 * `core/rep-collector` aggregator), sans I/O: the pinger records pings, transfers and
 * interactions as they happen, the submitter asks for `reports` once or twice an epoch and
 * calls `reset` at the epoch change.
 *
 * Per peer: latency is the mean round-trip of the pings answered; uptime the share of pings
 * answered (FIXED_ONE = 100 %); interactions the successes minus the failures; bandwidth the
 * bytes of transfers over their duration, each way; bytes the totals each way. A peer that only
 * failed has uptime 0 and no latency. Values are integers clamped to the ranges the chain
 * accepts (`measurementsValid`), so a report is never refused for a wild sample.
 *
 * Reports are bounded as Lightning bounds them: at most `maxReports` per transaction (the
 * chain's `maxMeasurements`, Lightning's MAX_MEASUREMENTS_PER_TX) and at most what fits a
 * transaction's bytes; when there are more peers, those with the most samples go first.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { FIXED_ONE, type MeasurementReport, type Measurements } from '../state/model.ts'
import { MAX_BANDWIDTH, MAX_LATENCY_US } from '../state/reputation-score.ts'
import { MAX_TRANSACTION_BYTES } from '../state/transaction.ts'

/** Bytes of one report with every field at its largest, rounded up (193 measured in the
 * ledger's tests: the subject, eight fields and their CBOR heads). */
export const MAX_REPORT_BYTES = 200
/** Reports that fit one transaction's 128 KiB with a KiB for the rest of it: 650. */
export const MAX_REPORTS_PER_TRANSACTION = Math.floor(
  (MAX_TRANSACTION_BYTES - 1024) / MAX_REPORT_BYTES,
)
/** Lightning's MAX_MEASUREMENTS_SUBMIT: transactions of measurements a node sends per epoch. */
export const MAX_SUBMISSIONS_PER_EPOCH = 2

interface PeerTally {
  pings: number
  rttSumUs: number
  timeouts: number
  successes: number
  failures: number
  bytesIn: number
  msIn: number
  bytesOut: number
  msOut: number
}

export type TransferDirection = 'in' | 'out'

export interface MeasurementLedger {
  /** The epoch being measured. */
  readonly epoch: number
  /** Peers with at least one sample. */
  readonly peers: number
  /** A ping `peer` answered after `rttUs` microseconds. */
  recordPing(peer: Uint8Array, rttUs: number): void
  /** A ping `peer` did not answer (timeout, refused, a pong that did not verify). */
  recordPingFailure(peer: Uint8Array): void
  /** `bytes` moved from (`in`) or to (`out`) `peer` in `ms` milliseconds. */
  recordTransfer(peer: Uint8Array, bytes: number, ms: number, direction?: TransferDirection): void
  /** An interaction with `peer` that went well or not (a session, a fetch, a ping). */
  recordInteraction(peer: Uint8Array, ok: boolean): void
  /** The reports for a `SubmitReputationMeasurements`: at most `maxReports`, each valid. */
  reports(maxReports?: number): MeasurementReport[]
  /** Forgets everything: a new epoch starts. */
  reset(epoch: number): void
}

const MAX_SAFE = Number.MAX_SAFE_INTEGER
const clamp = (v: number, min: number, max: number) =>
  Number.isFinite(v) ? Math.min(max, Math.max(min, Math.round(v))) : min
/** Adds without leaving the safe integers (a tally that long-lived saturates, not wraps). */
const addSafe = (a: number, b: number) => Math.min(MAX_SAFE, a + b)

function measurementsOf(t: PeerTally): Measurements {
  const m: { -readonly [K in keyof Measurements]: Measurements[K] } = {}
  if (t.pings > 0) m.latencyUs = clamp(t.rttSumUs / t.pings, 0, MAX_LATENCY_US - 1)
  const probes = t.pings + t.timeouts
  if (probes > 0) m.uptime = clamp((t.pings * Number(FIXED_ONE)) / probes, 0, Number(FIXED_ONE))
  if (t.successes + t.failures > 0)
    m.interactions = clamp(t.successes - t.failures, -MAX_SAFE, MAX_SAFE)
  // Bytes per second; a transfer timed under a microsecond counts as one (performance.now's
  // resolution), so a rate is always finite.
  if (t.bytesIn > 0) {
    m.inboundBandwidth = clamp((t.bytesIn * 1000) / Math.max(0.001, t.msIn), 0, MAX_BANDWIDTH)
    m.bytesReceived = clamp(t.bytesIn, 0, MAX_SAFE)
  }
  if (t.bytesOut > 0) {
    m.outboundBandwidth = clamp((t.bytesOut * 1000) / Math.max(0.001, t.msOut), 0, MAX_BANDWIDTH)
    m.bytesSent = clamp(t.bytesOut, 0, MAX_SAFE)
  }
  return m
}

const samplesOf = (t: PeerTally) => t.pings + t.timeouts + t.successes + t.failures

function checkCount(value: number, what: string): number {
  if (!Number.isFinite(value) || value < 0)
    throw new RangeError(`${what} must be ≥ 0, got ${value}`)
  return value
}

export interface MeasurementLedgerOptions {
  /** This node's key: samples about itself are dropped (the chain ignores self-reports). */
  readonly self?: Uint8Array
  readonly epoch?: number
  /** Peers tracked at most (default 10,000): samples of further peers are dropped, so a
   * flood of peer ids cannot grow the ledger without bound. */
  readonly maxPeers?: number
}

export function createMeasurementLedger(options: MeasurementLedgerOptions = {}): MeasurementLedger {
  const self = options.self === undefined ? undefined : bytesToHex(options.self)
  const maxPeers = options.maxPeers ?? 10_000
  let epoch = options.epoch ?? 0
  let tallies = new Map<string, PeerTally>()

  const tallyOf = (peer: Uint8Array): PeerTally | undefined => {
    const key = bytesToHex(peer)
    if (key === self) return undefined
    let t = tallies.get(key)
    if (t === undefined) {
      if (tallies.size >= maxPeers) return undefined
      t = {
        pings: 0,
        rttSumUs: 0,
        timeouts: 0,
        successes: 0,
        failures: 0,
        bytesIn: 0,
        msIn: 0,
        bytesOut: 0,
        msOut: 0,
      }
      tallies.set(key, t)
    }
    return t
  }

  return {
    get epoch() {
      return epoch
    },
    get peers() {
      return tallies.size
    },
    recordPing(peer, rttUs) {
      checkCount(rttUs, 'rttUs')
      const t = tallyOf(peer)
      if (t === undefined) return
      t.pings = addSafe(t.pings, 1)
      t.rttSumUs = addSafe(t.rttSumUs, rttUs)
    },
    recordPingFailure(peer) {
      const t = tallyOf(peer)
      if (t !== undefined) t.timeouts = addSafe(t.timeouts, 1)
    },
    recordTransfer(peer, bytes, ms, direction = 'in') {
      checkCount(bytes, 'bytes')
      checkCount(ms, 'ms')
      const t = tallyOf(peer)
      if (t === undefined) return
      if (direction === 'in') {
        t.bytesIn = addSafe(t.bytesIn, bytes)
        t.msIn = addSafe(t.msIn, ms)
      } else {
        t.bytesOut = addSafe(t.bytesOut, bytes)
        t.msOut = addSafe(t.msOut, ms)
      }
    },
    recordInteraction(peer, ok) {
      const t = tallyOf(peer)
      if (t === undefined) return
      if (ok) t.successes = addSafe(t.successes, 1)
      else t.failures = addSafe(t.failures, 1)
    },
    reports(maxReports = MAX_REPORTS_PER_TRANSACTION) {
      const limit = Math.max(0, Math.min(Math.floor(maxReports), MAX_REPORTS_PER_TRANSACTION))
      // Most evidence first; ties by key, so the same ledger gives the same reports.
      const ranked = [...tallies].sort(
        ([a, ta], [b, tb]) => samplesOf(tb) - samplesOf(ta) || (a < b ? -1 : a > b ? 1 : 0),
      )
      return ranked
        .slice(0, limit)
        .map(([key, t]) => ({ subject: hexToBytes(key), measurements: measurementsOf(t) }))
    },
    reset(next) {
      epoch = next
      tallies = new Map()
    },
  }
}
