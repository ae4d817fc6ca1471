/**
 * Amounts on the command line: exact decimal parsing to 18-decimal base units, and formatting
 * back, as properties over the whole range (0 … 2^256 − 1) and on the edges people type.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { AmountError, formatAmount, MAX_AMOUNT, parseAmount } from './amount.ts'

const amounts = fc.bigInt({ min: 0n, max: MAX_AMOUNT })

describe('parseAmount and formatAmount', () => {
  test('examples', () => {
    expect(parseAmount('1.5')).toBe(1_500_000_000_000_000_000n)
    expect(parseAmount('0.1')).toBe(100_000_000_000_000_000n)
    expect(parseAmount('0')).toBe(0n)
    expect(parseAmount('1')).toBe(10n ** 18n)
    expect(parseAmount('0.000000000000000001')).toBe(1n)
    expect(parseAmount('007.50')).toBe(7_500_000_000_000_000_000n)
    expect(formatAmount(1_500_000_000_000_000_000n)).toBe('1.5')
    expect(formatAmount(0n)).toBe('0')
    expect(formatAmount(1n)).toBe('0.000000000000000001')
    expect(formatAmount(10n ** 24n)).toBe('1000000')
    expect(formatAmount(MAX_AMOUNT)).toBe(
      '115792089237316195423570985008687907853269984665640564039457.584007913129639935',
    )
    expect(parseAmount(formatAmount(MAX_AMOUNT))).toBe(MAX_AMOUNT)
  })

  test('every amount formats to text that parses back to it', () => {
    fc.assert(
      fc.property(amounts, (value) => {
        expect(parseAmount(formatAmount(value))).toBe(value)
      }),
      { numRuns: 2000 },
    )
  })

  test('formatting is canonical: parse then format gives the shortest spelling', () => {
    const text = fc
      .tuple(
        fc.stringMatching(/^\d{1,40}$/),
        fc.option(fc.stringMatching(/^\d{1,18}$/), { nil: undefined }),
      )
      .map(([w, f]) => (f === undefined ? w : `${w}.${f}`))
    fc.assert(
      fc.property(text, (t) => {
        const formatted = formatAmount(parseAmount(t))
        const [w, f = ''] = t.split('.')
        const expectedWhole = w!.replace(/^0+(?=\d)/, '')
        const expectedFraction = f.replace(/0+$/, '')
        expect(formatted).toBe(
          expectedFraction === '' ? expectedWhole : `${expectedWhole}.${expectedFraction}`,
        )
      }),
      { numRuns: 2000 },
    )
  })

  test('the value is whole × 10^18 + fraction, computed in bigints (no float rounding)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 30n }),
        fc.bigInt({ min: 0n, max: 10n ** 18n - 1n }),
        (whole, fraction) => {
          const text = `${whole}.${fraction.toString().padStart(18, '0')}`
          expect(parseAmount(text)).toBe(whole * 10n ** 18n + fraction)
        },
      ),
    )
  })

  test.each([
    '',
    ' 1',
    '1 ',
    '-1',
    '+1',
    '1e18',
    '1,5',
    '1.',
    '.5',
    '1.2.3',
    '0x10',
    'one',
    '1_000',
    '1.0000000000000000001',
    '115792089237316195423570985008687907853269984665640564039457.584007913129639936',
  ])('refuses %j with CLI_BAD_AMOUNT', (text) => {
    const error = (() => {
      try {
        parseAmount(text, '--amount')
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(AmountError)
    expect((error as AmountError).code).toBe('CLI_BAD_AMOUNT')
    expect((error as AmountError).message).toMatch(/^--amount: /)
  })

  test('arbitrary text never parses to something that formats differently from a canonical amount', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), (text) => {
        let value: bigint
        try {
          value = parseAmount(text)
        } catch (e) {
          expect(e).toBeInstanceOf(AmountError)
          return
        }
        expect(value).toBeGreaterThanOrEqual(0n)
        expect(parseAmount(formatAmount(value))).toBe(value)
      }),
      { numRuns: 2000 },
    )
  })

  test('formatAmount refuses negative amounts', () => {
    expect(() => formatAmount(-1n)).toThrow(RangeError)
  })
})
