import fc from 'fast-check'
import { expect, test } from 'vitest'
import { deriveKey } from '../b3/hash.ts'
import { messageOf } from './message.ts'

const CONTEXT = 'fulmen test 2025-01-01 message'

function le(bytes: Uint8Array): bigint {
  return bytes.reduceRight((acc, b) => (acc << 8n) | BigInt(b), 0n)
}

test('is the first 31 bytes of BLAKE3 derive-key, little-endian', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      const m = messageOf(CONTEXT, bytes)
      expect(m).toBe(le(deriveKey(CONTEXT, bytes).subarray(0, 31)))
      expect(m < 2n ** 248n).toBe(true)
    }),
  )
})

test('the context separates domains', () => {
  const bytes = new TextEncoder().encode('same bytes')
  expect(messageOf(CONTEXT, bytes)).not.toBe(messageOf(`${CONTEXT} other`, bytes))
})

test('refuses an empty context and non-byte input', () => {
  const error = expect.objectContaining({ name: 'CryptoError', code: 'CRYPTO_INVALID_ARGUMENT' })
  expect(() => messageOf('', new Uint8Array(1))).toThrow(error)
  expect(() => messageOf(CONTEXT, 'text' as unknown as Uint8Array)).toThrow(error)
})
