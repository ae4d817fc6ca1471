/** The upload cap's token bucket, on a clock the test moves: no real time passes. */
import { describe, expect, test } from 'vitest'
import { channelPair } from '../../wire/testing/channel-pair.ts'
import { CONTROL_WRITE_BYTES, rateLimited, TokenBucket } from './token-bucket.ts'

/** A clock that only moves when a sleeper sleeps; records every sleep. */
function virtualClock() {
  let now = 0
  const sleeps: number[] = []
  return {
    now: () => now,
    sleeps,
    advance(ms: number) {
      now += ms
    },
    sleep: async (ms: number, signal?: AbortSignal) => {
      signal?.throwIfAborted()
      sleeps.push(ms)
      now += ms
    },
  }
}

describe('TokenBucket', () => {
  test('a burst goes at once; beyond it each write waits for its bytes at the rate', async () => {
    const clock = virtualClock()
    const bucket = new TokenBucket({ rate: 1000, burst: 1000, ...clock })
    await bucket.take(1000)
    expect(clock.sleeps).toEqual([])
    await bucket.take(500)
    expect(clock.sleeps).toEqual([500])
    await bucket.take(2000)
    expect(clock.sleeps).toEqual([500, 2000])
    // Every byte after the burst was paid for at 1000 bytes/s of clock time.
    expect(clock.now()).toBe(2500)
  })

  test('quiet time refills the bucket, never above the burst', async () => {
    const clock = virtualClock()
    const bucket = new TokenBucket({ rate: 100, burst: 300, ...clock })
    await bucket.take(300)
    clock.advance(1000)
    expect(bucket.available).toBe(100)
    clock.advance(60_000)
    expect(bucket.available).toBe(300)
    await bucket.take(300)
    expect(clock.sleeps).toEqual([])
  })

  test('concurrent takers queue their debt: the second waits for both', async () => {
    const clock = virtualClock()
    const waits: number[] = []
    const sleep = (ms: number) => {
      waits.push(ms)
      return Promise.resolve()
    }
    const b = new TokenBucket({ rate: 1000, burst: 0, now: clock.now, sleep })
    await Promise.all([b.take(1000), b.take(1000)])
    expect(waits).toEqual([1000, 2000])
  })

  test('an aborted wait rejects with the reason', async () => {
    const bucket = new TokenBucket({ rate: 1, burst: 0 })
    const controller = new AbortController()
    const waiting = bucket.take(10, controller.signal)
    controller.abort(new Error('gone'))
    await expect(waiting).rejects.toThrow('gone')
  })

  test('refuses a rate that is not a positive number', () => {
    expect(() => new TokenBucket({ rate: 0 })).toThrow(RangeError)
    expect(() => new TokenBucket({ rate: Number.NaN })).toThrow(RangeError)
    expect(() => new TokenBucket({ rate: Number.POSITIVE_INFINITY })).toThrow(RangeError)
  })
})

describe('rateLimited', () => {
  test('content writes wait on the bucket; control frames are charged but go at once', async () => {
    const clock = virtualClock()
    const bucket = new TokenBucket({ rate: 1000, burst: 1000, ...clock })
    const [a, b] = channelPair()
    const limited = rateLimited(a, bucket)
    const received: number[] = []
    const reading = (async () => {
      for await (const chunk of b.source) received.push(chunk.length)
    })()
    await limited.write(new Uint8Array(CONTROL_WRITE_BYTES))
    await limited.write(new Uint8Array(CONTROL_WRITE_BYTES))
    expect(clock.sleeps).toEqual([])
    expect(bucket.available).toBe(1000 - 2 * CONTROL_WRITE_BYTES)
    await limited.write(new Uint8Array(4000))
    // The debt of the control writes and of these 4000 bytes, at 1000 bytes/s.
    expect(clock.sleeps).toEqual([4000 + 2 * CONTROL_WRITE_BYTES - 1000])
    await limited.close()
    await reading
    expect(received.reduce((n, x) => n + x, 0)).toBe(4000 + 2 * CONTROL_WRITE_BYTES)
  })

  test('aborting the channel ends a write waiting on the bucket', async () => {
    const bucket = new TokenBucket({ rate: 1, burst: 0 })
    const [a] = channelPair()
    const limited = rateLimited(a, bucket)
    const writing = limited.write(new Uint8Array(4096))
    limited.abort(new Error('peer gone'))
    await expect(writing).rejects.toThrow('peer gone')
  })
})
