import { describe, expect, it } from 'vitest'
import { Prng } from '../devnet/fuzz-random.ts'
import { PeerSummaries, PopularContent, type SummarySnapshot } from './content-summary.ts'
import { decodeCuckooFilter, encodeCuckooFilter } from './cuckoo-filter.ts'
import { rootOf, rootsOf } from './testing/roots.ts'

/** A seeded stream of uniform numbers in [0, 1), so every run sees the same. */
const seeded = (seed: number) => {
  const prng = new Prng(seed)
  return () => prng.float()
}

/** Indices 0..n−1 drawn with probability ∝ 1/(i+1)^s: content popularity on a CDN. */
function zipf(n: number, s: number, random: () => number): () => number {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / (i + 1) ** s
  return () => {
    const target = random() * sum
    let low = 0
    let high = n - 1
    while (low < high) {
      const mid = (low + high) >> 1
      if (cdf[mid]! < target) low = mid + 1
      else high = mid
    }
    return low
  }
}

describe('PopularContent', () => {
  it('keeps the most requested roots in the filter, in bounded memory', () => {
    const roots = rootsOf(20_000)
    const draw = zipf(roots.length, 1, seeded(1))
    const popular = new PopularContent({ capacity: 500 })
    const requests = new Map<number, number>()
    for (let n = 0; n < 100_000; n++) {
      const i = draw()
      requests.set(i, (requests.get(i) ?? 0) + 1)
      popular.recordRequest(roots[i]!)
      expect(popular.tracked).toBeLessThanOrEqual(5 * 500)
    }
    expect(popular.size).toBe(500)
    const top = [...requests].sort((a, b) => b[1] - a[1]).map(([i]) => i)
    const kept = (k: number) => top.slice(0, k).filter((i) => popular.has(roots[i]!)).length
    console.log(
      `popular content: capacity 500, 100,000 Zipf requests over 20,000 roots: filter holds ` +
        `${kept(100)} of the top 100, ${kept(250)} of the top 250, ${kept(500)} of the top 500`,
    )
    expect(kept(100)).toBe(100)
    expect(kept(250)).toBeGreaterThanOrEqual(240)
    // What it shares answers for every root it keeps.
    const shared = decodeCuckooFilter(popular.takeSnapshot(0).bytes)
    expect(shared.size).toBe(500)
    for (const i of top.slice(0, 500))
      if (popular.has(roots[i]!)) expect(shared.has(roots[i]!)).toBe(true)
  })

  it('shares far less often than its filter changes (threshold and interval)', () => {
    const roots = rootsOf(50_000)
    const capacity = 1_000
    for (const minShareIntervalMs of [0, 5_000]) {
      const draw = zipf(roots.length, 1, seeded(2))
      const popular = new PopularContent({ capacity, shareThreshold: 0.1, minShareIntervalMs })
      const requests = 300_000
      let inserts = 0
      let shares = 0
      let sharedBytes = 0
      let snapshotBytes = 0
      for (let n = 0; n < requests; n++) {
        const nowMs = n * 10 // 100 requests a second: 50 minutes
        const root = roots[draw()]!
        const before = popular.has(root)
        popular.recordRequest(root)
        if (!before && popular.has(root)) inserts++
        if (popular.shouldShare(nowMs)) {
          const snapshot = popular.takeSnapshot(nowMs)
          expect(snapshot.seq).toBe(++shares)
          sharedBytes += snapshot.bytes.length
          snapshotBytes = snapshot.bytes.length
        }
      }
      const everyInsertBytes = inserts * snapshotBytes
      console.log(
        `popular content: capacity ${capacity}, threshold 10 %, min interval ${minShareIntervalMs} ms, ` +
          `${requests} Zipf requests over ${roots.length} roots: ${inserts} filter inserts, ` +
          `${shares} shares (${sharedBytes} bytes to each peer; a share per insert: ${everyInsertBytes})`,
      )
      expect(shares * 20).toBeLessThan(inserts)
    }
  })

  it('sends nothing while the popular set stays the same', () => {
    const roots = rootsOf(100)
    const popular = new PopularContent({ capacity: 100, minShareIntervalMs: 0 })
    let shares = 0
    for (let n = 0; n < 50_000; n++) {
      popular.recordRequest(roots[n % 100]!)
      if (popular.shouldShare(n)) {
        popular.takeSnapshot(n)
        shares++
      }
    }
    // One share for each 10 roots that came in (threshold 10 % of 100), then none.
    expect(shares).toBe(10)
  })

  it('waits for the threshold and the minimum interval, and numbers its snapshots', () => {
    const roots = rootsOf(100)
    const popular = new PopularContent({
      capacity: 100,
      shareThreshold: 0.2,
      minShareIntervalMs: 5_000,
    })
    for (const root of roots.slice(0, 19)) popular.recordRequest(root)
    expect(popular.shouldShare(0)).toBe(false) // 19 changes of the 20 needed
    popular.recordRequest(roots[19]!)
    expect(popular.shouldShare(0)).toBe(true) // never shared: no interval to wait
    const first = popular.takeSnapshot(0)
    expect(first.seq).toBe(1)
    expect(popular.shouldShare(10_000)).toBe(false) // the change count started over
    for (const root of roots.slice(20, 40)) popular.recordRequest(root)
    expect(popular.shouldShare(4_999)).toBe(false)
    expect(popular.shouldShare(5_000)).toBe(true)
    const second = popular.takeSnapshot(5_000)
    expect(second.seq).toBe(2)
    expect(decodeCuckooFilter(second.bytes).size).toBe(40)
    // Taken on demand (a new close peer) too: the next number, the same filter.
    const third = popular.takeSnapshot(5_001)
    expect(third.seq).toBe(3)
    expect(third.bytes).toEqual(second.bytes)
  })

  it('lets roots popular once fade: counts halve every epoch', () => {
    const old = rootsOf(10, 1)
    const fresh = rootsOf(10, 2)
    const popular = new PopularContent({ capacity: 10, epochRequests: 100 })
    for (let n = 0; n < 5_000; n++) popular.recordRequest(old[n % 10]!)
    for (let n = 0; n < 500; n++) popular.recordRequest(fresh[n % 10]!)
    expect(fresh.every((root) => popular.has(root))).toBe(true)
    expect(old.some((root) => popular.has(root))).toBe(false)
    // Without decay, 500 requests do not overtake 5,000.
    const steady = new PopularContent({ capacity: 10, epochRequests: 1e9 })
    for (let n = 0; n < 5_000; n++) steady.recordRequest(old[n % 10]!)
    for (let n = 0; n < 500; n++) steady.recordRequest(fresh[n % 10]!)
    expect(old.every((root) => steady.has(root))).toBe(true)
  })

  it('one-off requests do not churn a filter of steadily requested roots', () => {
    const hot = rootsOf(50, 1)
    const popular = new PopularContent({ capacity: 50, minShareIntervalMs: 0 })
    let shares = 0
    for (let n = 0; n < 40_000; n++) {
      // Every other request is for content nobody asks for again.
      popular.recordRequest(n % 2 === 0 ? hot[(n / 2) % 50]! : rootOf(n, 3))
      if (n >= 10_000 && popular.shouldShare(n)) {
        popular.takeSnapshot(n)
        shares++
      }
      if (n === 9_999) popular.takeSnapshot(n)
    }
    expect(hot.every((root) => popular.has(root))).toBe(true)
    expect(shares).toBe(0)
  })

  it('refuses a root that is not 32 bytes, and options out of range', () => {
    const popular = new PopularContent({ capacity: 10 })
    expect(() => popular.recordRequest(new Uint8Array(31))).toThrow(
      expect.objectContaining({ code: 'ROUTING_INVALID_ARGUMENT' }),
    )
    for (const options of [
      { capacity: 0 },
      { capacity: 10, shareThreshold: 0 },
      { capacity: 10, shareThreshold: 1.5 },
      { capacity: 10, minShareIntervalMs: -1 },
      { capacity: 10, epochRequests: 0 },
      { capacity: 10, candidateFactor: 0 },
      { capacity: 10, fingerprintBits: 20 },
    ])
      expect(() => new PopularContent(options)).toThrow(
        expect.objectContaining({ code: 'ROUTING_INVALID_ARGUMENT' }),
      )
  })
})

