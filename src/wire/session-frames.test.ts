import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { decodeCdnGreeting, encodeCdnGreeting } from './cdn-frames.ts'
import { encodeFrame, type WireFrame } from './content-frames.ts'
import { encodeRawFrame, framePrefix } from './frame-splitter.ts'
import {
  decodeSessionFrames,
  encodeSessionFrame,
  FRAME_CHALLENGE,
  FRAME_HELLO,
  FRAME_JOIN,
  FRAME_REQUEST,
  FRAME_SESSION,
  FRAME_TERMINATE,
  type FrameDirection,
  MAX_POINTER_LEN,
  type SessionFrame,
  SessionFrameDecoder,
} from './session-frames.ts'
import { concat, cut, wireCodeOf } from './testing/bytes.ts'

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const u32 = fc.integer({ min: 0, max: 0xffffffff })
const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn })
const sessionId = fc.bigInt({ min: 1n, max: 0xffffffffffffffffn })
const utf8 = new TextEncoder()
/** Any Unicode text whose UTF-8 fits `maxBytes`. */
const text = (minBytes: number, maxBytes: number) =>
  fc.string({ unit: 'binary', maxLength: maxBytes }).filter((s) => {
    const n = utf8.encode(s).length
    return n >= minBytes && n <= maxBytes
  })
const offset = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })

const terminateArb = fc.record({
  kind: fc.constant('terminate' as const),
  reason: fc.integer({ min: 0, max: 0xff }),
  message: text(0, 256),
})

const toNodeArb: fc.Arbitrary<SessionFrame> = fc.oneof(
  fc.record({
    kind: fc.constant('hello' as const),
    service: u32,
    retry: u64,
    clientKey: bytes(32),
    signature: bytes(64),
  }),
  fc.record({ kind: fc.constant('join' as const), session: sessionId, token: bytes(32) }),
  terminateArb,
  fc.record(
    {
      kind: fc.constant('request' as const),
      pointer: text(1, MAX_POINTER_LEN),
      range: fc
        .tuple(offset, offset)
        .map(([a, b]) => (a <= b ? { start: a, end: b } : { start: b, end: a })),
      resumeBlock: fc.integer({ min: 0, max: 0xfffffffe }),
    },
    { requiredKeys: ['kind', 'pointer'] },
  ),
  fc.record({ kind: fc.constant('commit' as const), commitment: bytes(130), signature: bytes(64) }),
  fc.record({ kind: fc.constant('reveal' as const), seq: u32, index: u32, value: bytes(32) }),
)

const contentArb: fc.Arbitrary<WireFrame> = fc.oneof(
  fc.tuple(bytes(32), fc.nat(), fc.nat(), fc.nat()).map(([root, a, b, c]) => {
    const [start, end, length] = [a, b, c].sort((x, y) => x - y) as [number, number, number]
    return { kind: 'header' as const, header: { root, length, range: { start, end } } }
  }),
  fc.uint8Array({ maxLength: 300 }).map((b) => ({ kind: 'proof' as const, bytes: b })),
  fc.uint8Array({ maxLength: 3000 }).map((b) => ({ kind: 'data' as const, bytes: b })),
  fc
    .tuple(fc.integer({ min: 0, max: 0xffff }), fc.string({ maxLength: 50 }))
    .map(([code, message]) => ({ kind: 'error' as const, code, message })),
)

const toClientArb: fc.Arbitrary<SessionFrame> = fc.oneof(
  fc.record({
    kind: fc.constant('challenge' as const),
    nonce: bytes(32),
    epoch: u64,
    maxRequest: u32,
    maxStreams: fc.integer({ min: 1, max: 0xffff }),
    maxSessions: fc.integer({ min: 1, max: 0xffff }),
  }),
  fc.record({
    kind: fc.constant('session' as const),
    session: sessionId,
    token: bytes(32),
    tokenTtlMs: u32,
    greeting: fc.uint8Array({ maxLength: 256 }),
  }),
  terminateArb,
  contentArb,
)

