import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { CONTENT_CODEC } from './content-frames.ts'
import { CodecDecoder, decodeCodecFrames, type FrameCodec } from './frame-codec.ts'
import { framePrefix } from './frame-splitter.ts'
import { PayloadReader, PayloadWriter } from './payload.ts'
import { providerCodec } from './provider-frames.ts'
import { concat, cut, wireCodeOf } from './testing/bytes.ts'

/** A small codec with a fixed-length, a text and an opaque frame: enough to exercise the decoder. */
type ToyFrame =
  | { readonly kind: 'count'; readonly n: number }
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'blob'; readonly bytes: Uint8Array }

const utf8 = new TextEncoder()
const TOY: FrameCodec<ToyFrame> = {
  accepts: (kind) => kind >= 1 && kind <= 3,
  maxPayload: 200,
  decode(kind, payload) {
    if (kind === 1) {
      const r = PayloadReader.exact(payload, 4, 'COUNT')
      return { kind: 'count', n: r.u32('n') }
    }
    if (kind === 2) {
      const r = new PayloadReader(payload, 'TEXT')
      const length = r.u8('length')
      const text = r.utf8(length, 'text')
      r.end()
      return { kind: 'text', text }
    }
    return { kind: 'blob', bytes: payload.slice() }
  },
  encode(f) {
    switch (f.kind) {
      case 'count':
        return new PayloadWriter(4).u32(f.n).frame(1)
      case 'text': {
        const b = utf8.encode(f.text)
        return new PayloadWriter().u8(b.length).raw(b).frame(2)
      }
      case 'blob':
        return new PayloadWriter().raw(f.bytes).frame(3)
    }
  },
}

