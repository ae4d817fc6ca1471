import { blake3 } from '@noble/hashes/blake3.js'
import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import { compress } from '../compress.ts'
import {
  CHUNK_LEN,
  DERIVE_KEY_MATERIAL,
  IV,
  KEYED_HASH,
  OUT_LEN,
  PARENT,
  ROOT,
} from '../constants.ts'
import type { Blake3Kernel } from '../kernel.ts'
import { portableKernel } from '../portable-kernel.ts'
import { readWords, writeWords } from '../words.ts'
import { createSimdKernelSync, loadSimdKernel } from './simd-kernel.ts'

/** Deterministic bytes from a seed (xorshift32), so failures replay without storing data. */
function bytesFromSeed(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed | 0 || 0x9e3779b9
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x
  }
  return out
}

function keyFromSeed(seed: number): Uint32Array {
  const words = new Uint32Array(8)
  readWords(bytesFromSeed(seed, 32), 0, 8, words, 0)
  return words
}

const hex = (bytes: Uint8Array): string =>
  Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

let simd: Blake3Kernel

beforeAll(async () => {
  const kernel = await loadSimdKernel()
  if (kernel === undefined) throw new Error('WebAssembly SIMD is not available here')
  simd = kernel
})

describe('loading', () => {
  test('the asynchronously loaded kernel is the SIMD one', () => {
    expect(simd.name).toBe('wasm-simd')
  })

  test('synchronous creation works outside a browser main thread', () => {
    const sync = createSimdKernelSync()
    if (typeof document === 'undefined') expect(sync?.name).toBe('wasm-simd')
    else expect(sync === undefined || sync.name === 'wasm-simd').toBe(true)
  })
})

describe('whole hashes against @noble/hashes', () => {
  /**
   * BLAKE3 of exactly 2^j chunks (j >= 1) is the ROOT parent of the two halves' chaining
   * values: reduce with the kernel down to two CVs, then finalise with the portable compress.
   */
  function rootOf(kernel: Blake3Kernel, input: Uint8Array, key: Uint32Array, flags: number) {
    let n = input.length / CHUNK_LEN
    const cvs = new Uint8Array(n * OUT_LEN)
    kernel.chunks(input, 0, n, 0, key, flags, cvs, 0)
    while (n > 2) {
      n /= 2
      kernel.parents(cvs, 0, n, key, flags, cvs, 0)
    }
    const block = new Uint32Array(16)
    readWords(cvs, 0, 16, block, 0)
    const out = new Uint32Array(8)
    compress(key, 0, block, 0, 0, 64, flags | PARENT | ROOT, out, 0)
    const root = new Uint8Array(32)
    writeWords(out, 0, 8, root, 0)
    return root
  }

  test.each([1, 2, 3, 5, 8, 9])('2^%i chunks, hash and keyed hash', (j) => {
    const input = bytesFromSeed(j, CHUNK_LEN * 2 ** j)
    expect(hex(rootOf(simd, input, IV as Uint32Array, 0))).toBe(hex(blake3(input)))
    const keyBytes = bytesFromSeed(100 + j, 32)
    const key = new Uint32Array(8)
    readWords(keyBytes, 0, 8, key, 0)
    expect(hex(rootOf(simd, input, key, KEYED_HASH))).toBe(hex(blake3(input, { key: keyBytes })))
  })
})

describe('agrees with the portable kernel', () => {
  const mode = fc.oneof(
    fc.constant({ flags: 0, keySeed: -1 }),
    fc.record({ flags: fc.constant(KEYED_HASH), keySeed: fc.integer() }),
    fc.record({ flags: fc.constant(DERIVE_KEY_MATERIAL), keySeed: fc.integer() }),
  )
  const keyOf = (keySeed: number): Uint32Array =>
    keySeed === -1 ? (IV as Uint32Array) : keyFromSeed(keySeed)
  const counter = fc.oneof(
    fc.integer({ min: 0, max: 1000 }),
    fc.integer({ min: 2 ** 32 - 400, max: 2 ** 32 + 400 }),
    fc.integer({ min: 0, max: 2 ** 40 }),
    fc.integer({ min: 2 ** 53 - 2 ** 20, max: 2 ** 53 - 301 }),
  )

  test('chunks: 1..300 chunks, any counter, key and flags, unaligned offsets', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }),
        counter,
        mode,
        fc.integer(),
        fc.integer({ min: 0, max: 70 }),
        fc.integer({ min: 0, max: 70 }),
        (count, ctr, { flags, keySeed }, dataSeed, inputOffset, outOffset) => {
          const input = bytesFromSeed(dataSeed, inputOffset + count * CHUNK_LEN)
          const key = keyOf(keySeed)
          const expected = new Uint8Array(outOffset + count * OUT_LEN + 5)
          const actual = expected.slice()
          portableKernel.chunks(input, inputOffset, count, ctr, key, flags, expected, outOffset)
          simd.chunks(input, inputOffset, count, ctr, key, flags, actual, outOffset)
          expect(hex(actual)).toBe(hex(expected))
        },
      ),
      { numRuns: 40 },
    )
  })

  test('parents: 1..130 parents, any key and flags', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 130 }),
        mode,
        fc.integer(),
        fc.integer({ min: 0, max: 70 }),
        fc.integer({ min: 0, max: 70 }),
        (count, { flags, keySeed }, dataSeed, inputOffset, outOffset) => {
          const input = bytesFromSeed(dataSeed, inputOffset + count * 64)
          const key = keyOf(keySeed)
          const expected = new Uint8Array(outOffset + count * OUT_LEN + 5)
          const actual = expected.slice()
          portableKernel.parents(input, inputOffset, count, key, flags, expected, outOffset)
          simd.parents(input, inputOffset, count, key, flags, actual, outOffset)
          expect(hex(actual)).toBe(hex(expected))
        },
      ),
      { numRuns: 100 },
    )
  })

  test('parents in place: out === input, outOffset <= inputOffset', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ min: 1, max: 130 }), fc.integer({ min: 4090, max: 4200 })),
        mode,
        fc.integer(),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 200 }),
        (count, { flags, keySeed }, dataSeed, outOffset, gap) => {
          const inputOffset = outOffset + gap
          const buffer = bytesFromSeed(dataSeed, inputOffset + count * 64 + 3)
          const expected = buffer.slice()
          const key = keyOf(keySeed)
          portableKernel.parents(expected, inputOffset, count, key, flags, expected, outOffset)
          simd.parents(buffer, inputOffset, count, key, flags, buffer, outOffset)
          expect(hex(buffer)).toBe(hex(expected))
        },
      ),
      { numRuns: 25 },
    )
  })

  test('count 0 writes nothing', () => {
    const out = new Uint8Array(64).fill(7)
    simd.chunks(new Uint8Array(0), 0, 0, 0, IV as Uint32Array, 0, out, 0)
    simd.parents(new Uint8Array(0), 0, 0, IV as Uint32Array, 0, out, 0)
    expect(out.every((b) => b === 7)).toBe(true)
  })
})
