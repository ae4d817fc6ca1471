import { describe, expect, test } from 'vitest'
import { deriveKey, hash, keyedHash } from './hash.ts'
import { availableKernels, hex, vectorContent, withKernel } from './testing/kernels.ts'
import official from './vectors/blake3-official.json' with { type: 'json' }

// The official file asks runners to hard-code its context string.
const CONTEXT = 'BLAKE3 2019-12-27 16:29:52 test vectors context'
const key = new TextEncoder().encode(official.key)
const kernels = await availableKernels()

describe.each(kernels.map((k) => [k.name, k] as const))(
  'official BLAKE3 vectors (%s)',
  (_, kernel) => {
    test.each(official.cases.map((c) => [c.input_len, c] as const))('input length %i', (len, c) => {
      const input = vectorContent(len)
      withKernel(kernel, () => {
        expect(hex(hash(input, 131))).toBe(c.hash)
        expect(hex(hash(input))).toBe(c.hash.slice(0, 64))
        expect(hex(keyedHash(key, input, 131))).toBe(c.keyed_hash)
        expect(hex(deriveKey(CONTEXT, input, 131))).toBe(c.derive_key)
      })
    })
  },
)

test('keyed hash rejects a key of the wrong length', () => {
  expect(() => keyedHash(new Uint8Array(31), new Uint8Array(1))).toThrow(
    expect.objectContaining({ code: 'B3_INVALID_ARGUMENT' }),
  )
})
