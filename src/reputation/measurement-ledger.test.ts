import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { FIXED_ONE, type MeasurementReport } from '../state/model.ts'
import { measurementsValid, reputationScores } from '../state/reputation-score.ts'
import {
  encodeTransaction,
  MAX_TRANSACTION_BYTES,
  nodeKeyOfSeed,
  signNodeTransaction,
} from '../state/transaction.ts'
import {
  createMeasurementLedger,
  MAX_REPORT_BYTES,
  MAX_REPORTS_PER_TRANSACTION,
} from './measurement-ledger.ts'

const key = (n: number) => new Uint8Array(32).fill(n)
const hex = (b: Uint8Array) => bytesToHex(b)

type Event =
  | { type: 'ping'; peer: number; rttUs: number }
  | { type: 'fail'; peer: number }
  | { type: 'transfer'; peer: number; bytes: number; ms: number; out: boolean }
  | { type: 'interaction'; peer: number; ok: boolean }

const peerArb = fc.integer({ min: 1, max: 12 })
const huge = fc.oneof(
  fc.nat(),
  fc.constant(Number.MAX_SAFE_INTEGER),
  fc.double({ min: 0, max: 1e300, noNaN: true }),
)
const eventArb: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ type: fc.constant('ping' as const), peer: peerArb, rttUs: huge }),
  fc.record({ type: fc.constant('fail' as const), peer: peerArb }),
  fc.record({
    type: fc.constant('transfer' as const),
    peer: peerArb,
    bytes: huge,
    ms: huge,
    out: fc.boolean(),
  }),
  fc.record({ type: fc.constant('interaction' as const), peer: peerArb, ok: fc.boolean() }),
)

function replay(events: readonly Event[], self = key(1)) {
  const ledger = createMeasurementLedger({ self, epoch: 3 })
  for (const e of events) {
    if (e.type === 'ping') ledger.recordPing(key(e.peer), e.rttUs)
    else if (e.type === 'fail') ledger.recordPingFailure(key(e.peer))
    else if (e.type === 'transfer')
      ledger.recordTransfer(key(e.peer), e.bytes, e.ms, e.out ? 'out' : 'in')
    else ledger.recordInteraction(key(e.peer), e.ok)
  }
  return ledger
}

describe('measurement ledger', () => {
  test('aggregates pings, failures, transfers and interactions per peer', () => {
    const ledger = createMeasurementLedger({ epoch: 7 })
    ledger.recordPing(key(2), 1000)
    ledger.recordPing(key(2), 3000)
    ledger.recordPingFailure(key(2))
    ledger.recordPingFailure(key(2))
    ledger.recordTransfer(key(2), 65_536, 4, 'in')
    ledger.recordTransfer(key(2), 100, 1, 'out')
    ledger.recordInteraction(key(2), true)
    ledger.recordInteraction(key(2), true)
    ledger.recordInteraction(key(2), false)
    ledger.recordPingFailure(key(3))
    expect(ledger.epoch).toBe(7)
    expect(ledger.reports()).toEqual([
      {
        subject: key(2),
        measurements: {
          latencyUs: 2000,
          uptime: 500_000,
          interactions: 1,
          inboundBandwidth: 16_384_000,
          bytesReceived: 65_536,
          outboundBandwidth: 100_000,
          bytesSent: 100,
        },
      },
      // Only failed: no latency, uptime 0.
      { subject: key(3), measurements: { uptime: 0 } },
    ])
    ledger.reset(8)
    expect(ledger.epoch).toBe(8)
    expect(ledger.reports()).toEqual([])
  })

  test('property: every report is valid, subjects are unique, never self, at most the bound', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 200 }), fc.nat(20), (events, max) => {
        const ledger = replay(events)
        const reports = ledger.reports(max)
        expect(reports.length).toBeLessThanOrEqual(max)
        const subjects = reports.map((r) => hex(r.subject))
        expect(new Set(subjects).size).toBe(subjects.length)
        expect(subjects).not.toContain(hex(key(1)))
        for (const r of reports) expect(measurementsValid(r.measurements)).toBe(true)
        // Every peer seen (but self) is reported when the bound allows.
        const seen = new Set(events.map((e) => e.peer).filter((p) => p !== 1))
        expect(reports.length).toBe(Math.min(max, seen.size))
        // And the chain scores them without complaint.
        reputationScores(
          reports.map((r) => ({ reporter: key(1), ...r })),
          new Map(),
        )
      }),
      { numRuns: 300 },
    )
  })

  test('property: uptime is the share of pings answered, latency their mean', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1_000_000 }), { maxLength: 30 }),
        fc.nat(30),
        (rtts, failures) => {
          fc.pre(rtts.length + failures > 0)
          const ledger = createMeasurementLedger()
          for (const rtt of rtts) ledger.recordPing(key(2), rtt)
          for (let i = 0; i < failures; i++) ledger.recordPingFailure(key(2))
          const [report] = ledger.reports()
          const m = report!.measurements
          expect(m.uptime).toBe(
            Math.round((rtts.length * Number(FIXED_ONE)) / (rtts.length + failures)),
          )
          if (rtts.length === 0) expect(m.latencyUs).toBeUndefined()
          else expect(m.latencyUs).toBe(Math.round(rtts.reduce((a, b) => a + b, 0) / rtts.length))
        },
      ),
    )
  })

  test('the most sampled peers go first when the bound cuts; the order does not depend on arrival', () => {
    const ledger = createMeasurementLedger()
    for (let p = 2; p <= 6; p++) for (let i = 0; i < p; i++) ledger.recordPing(key(p), 100)
    expect(ledger.reports(2).map((r) => r.subject[0])).toEqual([6, 5])
    expect(ledger.peers).toBe(5)
  })

  test('a full transaction of reports with every field at its largest fits a transaction', () => {
    const ledger = createMeasurementLedger()
    for (let i = 0; i < MAX_REPORTS_PER_TRANSACTION + 10; i++) {
      const peer = new Uint8Array(32)
      new DataView(peer.buffer).setUint32(0, i + 1)
      peer.fill(0xff, 4)
      ledger.recordPing(peer, 1e12)
      ledger.recordTransfer(peer, Number.MAX_SAFE_INTEGER, 1, 'in')
      ledger.recordTransfer(peer, Number.MAX_SAFE_INTEGER, 1, 'out')
      ledger.recordInteraction(peer, false)
    }
    const reports: MeasurementReport[] = ledger.reports(100_000)
    expect(reports.length).toBe(MAX_REPORTS_PER_TRANSACTION)
    const seed = new Uint8Array(32).fill(5)
    const tx = signNodeTransaction(
      {
        chainId: 1,
        sender: { kind: 'node', key: nodeKeyOfSeed(seed) },
        nonce: Number.MAX_SAFE_INTEGER,
        method: { type: 'SubmitReputationMeasurements', reports },
      },
      seed,
    )
    const bytes = encodeTransaction(tx).length
    expect(bytes).toBeLessThanOrEqual(MAX_TRANSACTION_BYTES)
    // Each report at most MAX_REPORT_BYTES.
    expect(bytes / reports.length).toBeLessThan(MAX_REPORT_BYTES)
  })
})
