import { describe, expect, test } from 'vitest'
import { chooseVictims } from './eviction.ts'

const item = (name: string, length: number, pinned = false) => ({ name, length, pinned })
const names = (xs: readonly { name: string }[] | undefined) => xs?.map((x) => x.name)

describe('chooseVictims', () => {
  const lru = [item('a', 10), item('p', 30, true), item('b', 20), item('c', 40)]
  const totals = { bytes: 100, pinnedBytes: 30 }
  const of = (x: (typeof lru)[number]) => x

  test('least recently used unpinned first, only as many as make room', () => {
    expect(names(chooseVictims(lru, of, totals, 100, 0))).toEqual([])
    expect(names(chooseVictims(lru, of, totals, 100, 5))).toEqual(['a'])
    expect(names(chooseVictims(lru, of, totals, 100, 25))).toEqual(['a', 'b'])
    expect(names(chooseVictims(lru, of, totals, 100, 70))).toEqual(['a', 'b', 'c'])
  })

  test('undefined when pinned content leaves no room; best effort evicts what it can', () => {
    expect(chooseVictims(lru, of, totals, 100, 71)).toBeUndefined()
    expect(names(chooseVictims(lru, of, totals, 100, 71, true))).toEqual(['a', 'b', 'c'])
    expect(names(chooseVictims(lru, of, totals, 20, 0, true))).toEqual(['a', 'b', 'c'])
    expect(names(chooseVictims(lru, of, totals, 75, 0, true))).toEqual(['a', 'b'])
  })
})