/** One valid frame of every kind, per direction. */
const samples: Record<FrameDirection, SessionFrame[]> = {
  'to-node': [
    { kind: 'hello', service: 0, retry: 7n, clientKey: fill(32, 1), signature: fill(64, 2) },
    { kind: 'join', session: 0x0123456789abcdefn, token: fill(32, 3) },
    { kind: 'terminate', reason: 0x8b, message: 'bad frame' },
    { kind: 'request', pointer: `blake3:${'ab'.repeat(32)}` },
    {
      kind: 'request',
      pointer: 'ipfs://bafy',
      range: { start: 10, end: 20 },
      resumeBlock: 3,
    },
    { kind: 'commit', commitment: fill(130, 4), signature: fill(64, 5) },
    { kind: 'reveal', seq: 1, index: 16, value: fill(32, 6) },
  ],
  'to-client': [
    {
      kind: 'challenge',
      nonce: fill(32, 7),
      epoch: 42n,
      maxRequest: 4096,
      maxStreams: 8,
      maxSessions: 16,
    },
    {
      kind: 'session',
      session: 1n,
      token: fill(32, 8),
      tokenTtlMs: 600_000,
      greeting: encodeCdnGreeting({ ackWindow: 16, unit: 262_144 }),
    },
    { kind: 'terminate', reason: 0x80, message: '' },
    { kind: 'header', header: { root: fill(32, 9), length: 100, range: { start: 0, end: 100 } } },
    { kind: 'proof', bytes: fill(64, 10) },
    { kind: 'data', bytes: fill(100, 11) },
    { kind: 'error', code: 404, message: 'not found' },
  ],
}

function fill(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v)
}

function decodeAll(
  direction: FrameDirection,
  chunks: Uint8Array[],
  maxPayload?: number,
): SessionFrame[] {
  const decoder = new SessionFrameDecoder({
    accepts: direction,
    ...(maxPayload !== undefined && { maxPayload }),
  })
  const out = chunks.flatMap((c) => decoder.push(c))
  decoder.end()
  return out
}

function payload(direction: FrameDirection, kind: number, p: Uint8Array): string | undefined {
  return wireCodeOf(() => decodeAll(direction, [encodeRawFrame(kind, p)]))
}

