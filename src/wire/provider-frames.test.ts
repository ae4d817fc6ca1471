import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { encodeRawFrame, framePrefix } from './frame-splitter.ts'
import {
  decodeProviderFrames,
  encodeProviderFrame,
  FRAME_ANNOUNCE,
  FRAME_ANNOUNCED,
  FRAME_PROVIDERS,
  FRAME_QUERY,
  MAX_ADDRESS_LEN,
  MAX_ADDRESSES,
  MAX_ANNOUNCE_PAYLOAD,
  MAX_ANNOUNCE_ROOTS,
  MAX_PEER_ID_LEN,
  MAX_PROVIDERS,
  type ProviderDirection,
  type ProviderFrame,
  ProviderFrameDecoder,
} from './provider-frames.ts'
import { FRAME_HELLO } from './session-frames.ts'
import { concat, cut, wireCodeOf } from './testing/bytes.ts'

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const utf8 = new TextEncoder()
/** Any Unicode text whose UTF-8 is `minBytes..maxBytes` long. */
const text = (minBytes: number, maxBytes: number) =>
  fc.string({ unit: 'binary', minLength: 1, maxLength: maxBytes }).filter((s) => {
    const n = utf8.encode(s).length
    return n >= minBytes && n <= maxBytes
  })
const addresses = fc.array(text(1, MAX_ADDRESS_LEN), { maxLength: MAX_ADDRESSES })

const toNodeArb: fc.Arbitrary<ProviderFrame> = fc.oneof(
  fc.record({
    kind: fc.constant('announce' as const),
    roots: fc.array(bytes(32), { maxLength: 40 }),
    multiaddrs: addresses,
  }),
  fc.record({ kind: fc.constant('query' as const), root: bytes(32) }),
)

const toClientArb: fc.Arbitrary<ProviderFrame> = fc.oneof(
  fc.record({
    kind: fc.constant('providers' as const),
    root: bytes(32),
    providers: fc.array(
      fc.record({
        peer: fc.uint8Array({ minLength: 1, maxLength: MAX_PEER_ID_LEN }),
        multiaddrs: addresses,
      }),
      { maxLength: MAX_PROVIDERS },
    ),
  }),
  fc.record({
    kind: fc.constant('announced' as const),
    roots: fc.integer({ min: 0, max: MAX_ANNOUNCE_ROOTS }),
    addresses: fc.integer({ min: 0, max: MAX_ADDRESSES }),
  }),
  fc.record({
    kind: fc.constant('terminate' as const),
    reason: fc.integer({ min: 0, max: 0xff }),
    message: fc.string({ unit: 'binary', maxLength: 80 }),
  }),
)

/** Every frame in `bytes`, pushed in the given chunks. */
function decodeAll(direction: ProviderDirection, chunks: readonly Uint8Array[]): ProviderFrame[] {
  const decoder = new ProviderFrameDecoder({ accepts: direction })
  const out = chunks.flatMap((c) => decoder.push(c))
  decoder.end()
  return out
}

const root = new Uint8Array(32).fill(7)

