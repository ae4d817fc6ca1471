import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { WireError } from '../../wire/errors.ts'
import { CodecDecoder } from '../../wire/frame-codec.ts'
import { encodeRawFrame, framePrefix } from '../../wire/frame-splitter.ts'
import { concat, cut, wireCodeOf } from '../../wire/testing/bytes.ts'
import { ConsensusError } from '../errors.ts'
import {
  CONSENSUS_FRAMES,
  type ConsensusFrame,
  FRAME_ATTESTATION,
  FRAME_BATCH,
  FRAME_BATCH_REQUEST,
  FRAME_CERTIFICATE,
  FRAME_CERTIFICATE_RANGE,
  FRAME_CERTIFICATE_REQUEST,
  FRAME_CHECKPOINT_SIGNATURE,
  FRAME_HEADER,
  FRAME_POSITION,
  FRAME_POSITION_REQUEST,
  FRAME_VOTE,
  MAX_CONSENSUS_PAYLOAD,
  MAX_REQUEST_DIGESTS,
} from './consensus-frames.ts'
import { encodeBatch, MAX_BATCH_ENCODED_BYTES, MAX_BATCH_TRANSACTIONS } from './narwhal-batch.ts'
import {
  type Certificate,
  compareBytes,
  type Header,
  MAX_COMMITTEE,
  MAX_HEADER_BATCHES,
  signerBitfield,
} from './narwhal-messages.ts'

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n })
const digest = bytes(32)
const member = fc.nat({ max: MAX_COMMITTEE - 1 })
const round = fc.integer({ min: 1, max: 2 ** 40 })

const header: fc.Arbitrary<Header> = fc.record({
  epoch: fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
  round,
  author: member,
  parents: fc
    .uniqueArray(digest, { maxLength: 8, comparator: (a, b) => compareBytes(a, b) === 0 })
    .map((ds) => [...ds].sort(compareBytes)),
  batches: fc.array(digest, { maxLength: 8 }),
  timestampMs: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  signature: bytes(64),
})

const certificate: fc.Arbitrary<Certificate> = fc
  .tuple(header, fc.uniqueArray(fc.nat({ max: 40 }), { minLength: 1, maxLength: 10 }))
  .chain(([h, signers]) =>
    fc.array(bytes(64), { minLength: signers.length, maxLength: signers.length }).map((sigs) => ({
      header: h,
      signers: signerBitfield(signers),
      signatures: sigs,
    })),
  )

const digests = fc.array(digest, { minLength: 1, maxLength: 40 })

const frame: fc.Arbitrary<ConsensusFrame> = fc.oneof(
  header.map((h) => ({ kind: 'header' as const, header: h })),
  fc
    .record({
      headerDigest: digest,
      round,
      author: member,
      voter: member,
      signature: bytes(64),
    })
    .map((vote) => ({ kind: 'vote' as const, vote })),
  certificate.map((c) => ({ kind: 'certificate' as const, certificate: c })),
  digests.map((ds) => ({ kind: 'certificate-request' as const, digests: ds })),
  fc
    .array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 20 })
    .map((txs) => ({ kind: 'batch' as const, encoded: encodeBatch(txs) })),
  digests.map((ds) => ({ kind: 'batch-request' as const, digests: ds })),
  fc
    .record({
      height: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      blockHash: bytes(32),
      signature: bytes(48),
    })
    .map((a) => ({ kind: 'attestation' as const, ...a })),
  fc
    .record({
      height: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      checkpointHash: bytes(32),
      signature: bytes(48),
    })
    .map((a) => ({ kind: 'checkpoint-signature' as const, ...a })),
  fc
    .integer({ min: 0, max: Number.MAX_SAFE_INTEGER })
    .map((fromRound) => ({ kind: 'certificate-range' as const, fromRound })),
  fc
    .record({
      epoch: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      height: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    })
    .map((r) => ({ kind: 'position-request' as const, ...r })),
  fc
    .record({
      epoch: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      height: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      blockHash: bytes(32),
      committedRound: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    })
    .map((r) => ({ kind: 'position' as const, ...r })),
)

function decodeAll(stream: Uint8Array[]): ConsensusFrame[] {
  const decoder = new CodecDecoder(CONSENSUS_FRAMES)
  const out = stream.flatMap((chunk) => decoder.push(chunk))
  decoder.end()
  return out
}

