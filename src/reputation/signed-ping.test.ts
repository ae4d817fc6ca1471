import { ed25519 } from '@noble/curves/ed25519.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { WireError } from '../wire/errors.ts'
import { CodecDecoder } from '../wire/frame-codec.ts'
import { ReputationError } from './errors.ts'
import {
  answerPing,
  decodePingPayload,
  decodePongPayload,
  encodePing,
  encodePong,
  FRAME_PING,
  FRAME_PONG,
  MAX_PAD,
  pingCodec,
  pingNonce,
  pongSigner,
  verifyPong,
} from './signed-ping.ts'

const seed = new Uint8Array(32).fill(7)
const node = ed25519.getPublicKey(seed)
const otherSeed = new Uint8Array(32).fill(9)
const other = ed25519.getPublicKey(otherSeed)

const payloadOf = (frame: Uint8Array) => frame.subarray(5)

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (e) {
    return (e as { code?: string }).code
  }
  return undefined
}

describe('signed pings', () => {
  test('a ping and its pong round-trip through the codecs, and the pong verifies', () => {
    const ping = { nonce: pingNonce(), pad: 300 }
    const [decodedPing] = new CodecDecoder(pingCodec('to-answerer')).push(encodePing(ping))
    expect(decodedPing).toEqual({ kind: 'ping', ...ping })
    const pong = answerPing(ping, pongSigner(seed), 1_700_000_000_000)
    const [decodedPong] = new CodecDecoder(pingCodec('to-pinger')).push(encodePong(pong))
    expect(decodedPong).toEqual({ kind: 'pong', ...pong })
    expect(pong.pad.length).toBe(300)
    verifyPong(pong, { nonce: ping.nonce, node })
  })

  test('a pong for another nonce, from another node, or badly signed is refused by code', () => {
    const ping = { nonce: pingNonce(), pad: 0 }
    const pong = answerPing(ping, pongSigner(seed))
    expect(codeOf(() => verifyPong(pong, { nonce: pingNonce(), node }))).toBe('PONG_WRONG_NONCE')
    expect(codeOf(() => verifyPong(pong, { nonce: ping.nonce, node: other }))).toBe(
      'PONG_WRONG_NODE',
    )
    // A relay that answers in the node's name with its own key.
    const forged = { ...answerPing(ping, pongSigner(otherSeed)), node }
    expect(codeOf(() => verifyPong(forged, { nonce: ping.nonce, node }))).toBe('PONG_BAD_SIGNATURE')
    // The clock or the pad length changed on the way.
    expect(
      codeOf(() => verifyPong({ ...pong, at: pong.at + 1 }, { nonce: ping.nonce, node })),
    ).toBe('PONG_BAD_SIGNATURE')
    expect(
      codeOf(() => verifyPong({ ...pong, pad: new Uint8Array(1) }, { nonce: ping.nonce, node })),
    ).toBe('PONG_BAD_SIGNATURE')
  })

  test('strict decoding: unknown fields, wrong lengths, a pad too long or not zeros', () => {
    const pong = answerPing({ nonce: pingNonce(), pad: 4 }, pongSigner(seed))
    const bad = [
      () => decodePingPayload(new Uint8Array([0xa0])),
      () => decodePingPayload(payloadOf(encodePing({ nonce: pingNonce(), pad: 1 })).slice(0, -1)),
      () => decodePongPayload(payloadOf(encodePong({ ...pong, pad: Uint8Array.of(0, 1, 0, 0) }))),
    ]
    for (const f of bad) {
      const error = (() => {
        try {
          f()
        } catch (e) {
          return e
        }
      })()
      expect(error).toBeInstanceOf(ReputationError)
      expect((error as ReputationError).code).toBe('PING_MALFORMED')
    }
    expect(() => encodePing({ nonce: pingNonce(), pad: MAX_PAD + 1 })).toThrow(RangeError)
    expect(() => encodePing({ nonce: new Uint8Array(15), pad: 0 })).toThrow(RangeError)
    // A pong sent to the answerer, a ping to the pinger: refused at the prefix.
    expect(() => new CodecDecoder(pingCodec('to-answerer')).push(encodePong(pong))).toThrow(
      WireError,
    )
  })

  test('fuzz: the decoders throw only typed errors, and what decodes re-encodes to itself', () => {
    const codec = { ping: pingCodec('to-answerer'), pong: pingCodec('to-pinger') }
    const valid = encodePong(answerPing({ nonce: pingNonce(), pad: 2 }, pongSigner(seed), 5))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          // Mutations of a valid pong payload: flipped bytes and truncations.
          fc.tuple(fc.nat(valid.length - 6), fc.integer({ min: 1, max: 255 })).map(([at, x]) => {
            const b = payloadOf(valid).slice()
            b[at] = (b[at] ?? 0) ^ x
            return b
          }),
          fc.nat(valid.length - 6).map((n) => payloadOf(valid).slice(0, n)),
        ),
        (payload) => {
          for (const [kind, c] of [
            [FRAME_PING, codec.ping],
            [FRAME_PONG, codec.pong],
          ] as const) {
            let frame: unknown
            try {
              frame = c.decode(kind, payload)
            } catch (e) {
              expect(e).toBeInstanceOf(WireError)
              expect((e as WireError).code).toBe('WIRE_MALFORMED')
              continue
            }
            const encoded = c.encode(frame as never)
            expect(payloadOf(encoded)).toEqual(payload)
          }
        },
      ),
      { numRuns: 2000 },
    )
  })
})
