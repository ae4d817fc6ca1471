import { describe, expect, test } from 'vitest'
import { ifNoneMatchMatches } from './conditional.ts'

const ETAG = '"ab12"'

describe('ifNoneMatchMatches', () => {
  test.each([
    [ETAG, true],
    [`W/${ETAG}`, true],
    [` "x" ,${ETAG} `, true],
    ['*', true],
    [' * ', true],
    ['"x", W/"y"', false],
    ['ab12', false],
    ['"AB12"', false],
    ['', false],
    [',,,', false],
  ])('%j → %s', (header, expected) => {
    expect(ifNoneMatchMatches(header, ETAG)).toBe(expected)
  })

  test('no header never matches', () => {
    expect(ifNoneMatchMatches(undefined, ETAG)).toBe(false)
  })
})
