/**
 * Frames of a proof-carrying content body: what the gateway's framed responses and the CDN
 * service's session streams carry (docs/protocol.md).
 *
 *   frame   = kind:u8  length:u32be  payload[length]
 *   HEADER  (1) version:u8=1  root[32]  length:u64be  rangeStart:u64be  rangeEnd:u64be
 *   PROOF   (2) Lightning-encoded proof for the next block (may be empty)
 *   DATA    (3) content bytes, in order (a block may span several DATA frames)
 *   ERROR   (4) code:u16be  message:utf8 — the sender gives up; nothing after it
 *
 * A body is HEADER, then for each block of the range its PROOF and DATA frames, then the end
 * of the stream (or one ERROR frame).
 */
import { HASH_LEN, TREE_BLOCK_LEN } from '../b3/constants.ts'
import { WireError } from './errors.ts'
import {
  CodecDecoder,
  type CodecDecoderOptions,
  decodeCodecFrames,
  type FrameCodec,
} from './frame-codec.ts'
import { encodeRawFrame } from './frame-splitter.ts'
import { malformed, PayloadReader, PayloadWriter } from './payload.ts'

export const FRAME_HEADER = 1
export const FRAME_PROOF = 2
export const FRAME_DATA = 3
export const FRAME_ERROR = 4

const HEADER_VERSION = 1
const HEADER_LEN = 1 + HASH_LEN + 8 + 8 + 8
/** Default receive limit: a whole block in one DATA frame, plus room. */
export const MAX_FRAME_PAYLOAD = TREE_BLOCK_LEN + 1024
const MAX_ERROR_MESSAGE = 1024

export interface ContentHeader {
  /** The root the sender claims: the receiver checks it against the one it asked for. */
  readonly root: Uint8Array
  /** Whole content length in bytes. */
  readonly length: number
  /** The bytes this body covers, `end` exclusive. */
  readonly range: { readonly start: number; readonly end: number }
}

export type WireFrame =
  | { readonly kind: 'header'; readonly header: ContentHeader }
  | { readonly kind: 'proof'; readonly bytes: Uint8Array }
  | { readonly kind: 'data'; readonly bytes: Uint8Array }
  | { readonly kind: 'error'; readonly code: number; readonly message: string }

const utf8 = new TextEncoder()
const fromUtf8 = new TextDecoder()

export function encodeFrame(f: WireFrame): Uint8Array {
  switch (f.kind) {
    case 'header': {
      const { root, length, range } = f.header
      return new PayloadWriter(HEADER_LEN)
        .u8(HEADER_VERSION)
        .raw(root, HASH_LEN, 'root')
        .u64(length, 'content length')
        .u64(range.start, 'range start')
        .u64(range.end, 'range end')
        .frame(FRAME_HEADER)
    }
    case 'proof':
    case 'data':
      return encodeRawFrame(f.kind === 'proof' ? FRAME_PROOF : FRAME_DATA, f.bytes)
    case 'error': {
      const message = utf8.encode(f.message.slice(0, MAX_ERROR_MESSAGE))
      return new PayloadWriter(2 + message.length)
        .u16(f.code, 'error code')
        .raw(message)
        .frame(FRAME_ERROR)
    }
  }
}

export function isContentFrameKind(kind: number): boolean {
  return kind >= FRAME_HEADER && kind <= FRAME_ERROR
}

/** Decodes the payload of a content frame of `kind`. */
export function decodeContentFrame(kind: number, payload: Uint8Array): WireFrame {
  switch (kind) {
    case FRAME_HEADER: {
      const r = PayloadReader.exact(payload, HEADER_LEN, 'header')
      const version = r.u8('version')
      if (version !== HEADER_VERSION) throw malformed(`header version ${version}`)
      const root = r.bytes(HASH_LEN, 'root')
      const length = r.safeU64('content length')
      const start = r.safeU64('range start')
      const end = r.safeU64('range end')
      if (start > end || end > length) {
        throw malformed(`range ${start}-${end} outside content of ${length} bytes`)
      }
      return { kind: 'header', header: { root, length, range: { start, end } } }
    }
    case FRAME_PROOF:
      return { kind: 'proof', bytes: payload }
    case FRAME_DATA:
      return { kind: 'data', bytes: payload }
    case FRAME_ERROR: {
      if (payload.length < 2) throw malformed('error frame without a code')
      const r = new PayloadReader(payload, 'ERROR')
      const code = r.u16('code')
      return { kind: 'error', code, message: fromUtf8.decode(r.rest()) }
    }
    default:
      throw new WireError('WIRE_UNKNOWN_FRAME', `unknown frame type ${kind}`)
  }
}

/** The content body's codec: kinds 1–4, a block per DATA frame plus room. */
export const CONTENT_CODEC: FrameCodec<WireFrame> = {
  accepts: isContentFrameKind,
  maxPayload: MAX_FRAME_PAYLOAD,
  decode: decodeContentFrame,
  encode: encodeFrame,
}

/** Splits a byte stream into content frames (the content codec's decoder). */
export class FrameDecoder extends CodecDecoder<WireFrame> {
  constructor(options: CodecDecoderOptions = {}) {
    super(CONTENT_CODEC, options)
  }
}

/** Frames of a byte stream. */
export function decodeFrames(
  source: AsyncIterable<Uint8Array>,
  options: CodecDecoderOptions = {},
): AsyncGenerator<WireFrame> {
  return decodeCodecFrames(source, CONTENT_CODEC, options)
}
