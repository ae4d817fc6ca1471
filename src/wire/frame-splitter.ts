/**
 * Splits a byte stream into frames, `kind:u8 length:u32be payload[length]`: the one framing
 * every Fulmen stream uses (content bodies, the handshake, session frames). Which kinds are
 * valid, and what a payload means, belongs to each protocol's codec; this only cuts bytes.
 *
 * It refuses a frame by its 5-byte prefix, before buffering its payload: an unknown kind or an
 * oversized length costs the receiver nothing.
 */
import { WireError } from './errors.ts'

/** Bytes before every payload: kind and length. */
export const FRAME_PREFIX_LEN = 5

export interface RawFrame {
  readonly kind: number
  readonly payload: Uint8Array
}

export interface FrameSplitterOptions {
  /** Largest payload accepted, in bytes. */
  readonly maxPayload: number
  /** Whether a frame kind is known to the protocol reading this stream. */
  readonly accepts: (kind: number) => boolean
}

/** The 5-byte prefix of a frame of `kind` with `payloadLength` bytes. */
export function framePrefix(kind: number, payloadLength: number): Uint8Array {
  const prefix = new Uint8Array(FRAME_PREFIX_LEN)
  prefix[0] = kind
  new DataView(prefix.buffer).setUint32(1, payloadLength)
  return prefix
}

/** A whole frame: prefix and payload in one buffer. */
export function encodeRawFrame(kind: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_PREFIX_LEN + payload.length)
  out.set(framePrefix(kind, payload.length))
  out.set(payload, FRAME_PREFIX_LEN)
  return out
}

export class FrameSplitter {
  private readonly options: FrameSplitterOptions
  private chunks: Uint8Array[] = []
  private buffered = 0
  private next: { kind: number; length: number } | undefined

  constructor(options: FrameSplitterOptions) {
    this.options = options
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.buffered + (this.next === undefined ? 0 : FRAME_PREFIX_LEN)
  }

  /** Removes and returns the first `n` buffered bytes (a view when they lie in one chunk). */
  private take(n: number): Uint8Array {
    const first = this.chunks[0]
    let out: Uint8Array
    if (first !== undefined && first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.chunks.shift()
      else this.chunks[0] = first.subarray(n)
    } else {
      out = new Uint8Array(n)
      let filled = 0
      while (filled < n) {
        const c = this.chunks[0]!
        const k = Math.min(c.length, n - filled)
        out.set(c.subarray(0, k), filled)
        filled += k
        if (k === c.length) this.chunks.shift()
        else this.chunks[0] = c.subarray(k)
      }
    }
    this.buffered -= n
    return out
  }

  /** Adds bytes; returns the frames they complete. Throws a WireError on a refused prefix. */
  push(chunk: Uint8Array): RawFrame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk)
      this.buffered += chunk.length
    }
    const frames: RawFrame[] = []
    for (;;) {
      if (this.next === undefined) {
        if (this.buffered < FRAME_PREFIX_LEN) break
        const prefix = this.take(FRAME_PREFIX_LEN)
        const kind = prefix[0]!
        const length = new DataView(prefix.buffer, prefix.byteOffset, FRAME_PREFIX_LEN).getUint32(1)
        if (!this.options.accepts(kind)) {
          throw new WireError('WIRE_UNKNOWN_FRAME', `unknown frame type ${kind}`)
        }
        if (length > this.options.maxPayload) {
          throw new WireError(
            'WIRE_FRAME_TOO_LARGE',
            `frame of ${length} bytes exceeds the ${this.options.maxPayload}-byte limit`,
          )
        }
        this.next = { kind, length }
      }
      if (this.buffered < this.next.length) break
      const { kind, length } = this.next
      this.next = undefined
      frames.push({ kind, payload: this.take(length) })
    }
    return frames
  }

  /** Call at the end of the stream: throws if it ended inside a frame. */
  end(): void {
    if (this.pending > 0) {
      throw new WireError(
        'WIRE_TRUNCATED',
        `stream ended inside a frame (${this.pending} bytes pending)`,
      )
    }
  }
}
