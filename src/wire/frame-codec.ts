/**
 * One frame codec per protocol, one decoder for all of them. Every Fulmen stream is framed the
 * same way (`kind:u8 length:u32be payload[length]`, frame-splitter.ts); a protocol differs only
 * in which kinds it accepts, how large a payload may be, and what a payload means. A
 * `FrameCodec` says exactly that; `CodecDecoder` and `decodeCodecFrames` turn bytes into the
 * codec's frames, refusing a frame at its 5-byte prefix when the codec would refuse it.
 */
import { FrameSplitter } from './frame-splitter.ts'

export interface FrameCodec<F> {
  /** Whether a frame of `kind` may arrive on this stream (the reader's end decides). */
  accepts(kind: number): boolean
  /** Largest payload accepted, in bytes: a larger frame is refused before it is buffered. */
  readonly maxPayload: number
  /** The frame a payload of `kind` carries. Untrusted bytes: every failure is a WireError. */
  decode(kind: number, payload: Uint8Array): F
  /** The frame's bytes, prefix included. Throws RangeError on values the format cannot carry. */
  encode(frame: F): Uint8Array
}

export interface CodecDecoderOptions {
  /** Overrides the codec's payload limit (a receiver may accept less than the format allows). */
  readonly maxPayload?: number
}

/** Splits a byte stream into a codec's frames. Throws WireError on a bad frame. */
export class CodecDecoder<F> {
  private readonly splitter: FrameSplitter
  private readonly codec: FrameCodec<F>

  constructor(codec: FrameCodec<F>, options: CodecDecoderOptions = {}) {
    this.codec = codec
    this.splitter = new FrameSplitter({
      maxPayload: options.maxPayload ?? codec.maxPayload,
      accepts: (kind) => codec.accepts(kind),
    })
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.splitter.pending
  }

  /** Adds bytes; returns the frames they complete. Throws WireError on a bad frame. */
  push(chunk: Uint8Array): F[] {
    return this.splitter.push(chunk).map((f) => this.codec.decode(f.kind, f.payload))
  }

  /** Call at the end of the stream: throws WIRE_TRUNCATED if it ended inside a frame. */
  end(): void {
    this.splitter.end()
  }
}

/** The frames of a byte stream; checks that it ends between frames. */
export async function* decodeCodecFrames<F>(
  source: AsyncIterable<Uint8Array>,
  codec: FrameCodec<F>,
  options: CodecDecoderOptions = {},
): AsyncGenerator<F> {
  const decoder = new CodecDecoder(codec, options)
  for await (const chunk of source) yield* decoder.push(chunk)
  decoder.end()
}
