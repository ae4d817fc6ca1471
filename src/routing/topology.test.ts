import { blake3 } from '@noble/hashes/blake3.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { RoutingError } from './errors.ts'
import {
  balancedAssignment,
  buildTopology,
  completeLatencies,
  DEFAULT_TARGET_CLUSTER_SIZE,
  denseLatencyMatrix,
  type LatencyMatrix,
  SeededRandom,
} from './topology.ts'

const SEED = new TextEncoder().encode('epoch 7 randomness')

/** Small deterministic generator for fixtures (mulberry32), so fixtures are the same each run. */
function fixtureRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/**
 * n nodes in `groups` regions far apart on a plane (region centres 10,000 km apart, nodes within
 * 500 km of theirs); latency 10 µs per km plus 1 ms, both directions measured with jitter.
 */
function geographic(n: number, groups: number, seed = 1, missing = 0) {
  const random = fixtureRandom(seed)
  const group = Array.from({ length: n }, (_, i) => i % groups)
  const x = group.map((g) => Math.cos((2 * Math.PI * g) / groups) * 10_000 + random() * 500)
  const y = group.map((g) => Math.sin((2 * Math.PI * g) / groups) * 10_000 + random() * 500)
  const entries: { from: number; to: number; latencyUs: number }[] = []
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      if (random() < missing) continue
      const us = 1000 + Math.hypot(x[i]! - x[j]!, y[i]! - y[j]!) * 10
      entries.push({ from: i, to: j, latencyUs: us * (0.95 + random() * 0.1) })
      entries.push({ from: j, to: i, latencyUs: us * (0.95 + random() * 0.1) })
    }
  return { matrix: denseLatencyMatrix(n, entries), group }
}

/** The graph invariants every topology keeps. */
function expectWellFormed(out: readonly (readonly number[])[], n: number) {
  expect(out).toHaveLength(n)
  out.forEach((list, i) => {
    for (let x = 0; x < list.length; x++) {
      const j = list[x]!
      expect(Number.isInteger(j) && j >= 0 && j < n && j !== i).toBe(true)
      if (x > 0) expect(j).toBeGreaterThan(list[x - 1]!)
      expect(out[j]).toContain(i)
    }
    if (n >= 2) expect(list.length).toBeGreaterThanOrEqual(1)
  })
}

function isConnected(out: readonly (readonly number[])[]): boolean {
  const seen = new Uint8Array(out.length)
  const stack = [0]
  seen[0] = 1
  let count = 1
  while (stack.length > 0)
    for (const j of out[stack.pop()!]!)
      if (!seen[j]) {
        seen[j] = 1
        count++
        stack.push(j)
      }
  return count === out.length
}

function sameGroupShare(out: readonly (readonly number[])[], group: readonly number[]) {
  let same = 0
  let all = 0
  out.forEach((list, i) => {
    for (const j of list) {
      all++
      if (group[i] === group[j]) same++
    }
  })
  return same / all
}

function matrixOf(size: number, latency: (i: number, j: number) => number | undefined) {
  return { size, latency } satisfies LatencyMatrix
}

function expectRoutingError(run: () => unknown, field: string) {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(RoutingError)
    expect((error as RoutingError).code).toBe('ROUTING_INVALID_ARGUMENT')
    expect((error as RoutingError).details?.field).toBe(field)
    return
  }
  expect.unreachable(`expected a RoutingError on ${field}`)
}

