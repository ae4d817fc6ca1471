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
import { FRAME_PREFIX_LEN, FrameSplitter } from './frame-splitter.ts'

export const FRAME_HEADER = 1
export const FRAME_PROOF = 2
export const FRAME_DATA = 3
export const FRAME_ERROR = 4

const PREFIX_LEN = FRAME_PREFIX_LEN
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

function frame(kind: number, payloadLength: number): { out: Uint8Array; view: DataView } {
  const out = new Uint8Array(PREFIX_LEN + payloadLength)
  const view = new DataView(out.buffer)
  out[0] = kind
  view.setUint32(1, payloadLength)
  return { out, view }
}

export function encodeFrame(f: WireFrame): Uint8Array {
  switch (f.kind) {
    case 'header': {
      const { root, length, range } = f.header
      const { out, view } = frame(FRAME_HEADER, HEADER_LEN)
      out[PREFIX_LEN] = HEADER_VERSION
      out.set(root, PREFIX_LEN + 1)
      const at = PREFIX_LEN + 1 + HASH_LEN
      view.setBigUint64(at, BigInt(length))
      view.setBigUint64(at + 8, BigInt(range.start))
      view.setBigUint64(at + 16, BigInt(range.end))
      return out
    }
    case 'proof':
    case 'data': {
      const { out } = frame(f.kind === 'proof' ? FRAME_PROOF : FRAME_DATA, f.bytes.length)
      out.set(f.bytes, PREFIX_LEN)
      return out
    }
    case 'error': {
      const message = utf8.encode(f.message.slice(0, MAX_ERROR_MESSAGE))
      const { out, view } = frame(FRAME_ERROR, 2 + message.length)
      view.setUint16(PREFIX_LEN, f.code)
      out.set(message, PREFIX_LEN + 2)
      return out
    }
  }
}

function safeNumber(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER))
    throw new WireError('WIRE_MALFORMED', `${what} too large`)
  return Number(v)
}

export function isContentFrameKind(kind: number): boolean {
  return kind >= FRAME_HEADER && kind <= FRAME_ERROR
}

/** Decodes the payload of a content frame of `kind`. */
export function decodeContentFrame(kind: number, payload: Uint8Array): WireFrame {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  switch (kind) {
    case FRAME_HEADER: {
      if (payload.length !== HEADER_LEN) {
        throw new WireError(
          'WIRE_MALFORMED',
          `header of ${payload.length} bytes, ${HEADER_LEN} expected`,
        )
      }
      if (payload[0] !== HEADER_VERSION)
        throw new WireError('WIRE_MALFORMED', `header version ${payload[0]}`)
      const at = 1 + HASH_LEN
      const length = safeNumber(view.getBigUint64(at), 'content length')
      const start = safeNumber(view.getBigUint64(at + 8), 'range start')
      const end = safeNumber(view.getBigUint64(at + 16), 'range end')
      if (start > end || end > length) {
        throw new WireError(
          'WIRE_MALFORMED',
          `range ${start}-${end} outside content of ${length} bytes`,
        )
      }
      return {
        kind: 'header',
        header: { root: payload.slice(1, 1 + HASH_LEN), length, range: { start, end } },
      }
    }
    case FRAME_PROOF:
      return { kind: 'proof', bytes: payload }
    case FRAME_DATA:
      return { kind: 'data', bytes: payload }
    case FRAME_ERROR: {
      if (payload.length < 2) throw new WireError('WIRE_MALFORMED', 'error frame without a code')
      return {
        kind: 'error',
        code: view.getUint16(0),
        message: fromUtf8.decode(payload.subarray(2)),
      }
    }
    default:
      throw new WireError('WIRE_UNKNOWN_FRAME', `unknown frame type ${kind}`)
  }
}

/** Splits a byte stream into content frames (a FrameSplitter that knows kinds 1–4). */
export class FrameDecoder {
  private readonly splitter: FrameSplitter

  constructor(options: { maxPayload?: number } = {}) {
    this.splitter = new FrameSplitter({
      maxPayload: options.maxPayload ?? MAX_FRAME_PAYLOAD,
      accepts: isContentFrameKind,
    })
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.splitter.pending
  }

  push(chunk: Uint8Array): WireFrame[] {
    return this.splitter.push(chunk).map((f) => decodeContentFrame(f.kind, f.payload))
  }

  /** Call at the end of the stream: throws if it ended inside a frame. */
  end(): void {
    this.splitter.end()
  }
}

/** Frames of a byte stream. */
export async function* decodeFrames(
  source: AsyncIterable<Uint8Array>,
  options: { maxPayload?: number } = {},
): AsyncGenerator<WireFrame> {
  const decoder = new FrameDecoder(options)
  for await (const chunk of source) yield* decoder.push(chunk)
  decoder.end()
}
