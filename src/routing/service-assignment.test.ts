/**
 * Service assignment per epoch: regions by latency, each service a demand-weighted share of
 * every region (at least the minimum), nodes by rendezvous weight under the epoch's seed.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { RoutingError } from './errors.ts'
import { assignServices, regionsOf } from './service-assignment.ts'
import { denseLatencyMatrix } from './topology.ts'

/** `groups` regions of `per` nodes: 2 ms apart inside a group, 150 ms between groups. */
function world(groups: number, per: number) {
  const n = groups * per
  const entries = []
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      entries.push({
        from: i,
        to: j,
        latencyUs: Math.floor(i / per) === Math.floor(j / per) ? 2_000 : 150_000,
      })
  const keys = Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i + 1))
  return { matrix: denseLatencyMatrix(n, entries), keys, group: (i: number) => Math.floor(i / per) }
}

const seed = (b: number) => new Uint8Array(32).fill(b)

describe('assignServices', () => {
  test('regions follow latency: each is one group of the map', () => {
    const { matrix, group } = world(4, 20)
    const regions = regionsOf(matrix, seed(1), 20)
    expect(regions).toHaveLength(4)
    for (const region of regions) expect(new Set(region.map(group)).size).toBe(1)
    expect(regions.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 80 }, (_, i) => i))
  })

  test('shares follow demand, every service keeps the minimum in every region', () => {
    const { matrix, keys } = world(4, 20)
    const { regions, services } = assignServices(
      matrix,
      keys,
      [
        { service: 0, demand: 900 },
        { service: 1, demand: 100 },
        { service: 2, demand: 0 },
      ],
      seed(1),
      { regionSize: 20 },
    )
    for (let r = 0; r < regions.length; r++) {
      expect(services.get(0)?.[r]).toHaveLength(18) // ceil(20 × 0.9)
      expect(services.get(1)?.[r]).toHaveLength(2)
      expect(services.get(2)?.[r]).toHaveLength(2) // the minimum
      for (const s of [0, 1, 2])
        for (const node of services.get(s)?.[r] ?? []) expect(regions[r]).toContain(node)
    }
  })

  test('the same inputs give the same assignment; another seed shuffles it', () => {
    const { matrix, keys } = world(2, 40)
    const demands = [
      { service: 0, demand: 1 },
      { service: 1, demand: 3 },
    ]
    const a = assignServices(matrix, keys, demands, seed(1), { regionSize: 40, minPerRegion: 4 })
    const b = assignServices(matrix, keys, demands, seed(1), { regionSize: 40, minPerRegion: 4 })
    const c = assignServices(matrix, keys, demands, seed(2), { regionSize: 40, minPerRegion: 4 })
    expect(b).toEqual(a)
    expect(c.services.get(0)).not.toEqual(a.services.get(0))
  })

  test('a service that grows keeps its nodes and gains others', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 50 }), fc.integer({ min: 1, max: 50 }), (d, more) => {
        const { matrix, keys } = world(1, 30)
        const before = assignServices(
          matrix,
          keys,
          [
            { service: 7, demand: d },
            { service: 8, demand: 50 },
          ],
          seed(3),
        )
        const after = assignServices(
          matrix,
          keys,
          [
            { service: 7, demand: d + more },
            { service: 8, demand: 50 },
          ],
          seed(3),
        )
        const was = before.services.get(7)?.[0] ?? []
        const now = after.services.get(7)?.[0] ?? []
        expect(now.length).toBeGreaterThanOrEqual(was.length)
        for (const node of was) expect(now).toContain(node)
      }),
      { numRuns: 50 },
    )
  })

  test('bad input is ROUTING_INVALID_ARGUMENT', () => {
    const { matrix, keys } = world(1, 4)
    for (const bad of [
      () => assignServices(matrix, keys.slice(1), [], seed(1)),
      () => assignServices(matrix, keys, [], new Uint8Array(0)),
      () => assignServices(matrix, keys, [{ service: -1, demand: 1 }], seed(1)),
      () =>
        assignServices(
          matrix,
          keys,
          [
            { service: 1, demand: 1 },
            { service: 1, demand: 2 },
          ],
          seed(1),
        ),
      () => assignServices(matrix, keys, [{ service: 1, demand: Number.NaN }], seed(1)),
      () => assignServices(matrix, keys, [], seed(1), { regionSize: 0 }),
    ]) {
      const error = (() => {
        try {
          bad()
        } catch (e) {
          return e
        }
        return undefined
      })()
      expect(error).toBeInstanceOf(RoutingError)
      expect((error as RoutingError).code).toBe('ROUTING_INVALID_ARGUMENT')
    }
  })
})
