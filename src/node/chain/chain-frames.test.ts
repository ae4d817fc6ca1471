import * as dagCbor from '@ipld/dag-cbor'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { WireError } from '../../wire/errors.ts'
import { CodecDecoder } from '../../wire/frame-codec.ts'
import { type ChainRequest, MAX_CHAIN_BODY } from './chain-api.ts'
import {
  type ChainFrame,
  chainCodec,
  decodeChainPayload,
  encodeChainFrame,
  FRAME_CHAIN_REQUEST,
  MAX_KEY_TEXT,
  MAX_TABLE_NAME,
} from './chain-frames.ts'

const requestArb: fc.Arbitrary<ChainRequest> = fc.oneof(
  fc.constant({ op: 'head' as const }),
  fc.record({
    op: fc.constant('tx' as const),
    digest: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  }),
  fc.record({ op: fc.constant('submit' as const), tx: fc.uint8Array({ maxLength: 600 }) }),
  fc.record({
    op: fc.constant('block' as const),
    height: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  }),
  fc.record({
    op: fc.constant('state' as const),
    table: fc.string({ maxLength: MAX_TABLE_NAME }),
    key: fc.string({ maxLength: MAX_KEY_TEXT }),
  }),
  fc.record({
    op: fc.constant('state' as const),
    table: fc.string({ maxLength: MAX_TABLE_NAME }),
    key: fc.string({ maxLength: MAX_KEY_TEXT }),
    height: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  }),
  fc.record({
    op: fc.constant('checkpoints' as const),
    from: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  }),
)

/** A JSON value as the routes answer (no -0, no NaN: JSON has neither). */
const jsonArb = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown)

/** The one frame of `bytes`, read by the end that `direction` names. */
function readOne(bytes: Uint8Array, direction: 'to-node' | 'to-peer'): ChainFrame {
  const decoder = new CodecDecoder(chainCodec(direction))
  const frames = decoder.push(bytes)
  decoder.end()
  expect(frames).toHaveLength(1)
  return frames[0]!
}

function wireCode(run: () => unknown): string | undefined {
  try {
    run()
    return undefined
  } catch (e) {
    if (e instanceof WireError) return e.code
    throw e
  }
}

describe('chain frames', () => {
  test('requests, results and errors decode to what was encoded', () => {
    fc.assert(
      fc.property(requestArb, (request) => {
        const frame = readOne(encodeChainFrame({ kind: 'request', request }), 'to-node')
        expect(frame).toEqual({ kind: 'request', request })
      }),
    )
    fc.assert(
      fc.property(jsonArb, (result) => {
        expect(readOne(encodeChainFrame({ kind: 'result', result }), 'to-peer')).toEqual({
          kind: 'result',
          result,
        })
      }),
    )
    const error = { kind: 'error', code: 'TX_BAD_SIGNATURE', message: 'no', status: 400 } as const
    expect(readOne(encodeChainFrame(error), 'to-peer')).toEqual(error)
  })

  test('each end reads only what the other may send', () => {
    const request = encodeChainFrame({ kind: 'request', request: { op: 'head' } })
    const result = encodeChainFrame({ kind: 'result', result: { height: 1 } })
    expect(wireCode(() => readOne(request, 'to-peer'))).toBe('WIRE_UNKNOWN_FRAME')
    expect(wireCode(() => readOne(result, 'to-node'))).toBe('WIRE_UNKNOWN_FRAME')
  })

  test('the encoder refuses what the format cannot carry', () => {
    const big = new Uint8Array(MAX_CHAIN_BODY + 1)
    expect(() => encodeChainFrame({ kind: 'request', request: { op: 'submit', tx: big } })).toThrow(
      RangeError,
    )
    expect(() =>
      encodeChainFrame({ kind: 'request', request: { op: 'tx', digest: new Uint8Array(31) } }),
    ).toThrow(RangeError)
    expect(() =>
      encodeChainFrame({ kind: 'request', request: { op: 'block', height: -1 } }),
    ).toThrow(RangeError)
  })

  test('requests that are not one of the six are WireErrors: fields, types, extras, ops', () => {
    const cases: Record<string, unknown>[] = [
      { op: 'heads' },
      { op: 'head', extra: 1 },
      { op: 'tx', digest: new Uint8Array(31) },
      { op: 'tx', digest: 'ab' },
      { op: 'block', height: -1 },
      { op: 'block', height: 1.5 },
      { op: 'state', table: 'accounts' },
      { op: 'state', table: 'accounts', key: 'k', height: -1 },
      { op: 'checkpoints' },
      { op: 'checkpoints', from: 1.5 },
      { op: 'state', table: 'a'.repeat(MAX_TABLE_NAME + 1), key: 'k' },
      { op: 'submit', tx: new Uint8Array(MAX_CHAIN_BODY + 1) },
      {},
    ]
    for (const map of cases) {
      // dag-cbor's own encoder: canonical, so only the shape is wrong.
      const bytes = dagCbor.encode(map)
      expect(
        wireCode(() => decodeChainPayload(FRAME_CHAIN_REQUEST, bytes)),
        JSON.stringify(map),
      ).toBe('WIRE_MALFORMED')
    }
  })

  test('fuzz: random and mutated payloads decode or fail with a WireError, never otherwise', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0x50, max: 0x52 }),
        fc.uint8Array({ maxLength: 300 }),
        (kind, payload) => {
          wireCode(() => decodeChainPayload(kind, payload))
        },
      ),
      { numRuns: 2000 },
    )
    fc.assert(
      fc.property(
        requestArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (request, flips) => {
          const bytes = encodeChainFrame({ kind: 'request', request }).slice(5)
          for (const [at, value] of flips) bytes[at % bytes.length] = value
          const code = wireCode(() => decodeChainPayload(FRAME_CHAIN_REQUEST, bytes))
          expect(code === undefined || code === 'WIRE_MALFORMED').toBe(true)
        },
      ),
      { numRuns: 2000 },
    )
  })
})