describe('provider frames: round trips', () => {
  for (const [direction, arb] of [
    ['to-node', toNodeArb],
    ['to-client', toClientArb],
  ] as const) {
    test(`${direction}: any frames, cut anywhere, decode to themselves`, () => {
      fc.assert(
        fc.property(fc.array(arb, { maxLength: 6 }), fc.array(fc.nat()), (frames, points) => {
          const stream = concat(frames.map(encodeProviderFrame))
          expect(decodeAll(direction, cut(stream, points))).toEqual(frames)
        }),
        { numRuns: 150 },
      )
    })
  }

  test('the largest ANNOUNCE fits the node’s default limit', () => {
    const frame = encodeProviderFrame({
      kind: 'announce',
      roots: Array.from({ length: MAX_ANNOUNCE_ROOTS }, () => root),
      multiaddrs: Array.from({ length: MAX_ADDRESSES }, () => 'a'.repeat(MAX_ADDRESS_LEN)),
    })
    expect(frame.length - 5).toBe(MAX_ANNOUNCE_PAYLOAD)
    const [decoded] = decodeAll('to-node', [frame])
    expect(decoded?.kind === 'announce' && decoded.roots.length).toBe(MAX_ANNOUNCE_ROOTS)
  })

  test('an empty ANNOUNCE (a withdrawal) round-trips', () => {
    const frame = encodeProviderFrame({ kind: 'announce', roots: [], multiaddrs: [] })
    expect(decodeAll('to-node', [frame])).toEqual([{ kind: 'announce', roots: [], multiaddrs: [] }])
  })

  test('the encoder refuses what the format cannot carry', () => {
    const many = Array.from({ length: MAX_ANNOUNCE_ROOTS + 1 }, () => root)
    expect(() => encodeProviderFrame({ kind: 'announce', roots: many, multiaddrs: [] })).toThrow(
      RangeError,
    )
    const nine = Array.from({ length: MAX_ADDRESSES + 1 }, () => '/p2p-circuit')
    expect(() => encodeProviderFrame({ kind: 'announce', roots: [], multiaddrs: nine })).toThrow(
      RangeError,
    )
    const long = 'x'.repeat(MAX_ADDRESS_LEN + 1)
    expect(() => encodeProviderFrame({ kind: 'announce', roots: [], multiaddrs: [long] })).toThrow(
      RangeError,
    )
    expect(() => encodeProviderFrame({ kind: 'query', root: new Uint8Array(31) })).toThrow(
      RangeError,
    )
    const entry = { peer: new Uint8Array(1), multiaddrs: [] }
    const seventeen = Array.from({ length: MAX_PROVIDERS + 1 }, () => entry)
    expect(() => encodeProviderFrame({ kind: 'providers', root, providers: seventeen })).toThrow(
      RangeError,
    )
    expect(() =>
      encodeProviderFrame({
        kind: 'providers',
        root,
        providers: [{ peer: new Uint8Array(), multiaddrs: [] }],
      }),
    ).toThrow(RangeError)
    expect(() => encodeProviderFrame({ kind: 'announced', roots: -1, addresses: 0 })).toThrow(
      RangeError,
    )
  })
})