describe('PeerSummaries', () => {
  function snapshotOf(roots: readonly Uint8Array[], seq: number): SummarySnapshot {
    const popular = new PopularContent({ capacity: Math.max(1, roots.length) })
    for (const root of roots) popular.recordRequest(root)
    return { seq, bytes: popular.takeSnapshot(0).bytes }
  }

  it('answers which peers hold a root', () => {
    const a = rootsOf(200, 1)
    const b = rootsOf(200, 2)
    const summaries = new PeerSummaries()
    expect(summaries.update('peer-a', snapshotOf(a, 1))).toBe(true)
    expect(summaries.update('peer-b', snapshotOf([...b, a[0]!], 1))).toBe(true)
    expect(summaries.size).toBe(2)
    expect(summaries.holders(a[0]!)).toEqual(['peer-a', 'peer-b'])
    expect(summaries.holders(a[1]!)).toEqual(['peer-a'])
    expect(summaries.holders(b[1]!)).toEqual(['peer-b'])
    let strays = 0
    for (const root of rootsOf(10_000, 3)) strays += summaries.holders(root).length
    console.log(`peer summaries: 2 peers of 200 roots, 10,000 other roots: ${strays} false holders`)
    expect(strays).toBeLessThan(50)
    expect(summaries.remove('peer-a')).toBe(true)
    expect(summaries.holders(a[0]!)).toEqual(['peer-b'])
  })

  it('keeps the newest summary: a late older one does not replace it', () => {
    const summaries = new PeerSummaries()
    const older = snapshotOf(rootsOf(50, 1), 4)
    const newer = snapshotOf(rootsOf(50, 2), 5)
    expect(summaries.update('peer', newer)).toBe(true)
    expect(summaries.update('peer', older)).toBe(false)
    expect(summaries.update('peer', newer)).toBe(false) // a duplicate
    expect(summaries.holders(rootOf(0, 2))).toEqual(['peer'])
    expect(summaries.holders(rootOf(0, 1))).toEqual([])
    // After the peer is forgotten (disconnected, restarted), its next summary is taken.
    summaries.remove('peer')
    expect(summaries.update('peer', snapshotOf(rootsOf(50, 1), 1))).toBe(true)
    expect(summaries.holders(rootOf(0, 1))).toEqual(['peer'])
  })

  it('refuses a malformed summary with a typed error and keeps the one it held', () => {
    const summaries = new PeerSummaries()
    const good = snapshotOf(rootsOf(50, 1), 1)
    summaries.update('peer', good)
    const truncated = { seq: 2, bytes: good.bytes.subarray(0, 20) }
    expect(() => summaries.update('peer', truncated)).toThrow(
      expect.objectContaining({ name: 'RoutingError', code: 'ROUTING_SUMMARY_TRUNCATED' }),
    )
    expect(summaries.holders(rootOf(0, 1))).toEqual(['peer'])
    for (const seq of [-1, 1.5, Number.NaN])
      expect(() => summaries.update('peer', { seq, bytes: good.bytes })).toThrow(
        expect.objectContaining({ code: 'ROUTING_INVALID_ARGUMENT' }),
      )
    // The bytes a peer gets are the encoding itself: equal to a filter built from them.
    expect(encodeCuckooFilter(decodeCuckooFilter(good.bytes))).toEqual(good.bytes)
  })
})
