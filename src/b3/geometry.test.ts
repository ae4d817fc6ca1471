import { describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from './constants.ts'
import { B3Error } from './errors.ts'
import {
  blockCount,
  blockIndexOf,
  blockLength,
  blockSpan,
  blockStart,
  blocksHolding,
  blocksOfRange,
} from './geometry.ts'

const L = TREE_BLOCK_LEN

describe('block geometry', () => {
  test('blockCount counts the tree leaves (an empty input is one), blocksHolding the data', () => {
    expect(blockCount(0)).toBe(1)
    expect(blocksHolding(0)).toBe(0)
    for (const [length, blocks] of [
      [1, 1],
      [L - 1, 1],
      [L, 1],
      [L + 1, 2],
      [3 * L, 3],
      [3 * L + 7, 4],
    ] as const) {
      expect(blockCount(length)).toBe(blocks)
      expect(blocksHolding(length)).toBe(blocks)
    }
  })

  test('blockIndexOf and blockStart map offsets to blocks and back', () => {
    expect([0, L - 1, L, 2 * L - 1, 2 * L].map(blockIndexOf)).toEqual([0, 0, 1, 1, 2])
    expect([0, 1, 5].map(blockStart)).toEqual([0, L, 5 * L])
    for (const k of [0, 1, 9]) expect(blockIndexOf(blockStart(k))).toBe(k)
  })

  test('blockLength: whole blocks, the tail, and 0 past the end', () => {
    expect(blockLength(0, 0)).toBe(0)
    expect(blockLength(2 * L + 5, 0)).toBe(L)
    expect(blockLength(2 * L + 5, 1)).toBe(L)
    expect(blockLength(2 * L + 5, 2)).toBe(5)
    expect(blockLength(2 * L + 5, 3)).toBe(0)
    expect(blockLength(2 * L, 1)).toBe(L)
  })

  test('blockSpan: the blocks holding a byte of a range, none for an empty one', () => {
    expect(blockSpan({ start: 0, end: 1 })).toEqual({ first: 0, end: 1 })
    expect(blockSpan({ start: L - 1, end: L + 1 })).toEqual({ first: 0, end: 2 })
    expect(blockSpan({ start: L, end: 2 * L })).toEqual({ first: 1, end: 2 })
    expect(blockSpan({ start: 0, end: 0 })).toEqual({ first: 0, end: 0 })
    expect(blockSpan({ start: L, end: L })).toEqual({ first: 1, end: 1 })
  })

  test('blocksOfRange: an empty range still proves one block, the last one at the end', () => {
    expect(blocksOfRange(3 * L, { start: L, end: 2 * L + 1 })).toEqual({ first: 1, end: 3 })
    expect(blocksOfRange(0, { start: 0, end: 0 })).toEqual({ first: 0, end: 1 })
    expect(blocksOfRange(2 * L, { start: L, end: L })).toEqual({ first: 1, end: 2 })
    expect(blocksOfRange(2 * L, { start: 2 * L, end: 2 * L })).toEqual({ first: 1, end: 2 })
    for (const range of [
      { start: -1, end: 1 },
      { start: 2, end: 1 },
      { start: 0, end: L + 1 },
      { start: 0.5, end: 1 },
    ]) {
      expect(() => blocksOfRange(L, range)).toThrow(B3Error)
    }
  })
})
