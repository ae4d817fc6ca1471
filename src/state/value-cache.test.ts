import { describe, expect, test } from 'vitest'
import { bytesAsString, ValueCache } from './value-cache.ts'

const k = (n: number) => Uint8Array.of(1, n)
const v = (n: number) => Uint8Array.of(9, n)

/** A store of numbered keys that counts its reads; `gate` holds a read until released. */
function counted(values: Map<number, Uint8Array>) {
  let reads = 0
  let gate: Promise<void> | undefined
  return {
    load: async (key: Uint8Array) => {
      reads++
      const answer = values.get(key[1]!)
      if (gate !== undefined) await gate
      return answer
    },
    reads: () => reads,
    hold(): () => void {
      let release = () => {}
      gate = new Promise((r) => {
        release = r
      })
      return () => {
        gate = undefined
        release()
      }
    },
  }
}

describe('ValueCache', () => {
  test('a value or an absence is read from the store once, then from memory', async () => {
    const store = counted(new Map([[1, v(1)]]))
    const cache = new ValueCache(100)
    expect(await cache.read(k(1), store.load)).toEqual(v(1))
    expect(await cache.read(k(1), store.load)).toEqual(v(1))
    expect(await cache.read(k(2), store.load)).toBeUndefined()
    expect(await cache.read(k(2), store.load)).toBeUndefined()
    expect(store.reads()).toBe(2)
  })

  test('committed writes replace what was cached: puts and deletes', async () => {
    const store = counted(new Map([[1, v(1)]]))
    const cache = new ValueCache(100)
    await cache.read(k(1), store.load)
    await cache.read(k(2), store.load)
    cache.wrote([
      { type: 'delete', key: k(1) },
      { type: 'put', key: k(2), value: v(2) },
    ])
    expect(await cache.read(k(1), store.load)).toBeUndefined()
    expect(await cache.read(k(2), store.load)).toEqual(v(2))
    expect(store.reads()).toBe(2)
  })

  test('a read in flight across a commit is answered but not kept (it may be stale)', async () => {
    const values = new Map([[1, v(1)]])
    const store = counted(values)
    const cache = new ValueCache(100)
    const release = store.hold()
    const reading = cache.read(k(1), store.load)
    // The commit lands while the store read is in flight.
    values.set(1, v(7))
    cache.wrote([{ type: 'put', key: k(1), value: v(7) }])
    release()
    expect(await reading).toEqual(v(1))
    expect(await cache.read(k(1), store.load)).toEqual(v(7))
    expect(store.reads()).toBe(1)
  })

  test('bounded: at most the limit is kept, recent keys survive, old ones are read again', async () => {
    const values = new Map(Array.from({ length: 50 }, (_, i) => [i, v(i)] as const))
    const store = counted(values)
    const cache = new ValueCache(10)
    for (let i = 0; i < 50; i++) await cache.read(k(i), store.load)
    expect(store.reads()).toBe(50)
    expect(await cache.read(k(49), store.load)).toEqual(v(49))
    expect(store.reads()).toBe(50)
    expect(await cache.read(k(0), store.load)).toEqual(v(0))
    expect(store.reads()).toBe(51)
  })

  test('a limit of 0 keeps nothing', async () => {
    const store = counted(new Map([[1, v(1)]]))
    const cache = new ValueCache(0)
    await cache.read(k(1), store.load)
    await cache.read(k(1), store.load)
    expect(store.reads()).toBe(2)
  })
})

describe('bytesAsString', () => {
  test('one character per byte, long keys too (made in pieces)', () => {
    for (const length of [0, 1, 32, 1024, 1025, 3000]) {
      const key = Uint8Array.from({ length }, (_, i) => (i * 7 + length) % 256)
      const s = bytesAsString(key)
      expect(s.length).toBe(length)
      expect(Array.from(s, (c) => c.charCodeAt(0))).toEqual(Array.from(key))
    }
  })
})
