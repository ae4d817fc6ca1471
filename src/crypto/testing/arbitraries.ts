/** fast-check generators shared by the crypto suites. */
import fc from 'fast-check'
import { FIELD_ORDER } from '../field.ts'

export const privateKeyArb = fc.uint8Array({ minLength: 32, maxLength: 32 })

/** Field elements, with the edges (0, 1, p - 1) drawn more often than chance would. */
export const fieldArb = fc.oneof(
  fc.bigInt({ min: 0n, max: FIELD_ORDER - 1n }),
  fc.constantFrom(0n, 1n, FIELD_ORDER - 1n),
)
