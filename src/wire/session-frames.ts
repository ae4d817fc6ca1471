/**
 * Every frame of a CDN session stream in one union, for tools that read or write a whole
 * stream by hand (tests, the libp2p fuzzer, the lying node): the handshake's frames
 * (handshake-frames.ts) and the CDN service's (cdn-frames.ts), each in its own codec. The
 * handshake and the services use those codecs directly; this file only joins them.
 */
import { type CdnFrame, decodeCdnPayload, encodeCdnFrame, isCdnKind } from './cdn-frames.ts'
import { MAX_FRAME_PAYLOAD } from './content-frames.ts'
import { CodecDecoder, decodeCodecFrames, type FrameCodec } from './frame-codec.ts'
import {
  DEFAULT_MAX_REQUEST,
  decodeHandshakePayload,
  encodeHandshakeFrame,
  type FrameDirection,
  type HandshakeFrame,
  isHandshakeKind,
} from './handshake-frames.ts'

export * from './cdn-frames.ts'
export * from './handshake-frames.ts'

export type SessionFrame = HandshakeFrame | CdnFrame

/** Whether a frame of `kind` may travel in `direction` on a CDN session stream. */
export function acceptsKind(direction: FrameDirection, kind: number): boolean {
  return isHandshakeKind(direction, kind) || isCdnKind(direction, kind)
}

/** The frame's bytes, prefix included. Throws RangeError on values the format cannot carry. */
export function encodeSessionFrame(f: SessionFrame): Uint8Array {
  switch (f.kind) {
    case 'challenge':
    case 'hello':
    case 'join':
    case 'session':
    case 'terminate':
      return encodeHandshakeFrame(f)
    default:
      return encodeCdnFrame(f)
  }
}

/** Decodes the payload of a frame of `kind` (any direction). */
export function decodeSessionPayload(kind: number, payload: Uint8Array): SessionFrame {
  return isHandshakeKind('to-node', kind) || isHandshakeKind('to-client', kind)
    ? decodeHandshakePayload(kind, payload)
    : decodeCdnPayload(kind, payload)
}

/** The whole stream's codec as read by one end. */
export function sessionCodec(direction: FrameDirection): FrameCodec<SessionFrame> {
  return {
    accepts: (kind) => acceptsKind(direction, kind),
    maxPayload: direction === 'to-node' ? DEFAULT_MAX_REQUEST : MAX_FRAME_PAYLOAD,
    decode: decodeSessionPayload,
    encode: encodeSessionFrame,
  }
}

export interface SessionFrameDecoderOptions {
  /** The reader's end: frames its peer may not send are WIRE_UNKNOWN_FRAME at their prefix. */
  readonly accepts: FrameDirection
  /**
   * Largest payload accepted. Defaults: `DEFAULT_MAX_REQUEST` to the node, `MAX_FRAME_PAYLOAD`
   * (a whole block in one DATA frame) to the client.
   */
  readonly maxPayload?: number
}

/** Splits a CDN session stream into frames (a bad frame throws, as CodecDecoder's do). */
export class SessionFrameDecoder extends CodecDecoder<SessionFrame> {
  constructor(options: SessionFrameDecoderOptions) {
    super(
      sessionCodec(options.accepts),
      options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload },
    )
  }
}

/** The frames of a CDN session byte stream. */
export function decodeSessionFrames(
  source: AsyncIterable<Uint8Array>,
  options: SessionFrameDecoderOptions,
): AsyncGenerator<SessionFrame> {
  return decodeCodecFrames(
    source,
    sessionCodec(options.accepts),
    options.maxPayload === undefined ? {} : { maxPayload: options.maxPayload },
  )
}
