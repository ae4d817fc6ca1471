import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  decodeFrames,
  encodeFrame,
  FrameDecoder,
  MAX_FRAME_PAYLOAD,
  type WireFrame,
} from './content-frames.ts'
import { WireError } from './errors.ts'
import { concat, cut, wireCodeOf } from './testing/bytes.ts'

const frameArb: fc.Arbitrary<WireFrame> = fc.oneof(
  fc
    .tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(), fc.nat(), fc.nat())
    .map(([root, a, b, c]) => {
      const [start, end, length] = [a, b, c].sort((x, y) => x - y) as [number, number, number]
      return { kind: 'header' as const, header: { root, length, range: { start, end } } }
    }),
  fc.uint8Array({ maxLength: 2000 }).map((bytes) => ({ kind: 'proof' as const, bytes })),
  fc.uint8Array({ maxLength: 5000 }).map((bytes) => ({ kind: 'data' as const, bytes })),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.string({ maxLength: 100 }))
    .map(([code, message]) => ({
      kind: 'error' as const,
      code,
      message,
    })),
)

describe('content frames', () => {
  test('encode → decode round trips under any chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.array(frameArb, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, points) => {
          const bytes = concat(frames.map(encodeFrame))
          const decoder = new FrameDecoder()
          const out = cut(bytes, points).flatMap((c) => decoder.push(c))
          decoder.end()
          expect(out).toEqual(frames)
        },
      ),
    )
  })

  test('an oversized frame is refused from its prefix alone', () => {
    const decoder = new FrameDecoder({ maxPayload: 1000 })
    const prefix = Uint8Array.of(3, 0, 0, 0x03, 0xe9) // DATA of 1001 bytes
    expect(wireCodeOf(() => decoder.push(prefix))).toBe('WIRE_FRAME_TOO_LARGE')
    expect(
      wireCodeOf(() => new FrameDecoder().push(Uint8Array.of(3, 0xff, 0xff, 0xff, 0xff))),
    ).toBe('WIRE_FRAME_TOO_LARGE')
    expect(MAX_FRAME_PAYLOAD).toBeGreaterThan(262_144)
  })

  test('unknown types, malformed headers, truncation', () => {
    expect(wireCodeOf(() => new FrameDecoder().push(Uint8Array.of(9, 0, 0, 0, 0)))).toBe(
      'WIRE_UNKNOWN_FRAME',
    )
    expect(wireCodeOf(() => new FrameDecoder().push(Uint8Array.of(1, 0, 0, 0, 1, 1)))).toBe(
      'WIRE_MALFORMED',
    )
    expect(wireCodeOf(() => new FrameDecoder().push(Uint8Array.of(4, 0, 0, 0, 1, 1)))).toBe(
      'WIRE_MALFORMED',
    )
    const header = encodeFrame({
      kind: 'header',
      header: { root: new Uint8Array(32), length: 10, range: { start: 0, end: 10 } },
    })
    const badRange = header.slice()
    badRange[badRange.length - 1] = 11 // range end past the length
    expect(wireCodeOf(() => new FrameDecoder().push(badRange))).toBe('WIRE_MALFORMED')
    const badVersion = header.slice()
    badVersion[5] = 2
    expect(wireCodeOf(() => new FrameDecoder().push(badVersion))).toBe('WIRE_MALFORMED')
    const d = new FrameDecoder()
    d.push(header.subarray(0, 20))
    expect(wireCodeOf(() => d.end())).toBe('WIRE_TRUNCATED')
  })

  test('fuzz: random bytes only ever produce frames or WireErrors', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
        const decoder = new FrameDecoder({ maxPayload: 4096 })
        try {
          for (const c of chunks) decoder.push(c)
          decoder.end()
        } catch (error) {
          expect(error).toBeInstanceOf(WireError)
        }
      }),
      { numRuns: 3000 },
    )
  })

  test('decodeFrames reads an async byte stream', async () => {
    const frames: WireFrame[] = [
      { kind: 'proof', bytes: Uint8Array.of(1, 2) },
      { kind: 'data', bytes: new Uint8Array(300) },
    ]
    async function* source() {
      for (const c of cut(concat(frames.map(encodeFrame)), [3, 7, 100])) yield c
    }
    const out: WireFrame[] = []
    for await (const f of decodeFrames(source())) out.push(f)
    expect(out).toEqual(frames)
  })
})
