import fc from 'fast-check'
import { expect, test } from 'vitest'
import { FIELD_ORDER } from './field.ts'
import { POSEIDON_MAX_INPUTS, poseidon } from './poseidon.ts'
import { fieldArb } from './testing/arbitraries.ts'
import vectors from './vectors/eddsa-poseidon.json' with { type: 'json' }

test.each(vectors.poseidon.map((v) => [v.inputs.length, v] as const))(
  'circomlibjs vector with %i inputs',
  (_, v) => {
    expect(poseidon(v.inputs.map(BigInt))).toBe(BigInt(v.output))
  },
)

test('every width up to 16 inputs hashes into the field, each width differently', () => {
  const outputs = new Set<bigint>()
  for (let n = 1; n <= POSEIDON_MAX_INPUTS; n++) {
    const out = poseidon(Array.from({ length: n }, () => 0n))
    expect(out >= 0n && out < FIELD_ORDER).toBe(true)
    outputs.add(out)
  }
  expect(outputs.size).toBe(POSEIDON_MAX_INPUTS)
})

test('any changed input changes the output', () => {
  fc.assert(
    fc.property(fc.array(fieldArb, { minLength: 1, maxLength: 6 }), fc.nat(), (inputs, at) => {
      const i = at % inputs.length
      const changed = inputs.slice()
      changed[i] = (changed[i]! + 1n) % FIELD_ORDER
      expect(poseidon(changed)).not.toBe(poseidon(inputs))
    }),
    { numRuns: 30 },
  )
})

test('refuses inputs outside the field and bad input counts with typed errors', () => {
  const error = (code: string) => expect.objectContaining({ name: 'CryptoError', code })
  expect(() => poseidon([FIELD_ORDER])).toThrow(error('CRYPTO_INVALID_FIELD'))
  expect(() => poseidon([1n, -1n])).toThrow(error('CRYPTO_INVALID_FIELD'))
  expect(() => poseidon([1 as unknown as bigint])).toThrow(error('CRYPTO_INVALID_FIELD'))
  // biome-ignore lint/suspicious/noSparseArray: a hole must not pass for an input
  expect(() => poseidon([1n, , 2n] as bigint[])).toThrow(error('CRYPTO_INVALID_FIELD'))
  expect(() => poseidon([])).toThrow(error('CRYPTO_INVALID_ARGUMENT'))
  expect(() => poseidon(Array(17).fill(0n))).toThrow(error('CRYPTO_INVALID_ARGUMENT'))
})
