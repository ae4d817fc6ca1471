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
  test('four honest members commit the same sequence, and it grows', async () => {
    const result = await simulate({ seed: 1, size: 4, durationMs: 3_000 })
    expectSafety(result)
    expect(result.rounds).toBeGreaterThan(10)
    for (const s of result.sequences) expect(s.length).toBeGreaterThan(20)
    // Only late votes: the fourth vote for a header that three already certified.
    expect(
      Object.keys(result.refusals).every((r) => r.startsWith('vote: not for our current header')),
    ).toBe(true)
  })

  test('the same seed replays the same run exactly', async () => {
    const a = await simulate({ seed: 42, size: 4, durationMs: 1_500 })
    const b = await simulate({ seed: 42, size: 4, durationMs: 1_500 })
    expect(b).toEqual(a)
  })

  test('over many seeds, delays and a slow member: safety always, progress always', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(4, 7),
        fc.integer({ min: 1, max: 80 }),
        async (seed, size, maxDelayMs) => {
          const result = await simulate({
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

  test('a partition that heals: safety throughout, the committee commits again after it', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const during = await simulate({
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
        const after = await simulate({
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

  test('one member paused (f = 1 of 4): the others keep committing, safely; it catches up', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.nat({ max: 3 }),
        async (seed, member) => {
          const result = await simulate({
            seed,
            size: 4,
            durationMs: 2_500,
            crashes: [{ member, fromMs: 200, toMs: 1_500 }],
          })
          expectSafety(result)
          const paused = await simulate({
            seed,
            size: 4,
            durationMs: 1_500,
            crashes: [{ member, fromMs: 200, toMs: 1_500 }],
          })
          const early = await simulate({ seed, size: 4, durationMs: 200 })
          for (let m = 0; m < 4; m++) {
            // The others commit while it is paused; it commits again once it resumes.
            if (m !== member) {
              expect(paused.sequences[m]!.length).toBeGreaterThan(early.sequences[m]!.length)
            }
            expect(result.sequences[m]!.length).toBeGreaterThan(paused.sequences[m]!.length)
          }
        },
      ),
      { numRuns: 10 },
    )
  })

  test('an equivocating author: safety holds, the others commit, the evidence is reported', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(4, 7),
        async (seed, size) => {
          const result = await simulate({ seed, size, durationMs: 2_000, equivocator: seed % size })
          expectSafety(result)
          expect(result.equivocations).toBeGreaterThan(0)
          for (const s of result.sequences) expect(s.length).toBeGreaterThan(0)
        },
      ),
      { numRuns: 10 },
    )
  })
})

describe('a simulated committee with restarts and conflicting votes', () => {
  test('a member crashes, loses its memory and restarts from its store: safe across the restart, and it commits again', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(4, 7),
        fc.integer({ min: 100, max: 900 }),
        async (seed, size, fromMs) => {
          const member = seed % size
          const result = await simulate({
            seed,
            size,
            durationMs: 3_000,
            crashes: [{ member, fromMs, toMs: fromMs + 600, restart: true }],
          })
          // Its sequence runs on across the restart: still a prefix of the others', nothing
          // committed twice (a Bullshark started afresh would hand out the old leaders again).
          expectSafety(result)
          expect(result.conflictingCertificates).toBe(0)
          // Killed between any two of its actions, it still never signs two headers of a round
          // or two votes of a slot: it wrote each before sending it.
          expect(result.honestConflicts).toBe(0)
          expect(result.restarts).toHaveLength(1)
          const [restart] = result.restarts
          expect(restart!.member).toBe(member)
          expect(result.sequences[member]!.length).toBeGreaterThan(restart!.committed)
          // The others did not wait for it.
          for (let m = 0; m < size; m++) {
            if (m !== member)
              expect(result.sequences[m]!.length).toBeGreaterThan(restart!.committed)
          }
        },
      ),
      { numRuns: 10 },
    )
  })

  test('killed again and again between what it writes and what it sends: it never signs twice', async () => {
    for (let seed = 1; seed <= 6; seed++) {
      const result = await simulate({
        seed,
        size: 4,
        durationMs: 3_000,
        crashes: [0, 1, 2, 3, 4].map((k) => ({
          member: 1,
          fromMs: 200 + 500 * k,
          toMs: 300 + 500 * k,
          restart: true,
        })),
      })
      expectSafety(result)
      // A header or vote sent before it was written would be signed again differently after the
      // restart (4 of these 6 seeds do when records are written after the sends).
      expect(result.honestConflicts).toBe(0)
      expect(result.refusals['header: voted for another header']).toBeUndefined()
      expect(result.restarts).toHaveLength(5)
      expect(result.sequences[1]!.length).toBeGreaterThan(result.restarts[4]!.committed)
    }
  })

  test('restarts amid an equivocating author (7 members): the restarted voters never vote for its twin too', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 ** 31 - 1 }), async (seed) => {
        const equivocator = seed % 7
        const result = await simulate({
          seed,
          size: 7,
          durationMs: 3_000,
          equivocator,
          // The member that gets both of its headers, killed and restarted again and again.
          crashes: [0, 1, 2, 3, 4].flatMap((k) => [
            {
              member: equivocator <= 3 ? 4 : 3,
              fromMs: 200 + 500 * k,
              toMs: 300 + 500 * k,
              restart: true,
            },
          ]),
        })
        expectSafety(result)
        expect(result.conflictingCertificates).toBe(0)
        expect(result.honestConflicts).toBe(0)
        expect(result.restarts).toHaveLength(5)
      }),
      { numRuns: 6 },
    )
  })

  test('a restart after garbage collection: the pruned store recovers above its floor', async () => {
    for (const seed of [3, 4]) {
      // gcDepth 10: by 4 s the stores were pruned many times (about 10 rounds a second here).
      const result = await simulate({
        seed,
        size: 4,
        durationMs: 6_000,
        gcDepth: 10,
        crashes: [{ member: 1, fromMs: 4_000, toMs: 4_300, restart: true }],
      })
      expectSafety(result)
      expect(result.rounds).toBeGreaterThan(40)
      expect(result.sequences[1]!.length).toBeGreaterThan(result.restarts[0]!.committed)
    }
  })

  test('two members of 7 restart, one of them twice', async () => {
    const result = await simulate({
      seed: 11,
      size: 7,
      durationMs: 4_000,
      crashes: [
        { member: 2, fromMs: 300, toMs: 800, restart: true },
        { member: 5, fromMs: 500, toMs: 1_200, restart: true },
        { member: 2, fromMs: 1_800, toMs: 2_100, restart: true },
      ],
    })
    expectSafety(result)
    expect(result.restarts.map((r) => r.member)).toEqual([2, 5, 2])
    expect(result.sequences[2]!.length).toBeGreaterThan(result.restarts[2]!.committed)
    expect(result.sequences[5]!.length).toBeGreaterThan(result.restarts[1]!.committed)
  })

  test('an equivocating author and a voter that votes for both of its headers: never two certificates of one slot', async () => {
    let twins = 0
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(4, 7),
        async (seed, size) => {
          const equivocator = seed % size
          // f = 1 of 4: the equivocator votes for its twins itself; f = 2 of 7: another member too.
          const doubleVoter = size === 4 ? equivocator : (equivocator + 3) % size
          const result = await simulate({ seed, size, durationMs: 2_000, equivocator, doubleVoter })
          expectSafety(result)
          expect(result.conflictingCertificates).toBe(0)
          for (const s of result.sequences) expect(s.length).toBeGreaterThan(0)
          twins += result.twinCertificates
        },
      ),
      { numRuns: 10 },
    )
    // The adversary is real: some twins gather a quorum (in place of their original).
    expect(twins).toBeGreaterThan(0)
  })

  test('more faults than f: the checks see two certificates of one slot', async () => {
    // An equivocator and a separate double voter in 4 members (2 > f = 1): quorum intersection
    // no longer holds, and the simulator must be able to show it.
    let conflicting = 0
    for (let seed = 1; seed <= 10 && conflicting === 0; seed++) {
      const result = await simulate({
        seed,
        size: 4,
        durationMs: 2_000,
        equivocator: 0,
        doubleVoter: 2,
      })
      conflicting += result.conflictingCertificates
    }
    expect(conflicting).toBeGreaterThan(0)
  })
})