describe('buildTopology', () => {
  it('is a function of its inputs: same seed, same graph; another seed, another graph', () => {
    const { matrix } = geographic(200, 5)
    const a = buildTopology(matrix, SEED)
    expect(buildTopology(matrix, Uint8Array.from(SEED))).toEqual(a)
    const others = [1, 2, 3].map((i) => buildTopology(matrix, new Uint8Array([i])))
    expect(others.some((o) => JSON.stringify(o) !== JSON.stringify(a))).toBe(true)
  })

  it('gives the same graph on every machine (pinned digest of an integer-only fixture)', () => {
    // Integer coordinates and Manhattan distances: no Math.cos or hypot whose last bit could
    // differ between engines; a fifth of the pairs unmeasured.
    const random = fixtureRandom(19)
    const n = 120
    const x = Array.from({ length: n }, (_, i) => (i % 3) * 40_000 + Math.floor(random() * 3000))
    const y = Array.from({ length: n }, () => Math.floor(random() * 3000))
    const entries: { from: number; to: number; latencyUs: number }[] = []
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++)
        if (random() >= 0.2)
          entries.push({
            from: i,
            to: j,
            latencyUs: 500 + Math.abs(x[i]! - x[j]!) + Math.abs(y[i]! - y[j]!),
          })
    const out = buildTopology(denseLatencyMatrix(n, entries), SEED)
    expectWellFormed(out, n)
    expect(bytesToHex(blake3(new TextEncoder().encode(JSON.stringify(out))))).toBe(
      'febfaabd47a30af674b8a0ad20df7e4057ea630e818b28fdfff795081e091e62',
    )
  })

  it('keeps its invariants on any latencies, seed and parameters (fast-check)', () => {
    const input = fc.record({
      n: fc.integer({ min: 1, max: 70 }),
      seed: fc.uint8Array({ minLength: 1, maxLength: 40 }),
      latencySeed: fc.integer(),
      missing: fc.double({ min: 0, max: 1, noNaN: true }),
      targetClusterSize: fc.integer({ min: 2, max: 12 }),
      fullMeshBelow: fc.integer({ min: 0, max: 20 }),
      crossLinks: fc.integer({ min: 1, max: 5 }),
    })
    fc.assert(
      fc.property(input, ({ n, seed, latencySeed, missing, ...params }) => {
        const random = fixtureRandom(latencySeed)
        const table = Array.from({ length: n * n }, () =>
          random() < missing ? undefined : Math.floor(random() * 300_000),
        )
        const matrix = matrixOf(n, (i, j) => table[i * n + j])
        const out = buildTopology(matrix, seed, params)
        expectWellFormed(out, n)
        expect(isConnected(out)).toBe(true)
        expect(buildTopology(matrix, seed, params)).toEqual(out)
      }),
      { numRuns: 60 },
    )
  })

  it('is a full mesh below fullMeshBelow (16), and not at 16', () => {
    for (let n = 1; n < 16; n++) {
      const out = buildTopology(geographic(n, 3).matrix, SEED)
      out.forEach((list, i) => {
        expect(list).toEqual(Array.from({ length: n }, (_, j) => j).filter((j) => j !== i))
      })
    }
    const at16 = buildTopology(geographic(16, 2).matrix, SEED)
    expectWellFormed(at16, 16)
    expect(Math.max(...at16.map((l) => l.length))).toBeLessThan(15)
    const lowered = buildTopology(geographic(12, 3).matrix, SEED, {
      fullMeshBelow: 4,
      targetClusterSize: 4,
    })
    expect(Math.max(...lowered.map((l) => l.length))).toBeLessThan(11)
  })

  it('clusters by geography: most connections stay within a region', () => {
    const { matrix, group } = geographic(300, 5, 2)
    const out = buildTopology(matrix, SEED)
    expectWellFormed(out, 300)
    expect(isConnected(out)).toBe(true)
    expect(sameGroupShare(out, group)).toBeGreaterThan(0.75)
  })

  it('makes more bridges with more crossLinks, smaller clusters with a smaller target', () => {
    const { matrix } = geographic(300, 5, 7)
    const meanDegree = (params: Parameters<typeof buildTopology>[2]) => {
      const out = buildTopology(matrix, SEED, params)
      expectWellFormed(out, 300)
      expect(isConnected(out)).toBe(true)
      return out.reduce((sum, l) => sum + l.length, 0) / 300
    }
    expect(meanDegree({ crossLinks: 1 })).toBeLessThan(meanDegree({ crossLinks: 4 }))
    expect(meanDegree({ targetClusterSize: 4 })).toBeLessThan(meanDegree({}))
  })

  it('1,000 nodes: bounded degree, connected, geographic (prints the time it took)', () => {
    const { matrix, group } = geographic(1000, 5, 3)
    const started = performance.now()
    const out = buildTopology(matrix, SEED)
    const ms = performance.now() - started
    expectWellFormed(out, 1000)
    expect(isConnected(out)).toBe(true)
    const degrees = out.map((l) => l.length)
    const max = Math.max(...degrees)
    const mean = degrees.reduce((a, b) => a + b, 0) / degrees.length
    const share = sameGroupShare(out, group)
    console.log(
      `buildTopology 1,000 nodes: ${ms.toFixed(0)} ms; degree min ${Math.min(...degrees)}, ` +
        `mean ${mean.toFixed(1)}, max ${max}; ${(share * 100).toFixed(1)} % within a region`,
    )
    // A last cluster holds at most 2 × 8 − 1 nodes; a node bridges at most twice per split.
    expect(max).toBeLessThanOrEqual(2 * DEFAULT_TARGET_CLUSTER_SIZE - 2 + 2 * 4)
    expect(mean).toBeLessThan(20)
    expect(share).toBeGreaterThan(0.75)
  })

  it('takes missing latencies: half missing, or none measured at all', () => {
    const { matrix, group } = geographic(200, 4, 4, 0.5)
    const out = buildTopology(matrix, SEED)
    expectWellFormed(out, 200)
    expect(isConnected(out)).toBe(true)
    expect(sameGroupShare(out, group)).toBeGreaterThan(0.6)
    const blind = buildTopology(
      matrixOf(50, () => undefined),
      SEED,
    )
    expectWellFormed(blind, 50)
    expect(isConnected(blind)).toBe(true)
  })

  it('stays geographic when each node measured only its nearest few and a few at random', () => {
    const { matrix, group } = geographic(300, 5, 5)
    const random = fixtureRandom(6)
    const entries: { from: number; to: number; latencyUs: number }[] = []
    for (let i = 0; i < 300; i++) {
      const others = Array.from({ length: 300 }, (_, j) => j).filter((j) => j !== i)
      others.sort((a, b) => matrix.latency(i, a)! - matrix.latency(i, b)!)
      for (const j of others.slice(0, 10))
        entries.push({ from: i, to: j, latencyUs: matrix.latency(i, j)! })
      for (let r = 0; r < 4; r++) {
        const j = others[Math.floor(random() * others.length)]!
        entries.push({ from: i, to: j, latencyUs: matrix.latency(i, j)! })
      }
    }
    const out = buildTopology(denseLatencyMatrix(300, entries), SEED)
    expectWellFormed(out, 300)
    expect(isConnected(out)).toBe(true)
    // A few per cent of pairs measured; a random graph would keep 20 % within a region.
    expect(sameGroupShare(out, group)).toBeGreaterThan(0.6)
  })

  it('refuses bad input with a RoutingError', () => {
    const ok = geographic(20, 2).matrix
    expectRoutingError(
      () =>
        buildTopology(
          matrixOf(0, () => 1),
          SEED,
        ),
      'size',
    )
    expectRoutingError(
      () =>
        buildTopology(
          matrixOf(2.5, () => 1),
          SEED,
        ),
      'size',
    )
    expectRoutingError(() => buildTopology(ok, new Uint8Array()), 'seed')
    for (const bad of [Number.NaN, -1, Number.POSITIVE_INFINITY])
      expectRoutingError(
        () =>
          buildTopology(
            matrixOf(20, () => bad),
            SEED,
          ),
        'latency',
      )
    expectRoutingError(() => buildTopology(ok, SEED, { targetClusterSize: 1 }), 'targetClusterSize')
    expectRoutingError(() => buildTopology(ok, SEED, { crossLinks: 0 }), 'crossLinks')
    expectRoutingError(() => buildTopology(ok, SEED, { fullMeshBelow: 1.5 }), 'fullMeshBelow')
    expectRoutingError(() => denseLatencyMatrix(0, []), 'size')
    expectRoutingError(() => denseLatencyMatrix(3, [{ from: 0, to: 3, latencyUs: 1 }]), 'entries')
    expectRoutingError(() => denseLatencyMatrix(3, [{ from: 1, to: 1, latencyUs: 1 }]), 'entries')
    expectRoutingError(
      () => denseLatencyMatrix(3, [{ from: 0, to: 1, latencyUs: Number.NaN }]),
      'latency',
    )
    expectRoutingError(() => denseLatencyMatrix(3, []).latency(0, 3), 'index')
  })
})

