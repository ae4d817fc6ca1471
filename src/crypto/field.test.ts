import fc from 'fast-check'
import { expect, test } from 'vitest'
import {
  FIELD_ORDER,
  fieldFromBytesBE,
  fieldFromBytesLE,
  fieldToBytesBE,
  fieldToBytesLE,
  isFieldElement,
} from './field.ts'
import { fieldArb } from './testing/arbitraries.ts'

const error = (code: string) => expect.objectContaining({ name: 'CryptoError', code })
const p = FIELD_ORDER

test('byte encodings round-trip every field element', () => {
  fc.assert(
    fc.property(fieldArb, (x) => {
      expect(fieldFromBytesBE(fieldToBytesBE(x))).toBe(x)
      expect(fieldFromBytesLE(fieldToBytesLE(x))).toBe(x)
      expect(fieldToBytesLE(x)).toEqual(fieldToBytesBE(x).reverse())
    }),
  )
})

test('encodings are 32 bytes; shorter inputs read as small numbers', () => {
  expect(fieldToBytesBE(1n)).toEqual(Uint8Array.of(...Array(31).fill(0), 1))
  expect(fieldToBytesLE(1n)).toEqual(Uint8Array.of(1, ...Array(31).fill(0)))
  expect(fieldFromBytesBE(Uint8Array.of(1, 0))).toBe(256n)
  expect(fieldFromBytesLE(Uint8Array.of(1, 0))).toBe(1n)
})

test('values >= p are rejected, not reduced', () => {
  expect(fieldFromBytesBE(fieldToBytesBE(p - 1n))).toBe(p - 1n)
  const pBE = Uint8Array.from(
    Array.from({ length: 32 }, (_, i) => Number((p >> BigInt(8 * (31 - i))) & 0xffn)),
  )
  expect(() => fieldFromBytesBE(pBE)).toThrow(error('CRYPTO_INVALID_FIELD'))
  expect(() => fieldFromBytesBE(new Uint8Array(32).fill(0xff))).toThrow(
    error('CRYPTO_INVALID_FIELD'),
  )
  expect(() => fieldFromBytesLE(pBE.slice().reverse())).toThrow(error('CRYPTO_INVALID_FIELD'))
  expect(() => fieldToBytesBE(p)).toThrow(error('CRYPTO_INVALID_FIELD'))
  expect(() => fieldToBytesLE(-1n)).toThrow(error('CRYPTO_INVALID_FIELD'))
})

test('more than 32 bytes is an argument error', () => {
  expect(() => fieldFromBytesBE(new Uint8Array(33))).toThrow(error('CRYPTO_INVALID_ARGUMENT'))
  expect(() => fieldFromBytesLE(new Uint8Array(33))).toThrow(error('CRYPTO_INVALID_ARGUMENT'))
})

test('isFieldElement accepts exactly the bigints in [0, p)', () => {
  expect([0n, 1n, p - 1n].every(isFieldElement)).toBe(true)
  expect([-1n, p, 1, '1', undefined].some(isFieldElement)).toBe(false)
})
