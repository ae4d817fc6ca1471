/**
 * Routing's choice of node: cost from latency and reputation, ranking, spreading over the best
 * few, content affinity by rendezvous hashing, and a full node's "who should serve me".
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { RoutingError } from './errors.ts'
import {
  contentPick,
  rankNodes,
  rendezvousWeight,
  routingCost,
  spreadPick,
  suggestServers,
} from './node-ranking.ts'

const candidate = fc.record({
  latencyMs: fc.option(fc.double({ min: 0, max: 5_000, noNaN: true }), { nil: undefined }),
  reputation: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
})
const id = fc.uint8Array({ minLength: 32, maxLength: 32 })

describe('routingCost and rankNodes', () => {
  test('latency scaled by reputation: 100 costs the latency, 0 twice it', () => {
    expect(routingCost({ latencyMs: 20, reputation: 100 })).toBe(20)
    expect(routingCost({ latencyMs: 20, reputation: 0 })).toBe(40)
    expect(routingCost({ latencyMs: 20, reputation: undefined })).toBe(30)
    expect(routingCost({ latencyMs: undefined, reputation: 100 })).toBe(10_000)
    expect(routingCost({ latencyMs: 20, reputation: 0 }, { reputationPenalty: 0 })).toBe(20)
  })

  test('more latency or less reputation never costs less', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1_000, noNaN: true }),
        fc.double({ min: 0, max: 1_000, noNaN: true }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (latency, more, reputation, less) => {
          const base = routingCost({ latencyMs: latency, reputation })
          expect(routingCost({ latencyMs: latency + more, reputation })).toBeGreaterThanOrEqual(
            base,
          )
          expect(
            routingCost({ latencyMs: latency, reputation: Math.max(0, reputation - less) }),
          ).toBeGreaterThanOrEqual(base)
        },
      ),
    )
  })

  test('ranks cheapest first, keeps the order of equal costs, loses nothing', () => {
    fc.assert(
      fc.property(fc.array(candidate, { maxLength: 30 }), (list) => {
        const ranked = rankNodes(list)
        expect(ranked).toHaveLength(list.length)
        expect(new Set(ranked)).toEqual(new Set(list))
        for (let i = 1; i < ranked.length; i++) {
          const a = routingCost(ranked[i - 1] as (typeof list)[number])
          const b = routingCost(ranked[i] as (typeof list)[number])
          expect(a).toBeLessThanOrEqual(b)
          if (a === b) expect(list.indexOf(ranked[i - 1]!)).toBeLessThan(list.indexOf(ranked[i]!))
        }
      }),
    )
  })

  test('bad input is a RoutingError with code ROUTING_INVALID_ARGUMENT', () => {
    for (const bad of [
      () => routingCost({ latencyMs: -1, reputation: 50 }),
      () => routingCost({ latencyMs: Number.NaN, reputation: 50 }),
      () => routingCost({ latencyMs: 1, reputation: 101 }),
      () => routingCost({ latencyMs: 1, reputation: 50 }, { reputationPenalty: -1 }),
      () => spreadPick([{ latencyMs: 1, reputation: 1 }], 1),
    ]) {
      expect(bad).toThrow(RoutingError)
      try {
        bad()
      } catch (e) {
        expect((e as RoutingError).code).toBe('ROUTING_INVALID_ARGUMENT')
      }
    }
  })
})

describe('spreading over the best few', () => {
  const ranked = [
    { latencyMs: 10, reputation: 100 },
    { latencyMs: 12, reputation: 100 },
    { latencyMs: 12.5, reputation: 100 },
    { latencyMs: 12.9, reputation: 100 },
    { latencyMs: 50, reputation: 100 },
  ]

  test('spreadPick draws among at most `spread` within `tolerance` of the best', () => {
    const picks = new Set<number>()
    for (let d = 0; d < 1; d += 0.01) picks.add(spreadPick(ranked, d))
    expect([...picks].sort()).toEqual([0, 1, 2])
    const wide = new Set<number>()
    for (let d = 0; d < 1; d += 0.01) wide.add(spreadPick(ranked, d, { spread: 10 }))
    expect([...wide].sort()).toEqual([0, 1, 2, 3])
    expect(spreadPick([], 0.5)).toBe(-1)
    expect(spreadPick(ranked, 0.99, { tolerance: 1 })).toBe(0)
  })

  test('contentPick: one node per content among the near set, the same for every client', () => {
    fc.assert(
      fc.property(fc.array(id, { minLength: 3, maxLength: 3 }), id, (ids, root) => {
        const named = ranked.slice(0, 3).map((c, i) => ({ ...c, id: ids[i] as Uint8Array }))
        const pick = contentPick(named, root)
        expect(pick).toBeGreaterThanOrEqual(0)
        expect(pick).toBeLessThan(3)
        // Another client sees the same nodes in another order: the same node.
        const reordered = [named[2]!, named[0]!, named[1]!].map((c) => ({ ...c, latencyMs: 10 }))
        expect(reordered[contentPick(reordered, root)]?.id).toBe(named[pick]?.id)
      }),
    )
    expect(contentPick([], new Uint8Array(32))).toBe(-1)
  })

  test('rendezvous weights share contents out about evenly', () => {
    const ids = [1, 2, 3].map((n) => new Uint8Array(32).fill(n * 37))
    const counts = [0, 0, 0]
    for (let k = 0; k < 3_000; k++) {
      const root = new Uint8Array(32)
      new DataView(root.buffer).setUint32(0, Math.imul(k, 0x9e3779b1))
      new DataView(root.buffer).setUint32(4, Math.imul(k + 7, 0x85ebca6b))
      let best = 0
      for (let i = 1; i < 3; i++)
        if (rendezvousWeight(root, ids[i]!) > rendezvousWeight(root, ids[best]!)) best = i
      counts[best]!++
    }
    for (const c of counts) expect(c).toBeGreaterThan(850)
  })
})

describe('suggestServers', () => {
  test('holders first, each group cheapest first, at most max', () => {
    const offers = [
      { peer: 'far-holder', latencyMs: 80, reputation: 90, holds: true },
      { peer: 'near', latencyMs: 5, reputation: 90, holds: false },
      { peer: 'near-holder', latencyMs: 10, reputation: 90, holds: true },
      { peer: 'mid', latencyMs: 20, reputation: 90, holds: false },
    ]
    expect(suggestServers(offers, 3)).toEqual(['near-holder', 'far-holder', 'near'])
    expect(suggestServers(offers, 0)).toEqual([])
    expect(suggestServers([], 5)).toEqual([])
  })
})