describe('latency matrices', () => {
  it('denseLatencyMatrix averages every measurement of a pair, both directions', () => {
    const m = denseLatencyMatrix(3, [
      { from: 0, to: 1, latencyUs: 100 },
      { from: 1, to: 0, latencyUs: 300 },
      { from: 1, to: 0, latencyUs: 200 },
      { from: 2, to: 1, latencyUs: 50 },
    ])
    expect([m.latency(0, 1), m.latency(1, 0)]).toEqual([200, 200])
    expect([m.latency(1, 2), m.latency(2, 1)]).toEqual([50, 50])
    expect([m.latency(0, 2), m.latency(2, 0), m.latency(1, 1)]).toEqual([undefined, undefined, 0])
  })

  it('estimates an unmeasured pair through relays: the middle of the triangle bounds', () => {
    // 2–3 unmeasured; 0 and 1 measured both: 800 ≤ d(2, 3) ≤ 1000 through 0, 799.6 ≤ d ≤ 1000.4
    // through 1 (measurements are rounded to whole µs first: 100 and 900 either way).
    const known: Record<string, number> = { '0,1': 100, '0,2': 100, '1,2': 100.4 }
    known['0,3'] = 900
    known['1,3'] = 900
    const m = matrixOf(4, (i, j) => known[`${Math.min(i, j)},${Math.max(i, j)}`])
    const d = completeLatencies(m, 4)
    expect(d[1 * 4 + 2]).toBe(100)
    expect([d[2 * 4 + 3], d[3 * 4 + 2]]).toEqual([900, 900])
  })

  it('falls back to the two nodes’ mean latencies where no relay knows both', () => {
    // Two pairs that never measured each other: mean(0) = mean(1) = 100, mean(2) = mean(3) = 900.
    const known: Record<string, number> = { '0,1': 100, '2,3': 900 }
    const d = completeLatencies(
      matrixOf(4, (i, j) => known[`${Math.min(i, j)},${Math.max(i, j)}`]),
      4,
    )
    expect([d[0 * 4 + 2], d[1 * 4 + 3], d[3 * 4 + 0]]).toEqual([500, 500, 500])
    expect(
      completeLatencies(
        matrixOf(3, () => undefined),
        3,
      ),
    ).toEqual(Float64Array.from([0, 1, 1, 1, 0, 1, 1, 1, 0]))
  })
})

