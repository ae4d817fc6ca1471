/**
 * The mempool's admission, order and bounds. Properties over random admissions, blocks and
 * drops (a model chain executes what `take` returns, as the executor would: every taken
 * transaction is its sender's next nonce, so each takes it): take never yields a digest twice,
 * each sender's nonces follow on from its chain nonce, and no bound is exceeded.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { ConsensusError } from './errors.ts'
import { Mempool, type MempoolCandidate, type PendingTransaction } from './mempool.ts'

let counter = 0
/** A candidate with a fresh digest (the pool never hashes: the orderer gives the digest). */
function tx(sender: number, nonce: number, size = 10): MempoolCandidate {
  const digest = new Uint8Array(32)
  new DataView(digest.buffer).setUint32(0, ++counter)
  return { digest, bytes: new Uint8Array(size), sender: Uint8Array.of(sender), nonce }
}

function codeOf(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(ConsensusError)
    return (e as ConsensusError).code
  }
  return undefined
}

const summary = (txs: readonly PendingTransaction[]) => txs.map((t) => `${t.sender[0]}:${t.nonce}`)

describe('admission', () => {
  test('refuses a digest twice, a nonce taken twice, a nonce passed and one too far ahead', () => {
    const pool = new Mempool({ maxPerSender: 4 })
    const first = tx(1, 6)
    pool.add(first, 5)
    expect(codeOf(() => pool.add(first, 5))).toBe('MEMPOOL_DUPLICATE')
    expect(codeOf(() => pool.add(tx(1, 6), 5))).toBe('MEMPOOL_DUPLICATE')
    expect(codeOf(() => pool.add(tx(1, 5), 5))).toBe('TX_NONCE')
    expect(codeOf(() => pool.add(tx(1, 0), 5))).toBe('TX_NONCE')
    expect(codeOf(() => pool.add(tx(1, 10), 5))).toBe('MEMPOOL_NONCE_GAP')
    expect(codeOf(() => pool.add(tx(1, 9), 5))).toBeUndefined()
    expect(pool.size).toBe(2)
    expect(pool.has(first.digest)).toBe(true)
  })

  test('bounds the count, the bytes and each sender', () => {
    const byCount = new Mempool({ maxCount: 2 })
    byCount.add(tx(1, 1), 0)
    byCount.add(tx(2, 1), 0)
    expect(codeOf(() => byCount.add(tx(3, 1), 0))).toBe('MEMPOOL_FULL')

    const byBytes = new Mempool({ maxBytes: 100 })
    byBytes.add(tx(1, 1, 60), 0)
    expect(codeOf(() => byBytes.add(tx(2, 1, 41), 0))).toBe('MEMPOOL_FULL')
    expect(codeOf(() => byBytes.add(tx(2, 1, 40), 0))).toBeUndefined()
    expect(byBytes.bytes).toBe(100)

    const bySender = new Mempool({ maxPerSender: 3 })
    for (const nonce of [1, 2, 3]) bySender.add(tx(1, nonce), 0)
    // Within reach of the current nonce, but the sender's slots are taken.
    expect(codeOf(() => bySender.add(tx(1, 4), 0))).toBe('MEMPOOL_NONCE_GAP')
    expect(codeOf(() => bySender.add(tx(2, 1), 0))).toBeUndefined()
    expect(bySender.countOf(Uint8Array.of(1))).toBe(3)
  })

  test('the state knowing a higher nonce drops what it passed', () => {
    const pool = new Mempool()
    const a = tx(1, 1)
    pool.add(a, 0)
    pool.add(tx(1, 2), 0)
    pool.add(tx(1, 4), 3)
    expect(pool.has(a.digest)).toBe(false)
    expect(summary(pool.take(10, 1000))).toEqual(['1:4'])
  })

  test('nextNonce follows the pending run from the state nonce', () => {
    const pool = new Mempool()
    const sender = Uint8Array.of(7)
    expect(pool.nextNonce(sender, 3)).toBe(4)
    pool.add(tx(7, 4), 3)
    pool.add(tx(7, 5), 3)
    pool.add(tx(7, 7), 3)
    expect(pool.nextNonce(sender, 3)).toBe(6)
    expect(pool.nextNonce(sender, 5)).toBe(6)
  })
})