describe('provider frames: untrusted bytes', () => {
  for (const direction of ['to-node', 'to-client'] as const) {
    test(`${direction}: arbitrary bytes give frames or a WireError, nothing else`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat()), (input, points) => {
          wireCodeOf(() => decodeAll(direction, cut(input, points)))
        }),
        { numRuns: 500 },
      )
    })

    test(`${direction}: valid prefixes with random payloads give frames or a WireError`, () => {
      const kinds = [FRAME_ANNOUNCE, FRAME_QUERY, FRAME_PROVIDERS, FRAME_ANNOUNCED, 0x1f]
      fc.assert(
        fc.property(
          fc.constantFrom(...kinds),
          fc.uint8Array({ maxLength: 400 }),
          (kind, payload) => {
            wireCodeOf(() => decodeAll(direction, [encodeRawFrame(kind, payload)]))
          },
        ),
        { numRuns: 500 },
      )
    })

    test(`${direction}: a valid frame with one byte flipped gives a frame or a WireError`, () => {
      const arb = direction === 'to-node' ? toNodeArb : toClientArb
      fc.assert(
        fc.property(arb, fc.nat(), fc.integer({ min: 1, max: 255 }), (frame, at, xor) => {
          const b = encodeProviderFrame(frame)
          b[at % b.length]! ^= xor
          wireCodeOf(() => decodeAll(direction, [b]))
        }),
        { numRuns: 300 },
      )
    })
  }

  const codeOf = (direction: ProviderDirection, frame: Uint8Array) =>
    wireCodeOf(() => decodeAll(direction, [frame]))

  test('each direction refuses the other’s kinds, and unknown kinds, at the prefix', () => {
    expect(codeOf('to-node', framePrefix(FRAME_PROVIDERS, 1 << 30))).toBe('WIRE_UNKNOWN_FRAME')
    expect(codeOf('to-client', framePrefix(FRAME_QUERY, 32))).toBe('WIRE_UNKNOWN_FRAME')
    expect(codeOf('to-node', framePrefix(FRAME_HELLO, 0))).toBe('WIRE_UNKNOWN_FRAME')
    expect(codeOf('to-node', framePrefix(0x1f, 0))).toBe('WIRE_UNKNOWN_FRAME')
  })

  test('an oversized frame is refused from its prefix', () => {
    expect(codeOf('to-node', framePrefix(FRAME_ANNOUNCE, MAX_ANNOUNCE_PAYLOAD + 1))).toBe(
      'WIRE_FRAME_TOO_LARGE',
    )
    const small = new ProviderFrameDecoder({ accepts: 'to-node', maxPayload: 32 })
    expect(wireCodeOf(() => small.push(framePrefix(FRAME_ANNOUNCE, 33)))).toBe(
      'WIRE_FRAME_TOO_LARGE',
    )
  })

  test('a stream ending inside a frame is WIRE_TRUNCATED', () => {
    const frame = encodeProviderFrame({ kind: 'query', root })
    expect(codeOf('to-node', frame.subarray(0, frame.length - 1))).toBe('WIRE_TRUNCATED')
  })

  const announce = (count: number, tail: Uint8Array) =>
    encodeRawFrame(FRAME_ANNOUNCE, concat([Uint8Array.of(count >> 8, count & 0xff), tail]))

  test.each([
    ['a QUERY of 31 bytes', encodeRawFrame(FRAME_QUERY, new Uint8Array(31))],
    ['a QUERY of 33 bytes', encodeRawFrame(FRAME_QUERY, new Uint8Array(33))],
    ['an ANNOUNCE with 4097 roots', announce(4097, new Uint8Array(4097 * 32 + 1))],
    ['an ANNOUNCE cut inside its roots', announce(2, new Uint8Array(40))],
    ['an ANNOUNCE without its address count', announce(1, new Uint8Array(32))],
    ['an ANNOUNCE with 9 addresses', announce(0, Uint8Array.of(9))],
    ['an ANNOUNCE with an empty address', announce(0, Uint8Array.of(1, 0, 0))],
    ['an ANNOUNCE with a 257-byte address', announce(0, Uint8Array.of(1, 1, 1))],
    ['an ANNOUNCE with an address of bad UTF-8', announce(0, Uint8Array.of(1, 0, 1, 0xff))],
    ['an ANNOUNCE with bytes after its end', announce(0, Uint8Array.of(0, 0))],
  ])('%s is WIRE_MALFORMED', (_, frame) => {
    expect(codeOf('to-node', frame)).toBe('WIRE_MALFORMED')
  })

  const providers = (tail: Uint8Array) => encodeRawFrame(FRAME_PROVIDERS, concat([root, tail]))

  test.each([
    ['a PROVIDERS with 17 entries', providers(Uint8Array.of(17))],
    ['a PROVIDERS with an empty peer id', providers(Uint8Array.of(1, 0, 0))],
    [
      'a PROVIDERS with a 65-byte peer id',
      providers(concat([Uint8Array.of(1, 65), new Uint8Array(66)])),
    ],
    ['a PROVIDERS cut inside an entry', providers(Uint8Array.of(1, 2, 9))],
    ['a PROVIDERS with bytes after its end', providers(Uint8Array.of(0, 0))],
    ['an ANNOUNCED of 2 bytes', encodeRawFrame(FRAME_ANNOUNCED, Uint8Array.of(0, 0))],
    ['an ANNOUNCED over the limits', encodeRawFrame(FRAME_ANNOUNCED, Uint8Array.of(0xff, 0xff, 0))],
    ['a TERMINATE without a reason', encodeRawFrame(0x1f, new Uint8Array())],
  ])('%s is WIRE_MALFORMED', (_, frame) => {
    expect(codeOf('to-client', frame)).toBe('WIRE_MALFORMED')
  })

  test('decodeProviderFrames reads a source and checks its end', async () => {
    const frame = encodeProviderFrame({ kind: 'query', root })
    async function* source() {
      yield frame.subarray(0, 3)
      yield frame.subarray(3)
      yield frame.subarray(0, 1)
    }
    const seen: ProviderFrame[] = []
    const read = async () => {
      for await (const f of decodeProviderFrames(source(), { accepts: 'to-node' })) seen.push(f)
    }
    await expect(read()).rejects.toMatchObject({ name: 'WireError', code: 'WIRE_TRUNCATED' })
    expect(seen).toEqual([{ kind: 'query', root }])
  })
})
