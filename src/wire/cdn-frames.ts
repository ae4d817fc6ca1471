/**
 * Frames of the CDN service (service 0) on a session stream, after the handshake
 * (handshake-frames.ts; docs/protocol.md "Sessions"): the client's REQUEST, COMMIT and REVEAL,
 * the node's content bodies (frames 1–4, content-frames.ts), and the service's greeting, which
 * the node's SESSION grant carries.
 *
 *   REQUEST   0x20  flags:u8 rangeStart:u64be rangeEnd:u64be resumeBlock:u32be pointer:utf8
 *   COMMIT    0x30  commitment[130] signature[64]
 *   REVEAL    0x31  seq:u32be index:u32be value[32]
 *   greeting        ackWindow:u16be unit:u32be
 *
 * Decoding is strict, so that every valid frame has exactly one encoding: reserved REQUEST flag
 * bits and the range fields of a REQUEST without a range must be zero.
 */
import type { ByteRange } from '../b3/verified-stream.ts'
import {
  decodeContentFrame,
  encodeFrame,
  isContentFrameKind,
  MAX_FRAME_PAYLOAD,
  type WireFrame,
} from './content-frames.ts'
import type { FrameCodec } from './frame-codec.ts'
import { DEFAULT_MAX_REQUEST, type FrameDirection, SIGNATURE_LEN } from './handshake-frames.ts'
import { malformed, PayloadReader, PayloadWriter } from './payload.ts'

export const FRAME_REQUEST = 0x20
export const FRAME_COMMIT = 0x30
export const FRAME_REVEAL = 0x31

export const COMMITMENT_LEN = 130
export const REVEAL_VALUE_LEN = 32
export const MAX_POINTER_LEN = 2048

/** REQUEST `resumeBlock` when the client resumes nothing. */
const NO_RESUME = 0xffffffff
/** REQUEST flag: `rangeStart`/`rangeEnd` are set. */
const FLAG_RANGE = 1

const REQUEST_FIXED_LEN = 1 + 8 + 8 + 4
const COMMIT_LEN = COMMITMENT_LEN + SIGNATURE_LEN
const REVEAL_LEN = 4 + 4 + REVEAL_VALUE_LEN
const GREETING_LEN = 2 + 4

export interface RequestFrame {
  readonly kind: 'request'
  readonly pointer: string
  readonly range?: ByteRange
  readonly resumeBlock?: number
}

export interface CommitFrame {
  readonly kind: 'commit'
  /** 130 bytes; its fields belong to the acknowledgement layer, not to the wire. */
  readonly commitment: Uint8Array
  readonly signature: Uint8Array
}

export interface RevealFrame {
  readonly kind: 'reveal'
  readonly seq: number
  readonly index: number
  readonly value: Uint8Array
}

/** Every frame of a CDN stream after the handshake, both directions. */
export type CdnFrame = WireFrame | RequestFrame | CommitFrame | RevealFrame

/** The CDN's parameters for a session, sent in the SESSION grant. */
export interface CdnGreeting {
  /** W: blocks the node sends ahead of the client's last acknowledgement. */
  readonly ackWindow: number
  /** Bytes of one acknowledgement unit (one block). */
  readonly unit: number
}

const utf8 = new TextEncoder()

/** The frame's bytes, prefix included. Throws RangeError on values the format cannot carry. */
export function encodeCdnFrame(f: CdnFrame): Uint8Array {
  switch (f.kind) {
    case 'header':
    case 'proof':
    case 'data':
    case 'error':
      return encodeFrame(f)
    case 'request': {
      const pointer = utf8.encode(f.pointer)
      if (pointer.length === 0 || pointer.length > MAX_POINTER_LEN) {
        throw new RangeError(`pointer must be 1..${MAX_POINTER_LEN} bytes, got ${pointer.length}`)
      }
      const { range, resumeBlock } = f
      if (range !== undefined && !(range.start <= range.end)) {
        throw new RangeError(`range ${range.start}-${range.end} ends before it starts`)
      }
      if (resumeBlock === NO_RESUME) throw new RangeError(`resumeBlock ${NO_RESUME} means none`)
      return new PayloadWriter(REQUEST_FIXED_LEN + pointer.length)
        .u8(range === undefined ? 0 : FLAG_RANGE, 'flags')
        .u64(range?.start ?? 0, 'rangeStart')
        .u64(range?.end ?? 0, 'rangeEnd')
        .u32(resumeBlock ?? NO_RESUME, 'resumeBlock')
        .raw(pointer, undefined, 'pointer')
        .frame(FRAME_REQUEST)
    }
    case 'commit':
      return new PayloadWriter(COMMIT_LEN)
        .raw(f.commitment, COMMITMENT_LEN, 'commitment')
        .raw(f.signature, SIGNATURE_LEN, 'signature')
        .frame(FRAME_COMMIT)
    case 'reveal':
      return new PayloadWriter(REVEAL_LEN)
        .u32(f.seq, 'seq')
        .u32(f.index, 'index')
        .raw(f.value, REVEAL_VALUE_LEN, 'value')
        .frame(FRAME_REVEAL)
  }
}

