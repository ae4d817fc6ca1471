import { describe, expect, test } from 'vitest'
import { createMeasurementLedger } from './measurement-ledger.ts'
import { createPinger, type PingOutcome, type PingPeer } from './pinger.ts'

const peer = (n: number): PingPeer => ({
  key: new Uint8Array(32).fill(n),
  address: `/ip4/127.0.0.1/tcp/${4000 + n}/ws`,
})

describe('pinger', () => {
  test('pings every peer with bounded concurrency and records answers, failures and timeouts', async () => {
    const ledger = createMeasurementLedger()
    const peers = [1, 2, 3, 4, 5, 6].map(peer)
    let inFlight = 0
    let most = 0
    const outcomes: PingOutcome[] = []
    const pinger = createPinger({
      ledger,
      peers: async () => peers,
      everyMs: 1_000_000,
      timeoutMs: 50,
      concurrency: 2,
      padEvery: 2,
      padBytes: 1000,
      onPing: (o) => outcomes.push(o),
      async ping(p, pad, signal) {
        inFlight++
        most = Math.max(most, inFlight)
        try {
          const n = p.key[0]!
          if (n === 5) throw Object.assign(new Error('bad pong'), { code: 'PONG_BAD_SIGNATURE' })
          if (n === 6) {
            // Never answers: only the timeout ends it.
            await new Promise((_, reject) =>
              signal.addEventListener('abort', () => reject(signal.reason)),
            )
          }
          await new Promise((r) => setTimeout(r, 2))
          return { rttUs: n * 100, bytes: pad + 150 }
        } finally {
          inFlight--
        }
      },
    })
    expect(await pinger.pingNow()).toBe(4)
    expect(most).toBe(2)
    expect(
      outcomes
        .filter((o) => !o.ok)
        .map((o) => (o as { code: string }).code)
        .sort(),
    ).toEqual(['PONG_BAD_SIGNATURE', 'timeout'])
    // The second round asks for padding: a transfer is recorded for each answer.
    expect(await pinger.pingNow()).toBe(4)
    expect(pinger.rounds).toBe(2)
    const reports = new Map(ledger.reports().map((r) => [r.subject[0], r.measurements]))
    expect(reports.get(2)).toMatchObject({
      latencyUs: 200,
      uptime: 1_000_000,
      interactions: 2,
      bytesReceived: 1150,
      inboundBandwidth: Math.round(1150 / 0.0002),
    })
    expect(reports.get(5)).toEqual({ uptime: 0, interactions: -2 })
    expect(reports.get(6)).toEqual({ uptime: 0, interactions: -2 })
    await pinger.stop()
  })

  test('rounds run on its timer until stopped; a stop aborts the pings in flight', async () => {
    const ledger = createMeasurementLedger()
    let calls = 0
    let aborted = 0
    const pinger = createPinger({
      ledger,
      peers: async () => [peer(1)],
      everyMs: 5,
      timeoutMs: 10_000,
      async ping(_p, _pad, signal) {
        calls++
        if (calls < 3) return { rttUs: 10, bytes: 0 }
        return new Promise((_, reject) =>
          signal.addEventListener('abort', () => {
            aborted++
            reject(signal.reason)
          }),
        )
      },
    })
    pinger.start()
    await new Promise((r) => setTimeout(r, 100))
    await pinger.stop()
    expect(calls).toBe(3)
    expect(aborted).toBe(1)
    // The aborted ping is not counted against the peer.
    expect(ledger.reports()[0]!.measurements).toMatchObject({ uptime: 1_000_000, latencyUs: 10 })
  })
})
