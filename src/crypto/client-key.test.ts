import fc from 'fast-check'
import { expect, test } from 'vitest'
import { clientKeyFromPrivate, generateClientKey } from './client-key.ts'
import { publicKeyOf, sign, verify } from './eddsa-poseidon.ts'
import { fieldArb, privateKeyArb } from './testing/arbitraries.ts'

test('a key from a private key signs exactly as sign() does', () => {
  fc.assert(
    fc.property(privateKeyArb, fieldArb, (privateKey, message) => {
      const key = clientKeyFromPrivate(privateKey)
      expect(key.publicKey).toEqual(publicKeyOf(privateKey))
      expect(key.sign(message)).toEqual(sign(privateKey, message))
    }),
    { numRuns: 20 },
  )
})

test('keeps no reference to the caller’s private key bytes and does not expose them', () => {
  const privateKey = new Uint8Array(32).fill(3)
  const key = clientKeyFromPrivate(privateKey)
  const before = key.sign(5n)
  privateKey.fill(0)
  expect(key.sign(5n)).toEqual(before)
  expect(Object.values(key).some((v) => v instanceof Uint8Array && v !== key.publicKey)).toBe(false)
})

test('a generated key verifies and comes with its private key', () => {
  const key = generateClientKey()
  expect(key.privateKey.length).toBe(32)
  expect(key.publicKey).toEqual(publicKeyOf(key.privateKey))
  expect(verify(key.publicKey, 42n, key.sign(42n))).toBe(true)
  expect(generateClientKey().publicKey).not.toEqual(key.publicKey)
})

test('refuses private keys of the wrong length and messages outside the field', () => {
  const error = (code: string) => expect.objectContaining({ name: 'CryptoError', code })
  expect(() => clientKeyFromPrivate(new Uint8Array(31))).toThrow(error('CRYPTO_INVALID_KEY'))
  expect(() => clientKeyFromPrivate(new Uint8Array(64))).toThrow(error('CRYPTO_INVALID_KEY'))
  expect(() => generateClientKey().sign(-1n)).toThrow(error('CRYPTO_INVALID_FIELD'))
})
