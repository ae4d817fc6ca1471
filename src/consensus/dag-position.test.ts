import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { PeerRounds, PositionBook, PositionTally } from './dag-position.ts'

const hash = (b: number) => new Uint8Array(32).fill(b)

describe('PositionBook', () => {
  test('keeps the first round recorded for a height (the sub-DAG that made the block)', () => {
    const book = new PositionBook()
    book.record({ height: 5, blockHash: hash(5), committedRound: 12 })
    book.record({ height: 5, blockHash: hash(5), committedRound: 16 })
    expect(book.at(5)?.committedRound).toBe(12)
    expect(book.at(6)).toBeUndefined()
    book.clear()
    expect(book.at(5)).toBeUndefined()
  })

  test('forgets the oldest heights past its limit', () => {
    const book = new PositionBook(3)
    for (let h = 1; h <= 5; h++)
      book.record({ height: h, blockHash: hash(h), committedRound: 2 * h })
    expect([1, 2, 3, 4, 5].map((h) => book.at(h)?.committedRound)).toEqual([
      undefined,
      undefined,
      6,
      8,
      10,
    ])
  })
})

describe('PositionTally', () => {
  const at = (committedRound: number, height = 7, b = 7) => ({
    height,
    blockHash: hash(b),
    committedRound,
  })

  test('decides once f + 1 peers name one round for our head', () => {
    const tally = new PositionTally(2)
    tally.ask(7, hash(7))
    expect(tally.add(1, at(20))).toBeUndefined()
    expect(tally.add(2, at(22))).toBeUndefined()
    expect(tally.add(3, at(20))).toBe(20)
  })

  test('one peer saying it twice, or changing its answer, counts once', () => {
    const tally = new PositionTally(2)
    tally.ask(7, hash(7))
    expect(tally.add(1, at(20))).toBeUndefined()
    expect(tally.add(1, at(20))).toBeUndefined()
    expect(tally.add(1, at(24))).toBeUndefined()
    expect(tally.add(2, at(20))).toBeUndefined()
    expect(tally.add(3, at(24))).toBe(24)
  })

  test('answers about another height or another block at our height do not count', () => {
    const tally = new PositionTally(2)
    tally.ask(7, hash(7))
    expect(tally.add(1, at(20, 8, 8))).toBeUndefined()
    expect(tally.add(2, at(20, 7, 9))).toBeUndefined()
    expect(tally.add(3, at(20))).toBeUndefined()
    // A new head starts over.
    tally.ask(8, hash(8))
    expect(tally.add(1, at(20))).toBeUndefined()
    expect(tally.add(1, at(30, 8, 8))).toBeUndefined()
    expect(tally.add(2, at(30, 8, 8))).toBe(30)
  })

  test('f Byzantine peers alone never decide, whatever they say (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.nat({ max: 3 })), { maxLength: 50 }),
        (f, answers) => {
          const tally = new PositionTally(f + 1)
          tally.ask(7, hash(7))
          for (const [peer, round, which] of answers) {
            const from = peer % f // only the f faulty peers answer
            expect(tally.add(from, at(round, 7 + (which & 1), 7 + (which >> 1)))).toBeUndefined()
          }
        },
      ),
    )
  })
})

describe('PeerRounds', () => {
  test('f + 1 distinct members must name a round: one naming 2^40 moves nothing', () => {
    const rounds = new PeerRounds()
    expect(rounds.reachedBy(2)).toBe(0)
    rounds.record(3, 2 ** 40)
    rounds.record(3, 2 ** 41)
    expect(rounds.reachedBy(1)).toBe(2 ** 41)
    expect(rounds.reachedBy(2)).toBe(0)
    rounds.record(0, 30)
    rounds.record(1, 25)
    rounds.record(0, 12) // lower than it said before: ignored
    expect(rounds.reachedBy(2)).toBe(30)
    expect(rounds.reachedBy(3)).toBe(25)
    expect(rounds.reachedBy(4)).toBe(0)
  })

  test('with at most k − 1 liars, what k members reached is at most an honest member’s round', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 1, max: 1_000 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.nat(2 ** 48), { maxLength: 20 }),
        (f, honest, lies) => {
          const rounds = new PeerRounds()
          // Honest members 0…h−1 name their rounds (and older ones); liars h…h+f−1 anything.
          honest.forEach((r, m) => {
            rounds.record(m, Math.max(1, r - 3))
            rounds.record(m, r)
          })
          lies.forEach((r, i) => {
            rounds.record(honest.length + (i % f), r)
          })
          const reached = rounds.reachedBy(f + 1)
          expect(reached).toBeLessThanOrEqual(Math.max(...honest))
          if (honest.length >= f + 1) {
            // And at least what f + 1 honest members reached.
            const sorted = [...honest].sort((a, b) => b - a)
            expect(reached).toBeGreaterThanOrEqual(sorted[f] as number)
          }
        },
      ),
    )
  })
})