describe('balancedAssignment', () => {
  /** The least cost over every labelling with all sizes ⌊m/k⌋ or ⌈m/k⌉ (brute force). */
  function bruteForce(cost: Float64Array, m: number, k: number): number {
    const floor = Math.floor(m / k)
    let best = Number.POSITIVE_INFINITY
    const labels = new Int32Array(m)
    const walk = (q: number, sum: number) => {
      if (q === m) {
        const sizes = new Int32Array(k)
        for (const l of labels) sizes[l]!++
        if (sizes.every((s) => s === floor || s === floor + 1)) best = Math.min(best, sum)
        return
      }
      for (let c = 0; c < k; c++) {
        labels[q] = c
        walk(q + 1, sum + cost[q * k + c]!)
      }
    }
    walk(0, 0)
    return best
  }

  it('is balanced and as cheap as the best balanced labelling (fast-check, brute force)', () => {
    const input = fc
      .record({ k: fc.integer({ min: 2, max: 4 }), m: fc.integer({ min: 2, max: 8 }) })
      .filter(({ k, m }) => m >= k)
      .chain(({ k, m }) =>
        fc.record({
          k: fc.constant(k),
          m: fc.constant(m),
          cost: fc.array(fc.integer({ min: 0, max: 50 }), { minLength: m * k, maxLength: m * k }),
        }),
      )
    fc.assert(
      fc.property(input, ({ k, m, cost }) => {
        const c = Float64Array.from(cost)
        const labels = balancedAssignment(c, m, k)
        const sizes = new Int32Array(k)
        let total = 0
        labels.forEach((l, q) => {
          sizes[l]!++
          total += c[q * k + l]!
        })
        const floor = Math.floor(m / k)
        expect([...sizes].every((s) => s === floor || s === floor + 1)).toBe(true)
        expect(total).toBe(bruteForce(c, m, k))
      }),
      { numRuns: 300 },
    )
  })
})

describe('SeededRandom', () => {
  it('is BLAKE3 in counter mode: a fixed stream per seed', () => {
    const a = new SeededRandom(SEED)
    const b = new SeededRandom(Uint8Array.from(SEED))
    const first = Array.from({ length: 20 }, () => a.nextUint32())
    expect(first.slice(0, 4)).toEqual([1707992925, 886085581, 1596782990, 2353306986])
    expect(Array.from({ length: 20 }, () => b.nextUint32())).toEqual(first)
    expect(new SeededRandom(new Uint8Array([1])).nextUint32()).not.toBe(first[0])
    const c = new SeededRandom(SEED)
    for (let i = 0; i < 1000; i++) {
      const x = c.below(7)
      expect(Number.isInteger(x) && x >= 0 && x < 7).toBe(true)
      const f = c.nextFloat()
      expect(f >= 0 && f < 1).toBe(true)
    }
  })
})
