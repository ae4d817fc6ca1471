import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { deriveKey } from '../../b3/hash.ts'
import { MAX_TRANSACTION_BYTES } from '../../state/transaction.ts'
import { ConsensusError } from '../errors.ts'
import {
  BATCH_CONTEXT,
  batchDigest,
  checkBatch,
  decodeBatch,
  encodeBatch,
  MAX_BATCH_BYTES,
  MAX_BATCH_ENCODED_BYTES,
  MAX_BATCH_TRANSACTIONS,
} from './narwhal-batch.ts'

const transaction = fc.uint8Array({ minLength: 1, maxLength: 300 })
const batch = fc.array(transaction, { minLength: 1, maxLength: 40 })

/** The code of the ConsensusError `fn` throws (fails the test on anything else). */
function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (e) {
    if (!(e instanceof ConsensusError)) throw e
    return e.code
  }
  return undefined
}

describe('narwhal batch', () => {
  test('round trip, and the bytes are what @ipld/dag-cbor writes for the array', () => {
    fc.assert(
      fc.property(batch, (txs) => {
        const encoded = encodeBatch(txs)
        expect(encoded).toEqual(new Uint8Array(dagCbor.encode(txs)))
        expect(decodeBatch(encoded)).toEqual(txs)
        expect(checkBatch(encoded)).toBe(txs.length)
      }),
    )
  })

  test('lengths at every head size round trip (1-, 2-, 3- and 5-byte heads)', () => {
    const txs = [1, 23, 24, 255, 256, 65_535, 65_536, MAX_TRANSACTION_BYTES].map((n) =>
      new Uint8Array(n).fill(n & 0xff),
    )
    const encoded = encodeBatch(txs)
    expect(encoded).toEqual(new Uint8Array(dagCbor.encode(txs)))
    expect(decodeBatch(encoded)).toEqual(txs)
  })

  test('the largest batches: MAX_BATCH_TRANSACTIONS of them, MAX_BATCH_BYTES of them', () => {
    const many = Array.from({ length: MAX_BATCH_TRANSACTIONS }, () => new Uint8Array(64))
    expect(decodeBatch(encodeBatch(many))).toHaveLength(MAX_BATCH_TRANSACTIONS)
    const big = Array.from(
      { length: MAX_BATCH_BYTES / MAX_TRANSACTION_BYTES },
      () => new Uint8Array(MAX_TRANSACTION_BYTES),
    )
    const encoded = encodeBatch(big)
    expect(encoded.length).toBeLessThanOrEqual(MAX_BATCH_ENCODED_BYTES)
    expect(decodeBatch(encoded)).toHaveLength(big.length)
  })

  test('encode refuses what no batch holds', () => {
    expect(() => encodeBatch([])).toThrow(RangeError)
    expect(() => encodeBatch([new Uint8Array(0)])).toThrow(RangeError)
    expect(() => encodeBatch([new Uint8Array(MAX_TRANSACTION_BYTES + 1)])).toThrow(RangeError)
    const tooMany = Array.from({ length: MAX_BATCH_TRANSACTIONS + 1 }, () => new Uint8Array(1))
    expect(() => encodeBatch(tooMany)).toThrow(RangeError)
    const tooLarge = Array.from({ length: 5 }, () => new Uint8Array(MAX_TRANSACTION_BYTES))
    expect(() => encodeBatch(tooLarge)).toThrow(RangeError)
  })

  test('decode refuses non-canonical and out-of-limit bytes with CONSENSUS_MALFORMED', () => {
    const cases: [Uint8Array, string][] = [
      [new Uint8Array([]), 'empty'],
      [new Uint8Array([0x80]), 'no transactions'],
      [new Uint8Array([0x81, 0x40]), 'an empty transaction'],
      [new Uint8Array([0x81, 0x41, 7, 0]), 'trailing byte'],
      [new Uint8Array([0x81, 0x42, 7]), 'truncated transaction'],
      [new Uint8Array([0x98, 0x01, 0x41, 7]), 'array head not shortest'],
      [new Uint8Array([0x81, 0x58, 0x01, 7]), 'bytes head not shortest'],
      [new Uint8Array([0x9f, 0x41, 7, 0xff]), 'indefinite array'],
      [new Uint8Array([0x81, 0x5f, 0x41, 7, 0xff]), 'indefinite bytes'],
      [new Uint8Array([0x81, 0x61, 0x61]), 'a text string'],
      [new Uint8Array([0xa1, 0x61, 0x61, 0x41, 7]), 'a map'],
      [new Uint8Array([0x81, 0x81, 0x41, 7]), 'a nested array'],
      [new Uint8Array([0x81, 0x5b, 0, 0, 0, 0, 0, 0, 0, 1, 7]), '8-byte length'],
      [new Uint8Array([0x81, 0x5a, 0, 2, 0, 1]), 'a transaction over the limit'],
      [new Uint8Array([0x99, 0x20, 0x01]), 'over MAX_BATCH_TRANSACTIONS'],
      [new Uint8Array([0x81, 0x59]), 'head cut short'],
    ]
    for (const [bytes, what] of cases) {
      expect(
        codeOf(() => decodeBatch(bytes)),
        what,
      ).toBe('CONSENSUS_MALFORMED')
      expect(
        codeOf(() => checkBatch(bytes)),
        what,
      ).toBe('CONSENSUS_MALFORMED')
    }
    const overBytes = encodeBatch(
      Array.from({ length: 4 }, () => new Uint8Array(MAX_TRANSACTION_BYTES)),
    )
    // 4 x 128 KiB is exactly MAX_BATCH_BYTES: a fifth transaction of one byte is over it.
    const five = new Uint8Array(overBytes.length + 2)
    five.set(overBytes)
    five[0] = 0x85
    five.set([0x41, 9], overBytes.length)
    expect(codeOf(() => decodeBatch(five))).toBe('CONSENSUS_MALFORMED')
  })

  test('fuzz: random and mutated bytes decode or throw CONSENSUS_MALFORMED, never else', () => {
    const mutated = fc
      .tuple(
        batch,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      )
      .map(([txs, edits]) => {
        const bytes = encodeBatch(txs)
        for (const [at, value] of edits) bytes[at % bytes.length] = value
        return bytes
      })
    const cut = fc
      .tuple(batch, fc.nat())
      .map(([txs, n]) => encodeBatch(txs).subarray(0, n % (encodeBatch(txs).length + 1)))
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), mutated, cut), (bytes) => {
        let decoded: Uint8Array[] | undefined
        try {
          decoded = decodeBatch(bytes)
        } catch (e) {
          expect(e).toBeInstanceOf(ConsensusError)
          expect((e as ConsensusError).code).toBe('CONSENSUS_MALFORMED')
          return
        }
        // Whatever decodes is canonical: it encodes back to the same bytes.
        expect(encodeBatch(decoded)).toEqual(bytes)
      }),
      { numRuns: 500 },
    )
  })

  test('the digest is BLAKE3 derive-key under its own context, not a header digest', () => {
    const encoded = encodeBatch([new Uint8Array([1, 2, 3])])
    expect(batchDigest(encoded)).toEqual(deriveKey(BATCH_CONTEXT, encoded))
    expect(batchDigest(encoded)).toHaveLength(32)
    expect(batchDigest(encoded)).not.toEqual(deriveKey('fulmen 2026 narwhal header', encoded))
    expect(batchDigest(encodeBatch([new Uint8Array([1, 2, 4])]))).not.toEqual(batchDigest(encoded))
  })
})