const toyArb: fc.Arbitrary<ToyFrame> = fc.oneof(
  fc.record({ kind: fc.constant('count' as const), n: fc.nat({ max: 0xffffffff }) }),
  fc.record({
    kind: fc.constant('text' as const),
    text: fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => utf8.encode(s).length < 256),
  }),
  fc.record({ kind: fc.constant('blob' as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
)

/** Random frames: any kind, a length near the payload given (often wrong), random bytes. */
const hostileArb = fc.array(
  fc
    .tuple(fc.nat({ max: 255 }), fc.uint8Array({ maxLength: 300 }), fc.integer({ min: -4, max: 4 }))
    .map(([kind, payload, skew]) =>
      concat([framePrefix(kind, Math.max(0, payload.length + skew)), payload]),
    ),
  { maxLength: 8 },
)

describe('CodecDecoder', () => {
  test('encode → decode round trips under any chunking (property)', () => {
    fc.assert(
      fc.property(
        fc.array(toyArb, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (frames, points) => {
          const decoder = new CodecDecoder(TOY)
          const out = cut(concat(frames.map(TOY.encode)), points).flatMap((c) => decoder.push(c))
          decoder.end()
          expect(out).toEqual(frames)
          expect(decoder.pending).toBe(0)
        },
      ),
    )
  })

  const codecs: [string, FrameCodec<unknown>][] = [
    ['toy', TOY],
    ['content', CONTENT_CODEC],
    ['providers to node', providerCodec('to-node')],
    ['providers to client', providerCodec('to-client')],
  ]
  for (const [name, codec] of codecs) {
    test(`${name}: hostile bytes in any chunks fail only with a WireError (property)`, () => {
      fc.assert(
        fc.property(
          fc.oneof(hostileArb.map(concat), fc.uint8Array({ maxLength: 600 })),
          fc.array(fc.nat(), { maxLength: 10 }),
          (bytes, points) => {
            const decoder = new CodecDecoder(codec)
            wireCodeOf(() => {
              for (const chunk of cut(bytes, points)) decoder.push(chunk)
              decoder.end()
            })
          },
        ),
        { numRuns: 300 },
      )
    })
  }

  test('a refused prefix fails before its payload arrives', () => {
    expect(wireCodeOf(() => new CodecDecoder(TOY).push(framePrefix(9, 0)))).toBe(
      'WIRE_UNKNOWN_FRAME',
    )
    expect(wireCodeOf(() => new CodecDecoder(TOY).push(framePrefix(3, 201)))).toBe(
      'WIRE_FRAME_TOO_LARGE',
    )
    const small = new CodecDecoder(TOY, { maxPayload: 10 })
    expect(wireCodeOf(() => small.push(framePrefix(3, 11)))).toBe('WIRE_FRAME_TOO_LARGE')
    expect(
      wireCodeOf(() => new CodecDecoder(TOY).push(concat([framePrefix(1, 3), new Uint8Array(3)]))),
    ).toBe('WIRE_MALFORMED')
  })

  test('decodeCodecFrames reads a source and checks its end', async () => {
    const bytes = concat([
      TOY.encode({ kind: 'count', n: 7 }),
      TOY.encode({ kind: 'text', text: 'hé' }),
    ])
    async function* source(b: Uint8Array) {
      for (let i = 0; i < b.length; i += 3) yield b.subarray(i, i + 3)
    }
    const seen: ToyFrame[] = []
    for await (const f of decodeCodecFrames(source(bytes), TOY)) seen.push(f)
    expect(seen).toEqual([
      { kind: 'count', n: 7 },
      { kind: 'text', text: 'hé' },
    ])
    const cutShort = decodeCodecFrames(source(bytes.subarray(0, bytes.length - 1)), TOY)
    await expect(async () => {
      for await (const _ of cutShort) {
        /* drain */
      }
    }).rejects.toMatchObject({ name: 'WireError', code: 'WIRE_TRUNCATED' })
  })
})

describe('payload writer and reader', () => {
  test('values round trip; the writer grows past its capacity', () => {
    const w = new PayloadWriter(2)
      .u8(0xab)
      .u16(0xbeef)
      .u32(0xdeadbeef)
      .u64(2n ** 64n - 1n)
      .u64(Number.MAX_SAFE_INTEGER)
      .raw(Uint8Array.of(1, 2, 3), 3)
      .raw(utf8.encode('ok'))
    expect(w.length).toBe(1 + 2 + 4 + 8 + 8 + 3 + 2)
    const r = new PayloadReader(w.bytes(), 'TEST')
    expect(r.u8('a')).toBe(0xab)
    expect(r.u16('b')).toBe(0xbeef)
    expect(r.u32('c')).toBe(0xdeadbeef)
    expect(r.u64('d')).toBe(2n ** 64n - 1n)
    expect(r.safeU64('e')).toBe(Number.MAX_SAFE_INTEGER)
    expect(r.bytes(3, 'f')).toEqual(Uint8Array.of(1, 2, 3))
    expect(r.remaining).toBe(2)
    expect(r.utf8(2, 'g')).toBe('ok')
    r.end()
  })

  test('the writer refuses values its fields cannot carry', () => {
    expect(() => new PayloadWriter().u8(256)).toThrow(RangeError)
    expect(() => new PayloadWriter().u16(-1)).toThrow(RangeError)
    expect(() => new PayloadWriter().u32(1.5)).toThrow(RangeError)
    expect(() => new PayloadWriter().u64(2n ** 64n)).toThrow(RangeError)
    expect(() => new PayloadWriter().raw(new Uint8Array(31), 32, 'root')).toThrow(
      'root must be 32 bytes',
    )
  })

  test('the reader fails with WIRE_MALFORMED naming the frame', () => {
    const r = new PayloadReader(Uint8Array.of(1, 2), 'PING')
    expect(() => r.u32('nonce')).toThrow('PING ends inside its nonce')
    expect(wireCodeOf(() => new PayloadReader(Uint8Array.of(1), 'PING').end())).toBe(
      'WIRE_MALFORMED',
    )
    expect(wireCodeOf(() => PayloadReader.exact(new Uint8Array(3), 4, 'PING'))).toBe(
      'WIRE_MALFORMED',
    )
    expect(wireCodeOf(() => new PayloadReader(Uint8Array.of(0xff), 'T').utf8(1, 'text'))).toBe(
      'WIRE_MALFORMED',
    )
    const big = new PayloadWriter().u64(2n ** 53n).bytes()
    expect(wireCodeOf(() => new PayloadReader(big, 'T').safeU64('length'))).toBe('WIRE_MALFORMED')
  })
})