describe('consensus frames', () => {
  test('every kind round trips, over a stream cut anywhere', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 6 }), fc.array(fc.nat()), (fs, at) => {
        const encoded = concat(fs.map((f) => CONSENSUS_FRAMES.encode(f)))
        expect(decodeAll(cut(encoded, at))).toEqual(fs)
      }),
      { numRuns: 200 },
    )
  })

  test('kinds 0x70-0x7a only', () => {
    const kinds = [
      FRAME_HEADER,
      FRAME_VOTE,
      FRAME_CERTIFICATE,
      FRAME_CERTIFICATE_REQUEST,
      FRAME_BATCH,
      FRAME_BATCH_REQUEST,
      FRAME_ATTESTATION,
      FRAME_CERTIFICATE_RANGE,
      FRAME_POSITION_REQUEST,
      FRAME_POSITION,
      FRAME_CHECKPOINT_SIGNATURE,
    ]
    expect(kinds).toEqual([0x70, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a])
    for (let k = 0; k < 256; k++) expect(CONSENSUS_FRAMES.accepts(k)).toBe(kinds.includes(k))
    expect(wireCodeOf(() => decodeAll([encodeRawFrame(0x50, new Uint8Array(1))]))).toBe(
      'WIRE_UNKNOWN_FRAME',
    )
  })

  test('the largest batch and the largest certificate fit the payload limit', () => {
    expect(MAX_CONSENSUS_PAYLOAD).toBeGreaterThanOrEqual(MAX_BATCH_ENCODED_BYTES)
    const batch = encodeBatch(
      Array.from({ length: MAX_BATCH_TRANSACTIONS }, () => new Uint8Array(64)),
    )
    expect(decodeAll([CONSENSUS_FRAMES.encode({ kind: 'batch', encoded: batch })])).toHaveLength(1)
    const all = Array.from({ length: MAX_COMMITTEE }, (_, i) => i)
    const sorted = Array.from({ length: MAX_COMMITTEE }, (_, i) => {
      const d = new Uint8Array(32)
      d[0] = i >> 8
      d[1] = i & 0xff
      return d
    })
    const big: ConsensusFrame = {
      kind: 'certificate',
      certificate: {
        header: {
          epoch: 1n,
          round: 1_000_000,
          author: 1023,
          parents: sorted,
          batches: Array.from({ length: MAX_HEADER_BATCHES }, () => new Uint8Array(32)),
          timestampMs: Number.MAX_SAFE_INTEGER,
          signature: new Uint8Array(64),
        },
        signers: signerBitfield(all),
        signatures: all.map(() => new Uint8Array(64)),
      },
    }
    const encoded = CONSENSUS_FRAMES.encode(big)
    expect(encoded.length - 5).toBeLessThan(MAX_CONSENSUS_PAYLOAD)
    expect(decodeAll([encoded])).toEqual([big])
  })

  test('oversized frames are refused at their 5-byte prefix', () => {
    for (const kind of [FRAME_HEADER, FRAME_BATCH, FRAME_BATCH_REQUEST]) {
      const decoder = new CodecDecoder(CONSENSUS_FRAMES)
      expect(wireCodeOf(() => decoder.push(framePrefix(kind, MAX_CONSENSUS_PAYLOAD + 1)))).toBe(
        'WIRE_FRAME_TOO_LARGE',
      )
    }
    expect(() =>
      CONSENSUS_FRAMES.encode({
        kind: 'batch',
        encoded: new Uint8Array(MAX_CONSENSUS_PAYLOAD + 1),
      }),
    ).toThrow(RangeError)
  })

  test('requests name 1..1024 whole digests', () => {
    const many = Array.from({ length: MAX_REQUEST_DIGESTS }, () => new Uint8Array(32))
    const f: ConsensusFrame = { kind: 'batch-request', digests: many }
    expect(decodeAll([CONSENSUS_FRAMES.encode(f)])).toEqual([f])
    expect(() =>
      CONSENSUS_FRAMES.encode({ kind: 'batch-request', digests: [...many, new Uint8Array(32)] }),
    ).toThrow(RangeError)
    expect(() => CONSENSUS_FRAMES.encode({ kind: 'certificate-request', digests: [] })).toThrow(
      RangeError,
    )
    expect(() =>
      CONSENSUS_FRAMES.encode({ kind: 'certificate-request', digests: [new Uint8Array(31)] }),
    ).toThrow(RangeError)
    for (const payload of [
      new Uint8Array(0),
      new Uint8Array(33),
      new Uint8Array(32 * (MAX_REQUEST_DIGESTS + 1)),
    ]) {
      for (const kind of [FRAME_CERTIFICATE_REQUEST, FRAME_BATCH_REQUEST]) {
        expect(wireCodeOf(() => decodeAll([encodeRawFrame(kind, payload)]))).toBe('WIRE_MALFORMED')
      }
    }
  })

  test('a malformed message is WIRE_MALFORMED, its ConsensusError the cause', () => {
    for (const kind of [FRAME_HEADER, FRAME_VOTE, FRAME_CERTIFICATE, FRAME_BATCH]) {
      try {
        decodeAll([encodeRawFrame(kind, new Uint8Array([0xa0]))])
        expect.unreachable()
      } catch (e) {
        expect(e).toBeInstanceOf(WireError)
        expect((e as WireError).code).toBe('WIRE_MALFORMED')
        expect((e as WireError).cause).toBeInstanceOf(ConsensusError)
      }
    }
  })

  test('fuzz: random and mutated frames decode or throw WireError, never anything else', () => {
    const mutated = fc
      .tuple(
        frame,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      )
      .map(([f, edits]) => {
        const b = CONSENSUS_FRAMES.encode(f)
        // Keep the prefix's kind and length mostly intact, so the payload decoders are reached.
        for (const [at, value] of edits) b[5 + (at % Math.max(1, b.length - 5))] = value
        return b
      })
    const random = fc
      .tuple(fc.integer({ min: 0x6e, max: 0x7b }), fc.uint8Array({ maxLength: 200 }))
      .map(([kind, payload]) => encodeRawFrame(kind, payload))
    const raw = fc.uint8Array({ maxLength: 200 })
    fc.assert(
      fc.property(
        fc.array(fc.oneof(mutated, random, raw), { minLength: 1, maxLength: 4 }),
        (fs) => {
          const stream = concat(fs)
          const code = wireCodeOf(() => decodeAll([stream]))
          if (code === undefined) {
            // What decodes encodes back to the same bytes (one encoding per frame).
            const again = concat(decodeAll([stream]).map((f) => CONSENSUS_FRAMES.encode(f)))
            expect(again).toEqual(stream)
          }
        },
      ),
      { numRuns: 1000 },
    )
  })
})
