import { describe, expect, test } from 'vitest'
import { createMemoryMetrics } from './metrics.ts'

describe('createMemoryMetrics', () => {
  test('counters by label values, read back by labels', () => {
    const m = createMemoryMetrics()
    const refused = m.counter({ name: 'refused_total', help: 'h', labelNames: ['code'] })
    refused.labels('SESSION_BAD').inc()
    refused.labels('SESSION_BAD').inc(2)
    refused.labels('SESSION_LIMIT').inc()
    expect(m.value('refused_total', { code: 'SESSION_BAD' })).toBe(3)
    expect(m.value('refused_total', { code: 'OTHER' })).toBe(0)
    expect(m.series('refused_total').map((s) => [s.labels, s.value])).toEqual([
      [{ code: 'SESSION_BAD' }, 3],
      [{ code: 'SESSION_LIMIT' }, 1],
    ])
    expect(() => refused.labels('a', 'b')).toThrow(RangeError)
    expect(() => refused.labels('x').inc(-1)).toThrow(RangeError)
  })

  test('gauges go both ways; a collected gauge reads its source when read', () => {
    const m = createMemoryMetrics()
    const streams = m.gauge({ name: 'streams', help: 'h' })
    streams.inc()
    streams.inc()
    streams.dec()
    expect(m.value('streams')).toBe(1)
    streams.set(7)
    expect(m.value('streams')).toBe(7)
    let held = 3
    m.gauge({ name: 'sessions', help: 'h', collect: () => held })
    expect(m.value('sessions')).toBe(3)
    held = 5
    expect(m.series('sessions')).toEqual([{ labels: {}, value: 5, count: 0 }])
  })

  test('histograms keep count and sum per series', () => {
    const m = createMemoryMetrics()
    const h = m.histogram({ name: 'took_seconds', help: 'h', labelNames: ['route'] })
    h.labels('a').observe(0.5)
    h.labels('a').observe(1.5)
    expect(m.series('took_seconds')).toEqual([{ labels: { route: 'a' }, value: 2, count: 2 }])
  })

  test('a name is registered once; an unknown name is an error', () => {
    const m = createMemoryMetrics()
    m.counter({ name: 'x_total', help: 'h' })
    expect(() => m.gauge({ name: 'x_total', help: 'h' })).toThrow(RangeError)
    expect(() => m.value('nope')).toThrow(RangeError)
  })
})

test('labels by name pick the same series as labels by position', () => {
  const m = createMemoryMetrics()
  const fetches = m.counter({ name: 'f_total', help: 'h', labelNames: ['origin', 'result'] })
  fetches.labels('http', 'ok').inc()
  fetches.labels({ result: 'ok', origin: 'http' }).inc()
  expect(m.value('f_total', { origin: 'http', result: 'ok' })).toBe(2)
})