describe('take', () => {
  test('per sender by nonce, across senders by arrival, stopping at a gap', () => {
    const pool = new Mempool()
    pool.add(tx(2, 2), 0) // arrives first, but waits for 2:1
    pool.add(tx(1, 1), 0)
    pool.add(tx(3, 1), 0)
    pool.add(tx(2, 1), 0)
    pool.add(tx(1, 3), 0) // after a gap: not executable yet
    pool.add(tx(1, 2), 0)
    expect(summary(pool.take(100, 10_000))).toEqual(['1:1', '3:1', '2:1', '2:2', '1:2', '1:3'])
    expect(summary(pool.take(2, 10_000))).toEqual(['1:1', '3:1'])
    // Taking removes nothing.
    expect(pool.size).toBe(6)
  })

  test('a transaction that does not fit ends its sender, not the block', () => {
    const pool = new Mempool()
    pool.add(tx(1, 1, 50), 0)
    pool.add(tx(1, 2, 10), 0)
    pool.add(tx(2, 1, 10), 0)
    expect(summary(pool.take(10, 40))).toEqual(['2:1'])
  })

  test('receipts drop what executed and what its nonce passed', () => {
    const pool = new Mempool()
    const a = tx(1, 1)
    const b = tx(1, 2)
    const c = tx(2, 1)
    const d = tx(2, 2)
    for (const t of [a, b, c, d]) pool.add(t, 0)
    // a took its nonce; c reverted without taking it (d still waits on nonce 1).
    pool.applyReceipts([
      { digest: a.digest, status: 'ok', nonceTaken: true },
      { digest: c.digest, status: 'TX_INSUFFICIENT_BALANCE', nonceTaken: false },
    ])
    expect(pool.size).toBe(2)
    expect(summary(pool.take(10, 1000))).toEqual(['1:2'])
    // Another transaction with nonce 2 of sender 1 executed elsewhere: b can never run.
    pool.nonceTaken(Uint8Array.of(1), 2)
    expect(pool.has(b.digest)).toBe(false)
    pool.drop([d.digest])
    expect(pool.size).toBe(0)
    expect(pool.bytes).toBe(0)
  })
})

type Op =
  | { kind: 'add'; sender: number; ahead: number; size: number }
  | { kind: 'block'; maxCount: number; maxBytes: number; executed: number }
  | { kind: 'drop'; which: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      sender: fc.integer({ min: 0, max: 4 }),
      ahead: fc.integer({ min: -2, max: 8 }),
      size: fc.integer({ min: 1, max: 120 }),
    }),
    weight: 6,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('block' as const),
      maxCount: fc.integer({ min: 0, max: 12 }),
      maxBytes: fc.integer({ min: 0, max: 600 }),
      executed: fc.integer({ min: 0, max: 12 }),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('drop' as const), which: fc.nat() }), weight: 1 },
)

test('property: take never yields a digest twice, nonces follow on per sender, bounds hold', () => {
  fc.assert(
    fc.property(
      fc.record({
        maxCount: fc.integer({ min: 1, max: 30 }),
        maxBytes: fc.integer({ min: 120, max: 2000 }),
        maxPerSender: fc.integer({ min: 1, max: 6 }),
      }),
      fc.array(opArb, { maxLength: 80 }),
      (bounds, ops) => {
        const pool = new Mempool(bounds)
        /** The model chain: each sender's nonce. */
        const chain = new Map<number, number>()
        const held: MempoolCandidate[] = []
        for (const op of ops) {
          if (op.kind === 'add') {
            const current = chain.get(op.sender) ?? 0
            const candidate = tx(op.sender, current + op.ahead, op.size)
            try {
              pool.add(candidate, current)
              held.push(candidate)
            } catch (e) {
              expect(e).toBeInstanceOf(ConsensusError)
            }
          } else if (op.kind === 'drop') {
            const victim = held[op.which % Math.max(1, held.length)]
            if (victim !== undefined) pool.drop([victim.digest])
          } else {
            const taken = pool.take(op.maxCount, op.maxBytes)
            expect(taken.length).toBeLessThanOrEqual(op.maxCount)
            expect(taken.reduce((n, t) => n + t.bytes.length, 0)).toBeLessThanOrEqual(op.maxBytes)
            const digests = new Set(taken.map((t) => t.digest.join()))
            expect(digests.size).toBe(taken.length)
            const expected = new Map<number, number>()
            for (const t of taken) {
              const sender = t.sender[0]!
              const next = (expected.get(sender) ?? chain.get(sender) ?? 0) + 1
              expect(t.nonce).toBe(next)
              expected.set(sender, next)
            }
            // The chain executes a prefix of the block; each took its nonce.
            const executed = taken.slice(0, op.executed)
            for (const t of executed) chain.set(t.sender[0]!, t.nonce)
            pool.applyReceipts(
              executed.map((t) => ({ digest: t.digest, status: 'ok', nonceTaken: true })),
            )
          }
          expect(pool.size).toBeLessThanOrEqual(bounds.maxCount)
          expect(pool.bytes).toBeLessThanOrEqual(bounds.maxBytes)
          for (let s = 0; s <= 4; s++) {
            expect(pool.countOf(Uint8Array.of(s))).toBeLessThanOrEqual(bounds.maxPerSender)
          }
        }
        // With room for everything, take holds every executable run.
        const all = pool.take(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
        for (let s = 0; s <= 4; s++) {
          const run = all.filter((t) => t.sender[0] === s).map((t) => t.nonce)
          const base = chain.get(s) ?? 0
          expect(run).toEqual(run.map((_, i) => base + 1 + i))
          expect(pool.nextNonce(Uint8Array.of(s), base)).toBe(base + run.length + 1)
        }
      },
    ),
    { numRuns: 300 },
  )
})
