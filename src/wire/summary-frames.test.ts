import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { CodecDecoder } from './frame-codec.ts'
import { encodeRawFrame, framePrefix } from './frame-splitter.ts'
import {
  encodeSummaryFrame,
  FRAME_SUMMARY,
  FRAME_TERMINATE,
  MAX_SUMMARY_FILTER_BYTES,
  MAX_SUMMARY_PAYLOAD,
  type SummaryDirection,
  type SummaryStreamFrame,
  summaryCodec,
} from './summary-frames.ts'
import { concat, cut, wireCodeOf } from './testing/bytes.ts'

const summaryArb: fc.Arbitrary<SummaryStreamFrame> = fc.record({
  kind: fc.constant('summary' as const),
  seq: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  filter: fc.uint8Array({ minLength: 1, maxLength: 300 }),
})
const terminateArb: fc.Arbitrary<SummaryStreamFrame> = fc.record({
  kind: fc.constant('terminate' as const),
  reason: fc.integer({ min: 0, max: 0xff }),
  message: fc.string({ maxLength: 80 }),
})

function decodeAll(direction: SummaryDirection, chunks: readonly Uint8Array[]) {
  const decoder = new CodecDecoder(summaryCodec(direction))
  const out = chunks.flatMap((c) => decoder.push(c))
  decoder.end()
  return out
}

describe('summary frames', () => {
  for (const [direction, arb] of [
    ['to-receiver', summaryArb],
    ['to-sender', terminateArb],
  ] as const) {
    test(`${direction}: any frames, cut anywhere, decode to themselves`, () => {
      fc.assert(
        fc.property(fc.array(arb, { maxLength: 4 }), fc.array(fc.nat()), (frames, points) => {
          const stream = concat(frames.map(encodeSummaryFrame))
          expect(decodeAll(direction, cut(stream, points))).toEqual(frames)
        }),
        { numRuns: 150 },
      )
    })
  }

  test('the largest SUMMARY fits; one byte more is refused at its prefix', () => {
    const filter = new Uint8Array(MAX_SUMMARY_FILTER_BYTES).fill(3)
    const frame = encodeSummaryFrame({ kind: 'summary', seq: 1, filter })
    expect(frame.length - 5).toBe(MAX_SUMMARY_PAYLOAD)
    expect(decodeAll('to-receiver', [frame])).toHaveLength(1)
    const decoder = new CodecDecoder(summaryCodec('to-receiver'))
    expect(
      wireCodeOf(() => decoder.push(framePrefix(FRAME_SUMMARY, MAX_SUMMARY_PAYLOAD + 1))),
    ).toBe('WIRE_FRAME_TOO_LARGE')
  })

  test('the encoder refuses what the format cannot carry', () => {
    const summary = (seq: number, n: number) =>
      encodeSummaryFrame({ kind: 'summary', seq, filter: new Uint8Array(n) })
    expect(() => summary(1, 0)).toThrow(RangeError)
    expect(() => summary(1, MAX_SUMMARY_FILTER_BYTES + 1)).toThrow(RangeError)
    expect(() => summary(-1, 8)).toThrow(RangeError)
    expect(() => summary(1.5, 8)).toThrow(RangeError)
  })

  test('malformed payloads are typed errors', () => {
    const decode = (kind: number, payload: Uint8Array, direction: SummaryDirection) =>
      wireCodeOf(() => decodeAll(direction, [encodeRawFrame(kind, payload)]))
    // No filter, a short seq, a seq past 2^53.
    expect(decode(FRAME_SUMMARY, new Uint8Array(8), 'to-receiver')).toBe('WIRE_MALFORMED')
    expect(decode(FRAME_SUMMARY, new Uint8Array(5), 'to-receiver')).toBe('WIRE_MALFORMED')
    const big = new Uint8Array(9).fill(0xff)
    expect(decode(FRAME_SUMMARY, big, 'to-receiver')).toBe('WIRE_MALFORMED')
    // Each end takes only what its peer may send.
    expect(decode(FRAME_TERMINATE, new Uint8Array([1]), 'to-receiver')).toBe('WIRE_UNKNOWN_FRAME')
    expect(decode(FRAME_SUMMARY, new Uint8Array(9), 'to-sender')).toBe('WIRE_UNKNOWN_FRAME')
  })

  test('fuzz: any bytes decode to frames or fail with a WireError', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<SummaryDirection>('to-receiver', 'to-sender'),
        fc.integer({ min: 0, max: 0xff }),
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.nat()),
        (direction, kind, payload, points) => {
          const stream = encodeRawFrame(kind, payload)
          wireCodeOf(() => decodeAll(direction, cut(stream, points)))
        },
      ),
      { numRuns: 500 },
    )
  })
})
