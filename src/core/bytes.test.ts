import { describe, expect, test } from 'vitest'
import { equalBytes } from './bytes.ts'

describe('equalBytes', () => {
  test('true for the same bytes, in different buffers and views', () => {
    const a = Uint8Array.of(1, 2, 3, 255)
    const backing = Uint8Array.of(9, 1, 2, 3, 255, 9)
    expect(equalBytes(a, a.slice())).toBe(true)
    expect(equalBytes(a, backing.subarray(1, 5))).toBe(true)
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true)
  })

  test('false when any one byte differs, wherever it is', () => {
    const a = new Uint8Array(32).fill(7)
    for (let i = 0; i < a.length; i++) {
      const b = a.slice()
      b[i] = 8
      expect(equalBytes(a, b)).toBe(false)
    }
  })

  test('false for different lengths, a prefix included', () => {
    expect(equalBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false)
    expect(equalBytes(Uint8Array.of(1), new Uint8Array(0))).toBe(false)
  })
})
