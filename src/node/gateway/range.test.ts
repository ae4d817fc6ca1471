import fc from 'fast-check'
import { expect, test } from 'vitest'
import { parseRange } from './range.ts'

test('single ranges, suffixes and open ends', () => {
  expect(parseRange(undefined, 10)).toEqual({ kind: 'none' })
  expect(parseRange('bytes=0-0', 10)).toEqual({ kind: 'range', start: 0, end: 1 })
  expect(parseRange('bytes=2-', 10)).toEqual({ kind: 'range', start: 2, end: 10 })
  expect(parseRange('bytes=2-100', 10)).toEqual({ kind: 'range', start: 2, end: 10 })
  expect(parseRange('bytes=-3', 10)).toEqual({ kind: 'range', start: 7, end: 10 })
  expect(parseRange('bytes=-30', 10)).toEqual({ kind: 'range', start: 0, end: 10 })
  expect(parseRange('bytes=10-', 10)).toEqual({ kind: 'unsatisfiable' })
  expect(parseRange('bytes=5-4', 10)).toEqual({ kind: 'unsatisfiable' })
  expect(parseRange('bytes=-0', 10)).toEqual({ kind: 'unsatisfiable' })
  expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' })
  expect(parseRange('bytes=0-1,3-4', 10)).toEqual({ kind: 'none' })
  expect(parseRange('items=0-1', 10)).toEqual({ kind: 'none' })
})

test('any header gives a range inside the content or none/unsatisfiable (fuzz)', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), fc.nat(1e9), (header, length) => {
      const r = parseRange(header, length)
      if (r.kind === 'range') {
        expect(r.start).toBeGreaterThanOrEqual(0)
        expect(r.end).toBeLessThanOrEqual(length)
        expect(r.start).toBeLessThan(r.end)
      }
    }),
  )
})
