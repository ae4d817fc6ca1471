import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { type SimulationResult, simulate } from './committee-simulator.ts'

/** Every member's sequence is a prefix of the longest one: they never disagree. */
function expectSafety(result: SimulationResult): void {
  const longest = result.sequences.reduce((a, b) => (b.length > a.length ? b : a))
  for (const s of result.sequences) expect(s).toEqual(longest.slice(0, s.length))
  for (const s of result.sequences) expect(new Set(s).size).toBe(s.length)
  const longestBatches = result.batches.reduce((a, b) => (b.length > a.length ? b : a))
  expect(new Set(longestBatches).size).toBe(longestBatches.length)
}

describe('a simulated committee', () => {
  test('four honest members commit the same sequence, and it grows', () => {
    const result = simulate({ seed: 1, size: 4, durationMs: 3_000 })
    expectSafety(result)
    expect(result.rounds).toBeGreaterThan(10)
    for (const s of result.sequences) expect(s.length).toBeGreaterThan(20)
    // Only late votes: the fourth vote for a header that three already certified.
    expect(
      Object.keys(result.refusals).every((r) => r.startsWith('vote: not for our current header')),
    ).toBe(true)
  })

  test('the same seed replays the same run exactly', () => {
    const a = simulate({ seed: 42, size: 4, durationMs: 1_500 })
    const b = simulate({ seed: 42, size: 4, durationMs: 1_500 })
    expect(b).toEqual(a)
  })

  test('over many seeds, delays and a slow member: safety always, progress always', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(4, 7),
        fc.integer({ min: 1, max: 80 }),
        (seed, size, maxDelayMs) => {
          const result = simulate({
            seed,
            size,
            // Long enough for the slow member's links (maxDelay + 100 ms each way) to commit too:
            // at 1.5 s flat, 2 seeds in 1,000 of a sweep left it without a commit yet.
            durationMs: 1_500 + 25 * (maxDelayMs + 100),
            maxDelayMs,
            minDelayMs: 1,
            slow: { member: seed % size, extraMs: 100 },
          })
          expectSafety(result)
          for (const s of result.sequences) expect(s.length).toBeGreaterThan(0)
        },
      ),
      { numRuns: 25 },
    )
  })

  test('a partition that heals: safety throughout, the committee commits again after it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), (seed) => {
        const during = simulate({
          seed,
          size: 4,
          durationMs: 1_000,
          partition: {
            fromMs: 300,
            toMs: 1_000,
            groups: [
              [0, 1],
              [2, 3],
            ],
          },
        })
        const after = simulate({
          seed,
          size: 4,
          durationMs: 3_000,
          partition: {
            fromMs: 300,
            toMs: 1_000,
            groups: [
              [0, 1],
              [2, 3],
            ],
          },
        })
        expectSafety(after)
        // No side holds a quorum while apart; after the heal every member commits more.
        for (let m = 0; m < 4; m++) {
          expect(after.sequences[m]!.length).toBeGreaterThan(during.sequences[m]!.length)
        }
      }),
      { numRuns: 10 },
    )
  })

  test('one member paused (f = 1 of 4): the others keep committing, safely; it catches up', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.nat({ max: 3 }), (seed, member) => {
        const result = simulate({
          seed,
          size: 4,
          durationMs: 2_500,
          crashes: [{ member, fromMs: 200, toMs: 1_500 }],
        })
        expectSafety(result)
        const paused = simulate({
          seed,
          size: 4,
          durationMs: 1_500,
          crashes: [{ member, fromMs: 200, toMs: 1_500 }],
        })
        const early = simulate({ seed, size: 4, durationMs: 200 })
        for (let m = 0; m < 4; m++) {
          // The others commit while it is paused; it commits again once it resumes.
          if (m !== member) {
            expect(paused.sequences[m]!.length).toBeGreaterThan(early.sequences[m]!.length)
          }
          expect(result.sequences[m]!.length).toBeGreaterThan(paused.sequences[m]!.length)
        }
      }),
      { numRuns: 10 },
    )
  })

  test('an equivocating author: safety holds, the others commit, the evidence is reported', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.constantFrom(4, 7), (seed, size) => {
        const result = simulate({ seed, size, durationMs: 2_000, equivocator: seed % size })
        expectSafety(result)
        expect(result.equivocations).toBeGreaterThan(0)
        for (const s of result.sequences) expect(s.length).toBeGreaterThan(0)
      }),
      { numRuns: 10 },
    )
  })
})