function decodeRequest(payload: Uint8Array): RequestFrame {
  if (payload.length < REQUEST_FIXED_LEN + 1) {
    throw malformed(`REQUEST of ${payload.length} bytes has no pointer`)
  }
  const r = new PayloadReader(payload, 'REQUEST')
  const flags = r.u8('flags')
  if ((flags & ~FLAG_RANGE) !== 0) throw malformed(`REQUEST flags 0x${flags.toString(16)}`)
  const start = r.u64('range start')
  const end = r.u64('range end')
  const resume = r.u32('resumeBlock')
  if (r.remaining > MAX_POINTER_LEN) {
    throw malformed(`pointer of ${r.remaining} bytes exceeds ${MAX_POINTER_LEN}`)
  }
  let pointer: string
  try {
    pointer = r.utf8(r.remaining, 'pointer')
  } catch {
    throw malformed('pointer is not valid UTF-8')
  }
  let range: ByteRange | undefined
  if ((flags & FLAG_RANGE) !== 0) {
    range = { start: safe(start, 'range start'), end: safe(end, 'range end') }
    if (range.start > range.end) throw malformed(`range ${range.start}-${range.end} is reversed`)
  } else if (start !== 0n || end !== 0n) {
    throw malformed('REQUEST without the range flag has range fields set')
  }
  return {
    kind: 'request',
    pointer,
    ...(range !== undefined && { range }),
    ...(resume !== NO_RESUME && { resumeBlock: resume }),
  }
}

function safe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`${what} ${v} is too large`)
  return Number(v)
}

/** Decodes the payload of a CDN frame of `kind` (any direction); WIRE_UNKNOWN_FRAME for others. */
export function decodeCdnPayload(kind: number, payload: Uint8Array): CdnFrame {
  switch (kind) {
    case FRAME_REQUEST:
      return decodeRequest(payload)
    case FRAME_COMMIT: {
      const r = PayloadReader.exact(payload, COMMIT_LEN, 'COMMIT')
      return {
        kind: 'commit',
        commitment: r.bytes(COMMITMENT_LEN, 'commitment'),
        signature: r.bytes(SIGNATURE_LEN, 'signature'),
      }
    }
    case FRAME_REVEAL: {
      const r = PayloadReader.exact(payload, REVEAL_LEN, 'REVEAL')
      return {
        kind: 'reveal',
        seq: r.u32('seq'),
        index: r.u32('index'),
        value: r.bytes(REVEAL_VALUE_LEN, 'value'),
      }
    }
    default:
      // Content frames, or WIRE_UNKNOWN_FRAME for anything else.
      return decodeContentFrame(kind, payload)
  }
}

const TO_NODE: ReadonlySet<number> = new Set([FRAME_REQUEST, FRAME_COMMIT, FRAME_REVEAL])

/** Whether a CDN frame of `kind` may travel in `direction`. */
export function isCdnKind(direction: FrameDirection, kind: number): boolean {
  return direction === 'to-node' ? TO_NODE.has(kind) : isContentFrameKind(kind)
}

/**
 * The CDN's frames as read by one end: the node reads requests and acknowledgements (up to its
 * default `maxRequest`), the client reads content bodies (a block in one DATA frame).
 */
export const CDN_CODEC: Readonly<Record<FrameDirection, FrameCodec<CdnFrame>>> = {
  'to-node': {
    accepts: (kind) => TO_NODE.has(kind),
    maxPayload: DEFAULT_MAX_REQUEST,
    decode: decodeCdnPayload,
    encode: encodeCdnFrame,
  },
  'to-client': {
    accepts: isContentFrameKind,
    maxPayload: MAX_FRAME_PAYLOAD,
    decode: decodeCdnPayload,
    encode: encodeCdnFrame,
  },
}

/** The greeting's bytes. */
export function encodeCdnGreeting(g: CdnGreeting): Uint8Array {
  return new PayloadWriter(GREETING_LEN).u16(g.ackWindow, 'ackWindow').u32(g.unit, 'unit').bytes()
}

/** Reads a greeting (untrusted: WIRE_MALFORMED when it is not one). */
export function decodeCdnGreeting(bytes: Uint8Array): CdnGreeting {
  const r = PayloadReader.exact(bytes, GREETING_LEN, 'CDN greeting')
  return { ackWindow: r.u16('ackWindow'), unit: r.u32('unit') }
}