describe('session frames', () => {
  test('every kind round trips, to the node and to the client, under any chunking', () => {
    for (const [direction, arb] of [
      ['to-node', toNodeArb],
      ['to-client', toClientArb],
    ] as const) {
      fc.assert(
        fc.property(
          fc.array(arb, { maxLength: 8 }),
          fc.array(fc.nat(), { maxLength: 12 }),
          (frames, points) => {
            const encoded = concat(frames.map(encodeSessionFrame))
            expect(decodeAll(direction, cut(encoded, points), 1 << 20)).toEqual(frames)
          },
        ),
        { numRuns: 300 },
      )
    }
  })

  test('a split at every byte boundary, and byte by byte, gives the same frames', () => {
    for (const direction of ['to-node', 'to-client'] as const) {
      const frames = samples[direction]
      const encoded = concat(frames.map(encodeSessionFrame))
      for (let i = 0; i <= encoded.length; i++) {
        expect(decodeAll(direction, [encoded.subarray(0, i), encoded.subarray(i)])).toEqual(frames)
      }
      const single = [...encoded].map((b) => Uint8Array.of(b))
      expect(decodeAll(direction, single)).toEqual(frames)
    }
  })

  test('decodeSessionFrames reads an async byte stream', async () => {
    const frames = samples['to-node']
    async function* source() {
      for (const f of frames) yield encodeSessionFrame(f)
    }
    const out: SessionFrame[] = []
    for await (const f of decodeSessionFrames(source(), { accepts: 'to-node' })) out.push(f)
    expect(out).toEqual(frames)
  })

  test('kinds from the wrong direction, or unknown, are refused at their prefix', () => {
    for (const kind of [FRAME_CHALLENGE, FRAME_SESSION, 1, 2, 3, 4, 0x00, 0x14, 0xff]) {
      expect(
        wireCodeOf(() =>
          new SessionFrameDecoder({ accepts: 'to-node' }).push(framePrefix(kind, 10)),
        ),
      ).toBe('WIRE_UNKNOWN_FRAME')
    }
    for (const kind of [FRAME_HELLO, FRAME_JOIN, FRAME_REQUEST, 0x30, 0x31, 0x05, 0xff]) {
      expect(
        wireCodeOf(() =>
          new SessionFrameDecoder({ accepts: 'to-client' }).push(framePrefix(kind, 10)),
        ),
      ).toBe('WIRE_UNKNOWN_FRAME')
    }
  })

  test('an oversized frame is refused from its 5-byte prefix, before any payload', () => {
    const decoder = new SessionFrameDecoder({ accepts: 'to-node', maxPayload: 4096 })
    expect(decoder.push(framePrefix(FRAME_REQUEST, 4096).subarray(0, 4))).toEqual([])
    expect(wireCodeOf(() => decoder.push(framePrefix(FRAME_REQUEST, 4097).subarray(4)))).toBe(
      'WIRE_FRAME_TOO_LARGE',
    )
    // The default limit to the node is maxRequest's default, 4096.
    expect(
      wireCodeOf(() =>
        new SessionFrameDecoder({ accepts: 'to-node' }).push(framePrefix(FRAME_REQUEST, 4097)),
      ),
    ).toBe('WIRE_FRAME_TOO_LARGE')
  })

  test('a stream that ends inside a frame is truncated', () => {
    const bytes = encodeSessionFrame(samples['to-node'][0]!)
    for (let i = 1; i < bytes.length; i++) {
      expect(wireCodeOf(() => decodeAll('to-node', [bytes.subarray(0, i)]))).toBe('WIRE_TRUNCATED')
    }
  })

  test('wrong sizes, versions and values are malformed', () => {
    const m = 'WIRE_MALFORMED'
    const hello = encodeSessionFrame(samples['to-node'][0]!).subarray(5)
    expect(payload('to-node', FRAME_HELLO, hello)).toBeUndefined()
    expect(payload('to-node', FRAME_HELLO, hello.subarray(1))).toBe(m)
    expect(payload('to-node', FRAME_HELLO, concat([hello, Uint8Array.of(0)]))).toBe(m)
    expect(payload('to-node', FRAME_HELLO, concat([Uint8Array.of(2), hello.subarray(1)]))).toBe(m)

    const challenge = encodeSessionFrame(samples['to-client'][0]!).subarray(5)
    expect(payload('to-client', FRAME_CHALLENGE, challenge)).toBeUndefined()
    expect(
      payload('to-client', FRAME_CHALLENGE, concat([Uint8Array.of(0), challenge.subarray(1)])),
    ).toBe(m)
    // A node that allows no stream or no session could serve nobody: the frame is malformed.
    for (const at of [challenge.length - 4, challenge.length - 2]) {
      const none = challenge.slice()
      none.fill(0, at, at + 2)
      expect(payload('to-client', FRAME_CHALLENGE, none)).toBe(m)
    }

    // Session id 0 names no session.
    const join = encodeSessionFrame(samples['to-node'][1]!).subarray(5).slice()
    join.fill(0, 1, 9)
    expect(payload('to-node', FRAME_JOIN, join)).toBe(m)
    expect(payload('to-node', FRAME_JOIN, concat([Uint8Array.of(9), join.subarray(1)]))).toBe(m)
    const session = encodeSessionFrame(samples['to-client'][1]!).subarray(5).slice()
    session.fill(0, 0, 8)
    expect(payload('to-client', FRAME_SESSION, session)).toBe(m)
    // SESSION carries at most 256 bytes of greeting after its 44 fixed bytes.
    expect(payload('to-client', FRAME_SESSION, new Uint8Array(43).fill(1))).toBe(m)
    expect(payload('to-client', FRAME_SESSION, new Uint8Array(44 + 256).fill(1))).toBeUndefined()
    expect(payload('to-client', FRAME_SESSION, new Uint8Array(44 + 257).fill(1))).toBe(m)

    expect(payload('to-node', FRAME_TERMINATE, new Uint8Array(0))).toBe(m)
    expect(payload('to-node', FRAME_TERMINATE, new Uint8Array(257))).toBeUndefined()
    expect(payload('to-node', FRAME_TERMINATE, new Uint8Array(258))).toBe(m)
    expect(payload('to-node', 0x30, new Uint8Array(193))).toBe(m)
    expect(payload('to-node', 0x31, new Uint8Array(41))).toBe(m)
  })

  test('REQUEST: pointer length and UTF-8, range, flags', () => {
    const m = 'WIRE_MALFORMED'
    const request = (flags: number, start: bigint, end: bigint, pointer: Uint8Array) => {
      const p = new Uint8Array(21 + pointer.length)
      const view = new DataView(p.buffer)
      p[0] = flags
      view.setBigUint64(1, start)
      view.setBigUint64(9, end)
      view.setUint32(17, 0xffffffff)
      p.set(pointer, 21)
      return p
    }
    const ok = utf8.encode('blake3:00')
    expect(payload('to-node', FRAME_REQUEST, request(0, 0n, 0n, ok))).toBeUndefined()
    expect(payload('to-node', FRAME_REQUEST, request(1, 5n, 5n, ok))).toBeUndefined()
    expect(payload('to-node', FRAME_REQUEST, request(0, 0n, 0n, new Uint8Array(0)))).toBe(m)
    expect(
      payload('to-node', FRAME_REQUEST, request(0, 0n, 0n, new Uint8Array(2048).fill(0x61))),
    ).toBeUndefined()
    expect(
      payload('to-node', FRAME_REQUEST, request(0, 0n, 0n, new Uint8Array(2049).fill(0x61))),
    ).toBe(m)
    expect(payload('to-node', FRAME_REQUEST, request(0, 0n, 0n, Uint8Array.of(0x61, 0xff)))).toBe(m)
    expect(payload('to-node', FRAME_REQUEST, request(0, 0n, 0n, Uint8Array.of(0xe2, 0x82)))).toBe(m)
    expect(payload('to-node', FRAME_REQUEST, request(1, 6n, 5n, ok))).toBe(m)
    expect(payload('to-node', FRAME_REQUEST, request(1, 0n, 1n << 53n, ok))).toBe(m)
    expect(payload('to-node', FRAME_REQUEST, request(1, 0n, (1n << 53n) - 1n, ok))).toBeUndefined()
    expect(payload('to-node', FRAME_REQUEST, request(2, 0n, 0n, ok))).toBe(m)
    expect(payload('to-node', FRAME_REQUEST, request(0, 1n, 2n, ok))).toBe(m)
    // A BOM is part of the pointer, not dropped.
    const bom = encodeSessionFrame({ kind: 'request', pointer: '\ufeffx' })
    expect(decodeAll('to-node', [bom])).toEqual([{ kind: 'request', pointer: '\ufeffx' }])
  })

  test('a TERMINATE message is cut to 256 bytes at a character boundary', () => {
    const long = 'é'.repeat(200)
    const [frame] = decodeAll('to-client', [
      encodeSessionFrame({ kind: 'terminate', reason: 0x81, message: long }),
    ])
    expect(frame).toEqual({ kind: 'terminate', reason: 0x81, message: 'é'.repeat(128) })
  })

  test('the encoder refuses values the format cannot carry', () => {
    const bad: SessionFrame[] = [
      { kind: 'hello', service: -1, retry: 0n, clientKey: fill(32, 0), signature: fill(64, 0) },
      { kind: 'hello', service: 0, retry: -1n, clientKey: fill(32, 0), signature: fill(64, 0) },
      { kind: 'hello', service: 0, retry: 0n, clientKey: fill(31, 0), signature: fill(64, 0) },
      { kind: 'join', session: 0n, token: fill(32, 0) },
      {
        kind: 'session',
        session: 1n,
        token: fill(32, 0),
        tokenTtlMs: 2 ** 32,
        greeting: new Uint8Array(0),
      },
      {
        kind: 'session',
        session: 1n,
        token: fill(32, 0),
        tokenTtlMs: 1,
        greeting: new Uint8Array(257),
      },
      { kind: 'request', pointer: '' },
      { kind: 'request', pointer: 'a'.repeat(2049) },
      { kind: 'request', pointer: 'a', range: { start: 2, end: 1 } },
      { kind: 'request', pointer: 'a', range: { start: 0, end: 2 ** 53 } },
      { kind: 'request', pointer: 'a', resumeBlock: 0xffffffff },
      { kind: 'reveal', seq: 1.5, index: 0, value: fill(32, 0) },
      { kind: 'commit', commitment: fill(129, 0), signature: fill(64, 0) },
    ]
    for (const f of bad) expect(() => encodeSessionFrame(f)).toThrow(RangeError)
  })

  test('random bytes only ever produce frames or a typed WireError (fuzz)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<FrameDirection>('to-node', 'to-client'),
        fc.uint8Array({ maxLength: 600 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (direction, b, points) => {
          wireCodeOf(() => decodeAll(direction, cut(b, points), 256))
        },
      ),
      { numRuns: 2000 },
    )
  })

  test('mutated valid frames only ever produce frames or a typed WireError (fuzz)', () => {
    const streams = (['to-node', 'to-client'] as const).map((direction) => ({
      direction,
      bytes: concat(samples[direction].map(encodeSessionFrame)),
    }))
    const mutation = fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        at: fc.nat(),
        value: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({
        op: fc.constant('delete' as const),
        at: fc.nat(),
        n: fc.integer({ min: 1, max: 8 }),
      }),
      fc.record({
        op: fc.constant('insert' as const),
        at: fc.nat(),
        b: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      }),
    )
    fc.assert(
      fc.property(
        fc.constantFrom(...streams),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        ({ direction, bytes: original }, mutations, points) => {
          let b: Uint8Array = original.slice()
          for (const mu of mutations) {
            const at = mu.at % (b.length + 1)
            if (mu.op === 'set') {
              if (at < b.length) b[at] = mu.value
            } else if (mu.op === 'delete') {
              b = concat([b.subarray(0, at), b.subarray(at + mu.n)])
            } else {
              b = concat([b.subarray(0, at), mu.b, b.subarray(at)])
            }
          }
          wireCodeOf(() => decodeAll(direction, cut(b, points)))
        },
      ),
      { numRuns: 3000 },
    )
  })

  test("the CDN's greeting (window and unit, in SESSION) round trips; other sizes are malformed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), u32, (ackWindow, unit) => {
        expect(decodeCdnGreeting(encodeCdnGreeting({ ackWindow, unit }))).toEqual({
          ackWindow,
          unit,
        })
      }),
    )
    const greeting = encodeCdnGreeting({ ackWindow: 16, unit: 262_144 })
    expect(greeting.length).toBe(6)
    expect(wireCodeOf(() => decodeCdnGreeting(greeting.subarray(1)))).toBe('WIRE_MALFORMED')
    expect(wireCodeOf(() => decodeCdnGreeting(concat([greeting, Uint8Array.of(0)])))).toBe(
      'WIRE_MALFORMED',
    )
    expect(() => encodeCdnGreeting({ ackWindow: 0x10000, unit: 1 })).toThrow(RangeError)
    expect(() => encodeCdnGreeting({ ackWindow: 1, unit: 2 ** 32 })).toThrow(RangeError)
  })

  test('content frames pass through to the client unchanged', () => {
    const frames = samples['to-client'].slice(3) as WireFrame[]
    const bytes = concat(frames.map(encodeFrame))
    expect(decodeAll('to-client', [bytes])).toEqual(frames)
  })
})
