/**
 * The consensus benchmark's harness, for real: four committee processes
 * (consensus-bench-node.ts) on loopback libp2p order transactions for a few seconds; every
 * process has committed the same sequence, up to where each stopped. No timing is asserted.
 */
import { describe, expect, test } from 'vitest'
import { startProcessCommittee } from './consensus-bench-cluster.ts'

/** Whether `a` and `b` agree on their common length. */
function prefixes(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false
  return true
}

describe('consensus bench committee', () => {
  test('4 processes commit one sequence (each a prefix of the longest)', async () => {
    const committee = await startProcessCommittee({
      size: 4,
      ratePerSecond: 200,
      recordSequence: true,
    })
    // Until every member has committed some of its own transactions (each then holds every
    // author's), or two minutes; what is compared is what they committed by the stop.
    const deadline = Date.now() + 120_000
    const committedOwn = () =>
      new Set(committee.reports.filter((r) => r.latenciesMs.length > 0).map((r) => r.member))
    while (committedOwn().size < 4 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200))
    }
    const sequences = await committee.stop()
    expect([...sequences.keys()].sort()).toEqual([0, 1, 2, 3])
    const all = [...sequences.values()]
    const longest = all.reduce((a, b) => (a.length >= b.length ? a : b))
    for (const s of all) {
      expect(s.length).toBeGreaterThan(0)
      expect(prefixes(s, longest)).toBe(true)
    }
    // Every member's transactions are in it, and none twice.
    expect(new Set(longest).size).toBe(longest.length)
    expect(new Set(longest.map((id) => id.slice(0, 2)))).toEqual(new Set(['00', '01', '02', '03']))
  }, 240_000)
})
