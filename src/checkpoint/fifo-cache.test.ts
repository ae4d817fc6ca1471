/** FifoCache: made once per key, the oldest out first past the limit, evicted values freed. */
import { describe, expect, test } from 'vitest'
import { FifoCache } from './fifo-cache.ts'

describe('FifoCache', () => {
  test('makes a value once per key, keeps null, evicts the oldest, frees on evict and clear', () => {
    const freed: string[] = []
    const cache = new FifoCache<number, string | null>(2, (v) => freed.push(String(v)))
    let made = 0
    const make = (v: string | null) => () => {
      made++
      return v
    }
    expect(cache.get(1, make('a'))).toBe('a')
    expect(cache.get(1, make('other'))).toBe('a')
    expect(cache.get(2, make(null))).toBeNull()
    expect(cache.get(2, make('other'))).toBeNull()
    expect(made).toBe(2)
    expect(cache.get(3, make('c'))).toBe('c')
    expect(freed).toEqual(['a'])
    expect(cache.get(1, make('a2'))).toBe('a2')
    expect(freed).toEqual(['a', 'null'])
    cache.clear()
    expect(freed).toEqual(['a', 'null', 'c', 'a2'])
    expect(() => new FifoCache(0)).toThrow(RangeError)
  })
})
