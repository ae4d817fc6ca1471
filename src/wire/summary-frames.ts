/**
 * Frames of a content-summary stream (`/fulmen/summary/1.0.0`, docs/protocol.md "Content
 * summaries"): a full node pushes the cuckoo filter of its most requested content to its
 * closest peers, one SUMMARY per stream. Same framing as every Fulmen stream
 * (`kind:u8 length:u32be payload`).
 *
 *   SUMMARY   0x70  node → peer  seq:u64be filter[1..1 MiB]  (encodeCuckooFilter's bytes)
 *   TERMINATE 0x1f  peer → node  reason:u8 message:utf8 (as on session streams)
 *
 * The wire checks lengths only: what the filter bytes mean is src/routing/cuckoo-filter.ts's to
 * decode (with its own typed errors), a layer above this one.
 */
import { WireError } from './errors.ts'
import type { FrameCodec } from './frame-codec.ts'
import {
  decodeHandshakePayload,
  encodeHandshakeFrame,
  FRAME_TERMINATE,
  MAX_TERMINATE_MESSAGE,
  type TerminateFrame,
} from './handshake-frames.ts'
import { malformed, PayloadReader, PayloadWriter } from './payload.ts'

export const FRAME_SUMMARY = 0x70
export { FRAME_TERMINATE }

/** Largest filter a SUMMARY carries: the cuckoo filter encoding's own limit (MAX_ENCODED_BYTES). */
export const MAX_SUMMARY_FILTER_BYTES = 1 << 20
/** The largest SUMMARY payload: what a node must accept. */
export const MAX_SUMMARY_PAYLOAD = 8 + MAX_SUMMARY_FILTER_BYTES

export interface SummaryFrame {
  readonly kind: 'summary'
  /** The sender's snapshot number: a receiver keeps the highest. */
  readonly seq: number
  /** The encoded cuckoo filter. */
  readonly filter: Uint8Array
}

export type SummaryStreamFrame = SummaryFrame | TerminateFrame

/** Which end reads the stream: the receiver takes SUMMARY, the sender TERMINATE. */
export type SummaryDirection = 'to-receiver' | 'to-sender'

/** The frame's bytes, prefix included. Throws RangeError on values the format cannot carry. */
export function encodeSummaryFrame(f: SummaryStreamFrame): Uint8Array {
  if (f.kind === 'terminate') return encodeHandshakeFrame(f)
  if (f.filter.length === 0 || f.filter.length > MAX_SUMMARY_FILTER_BYTES) {
    throw new RangeError(`filter of ${f.filter.length} bytes, 1..${MAX_SUMMARY_FILTER_BYTES}`)
  }
  return new PayloadWriter(8 + f.filter.length).u64(f.seq, 'seq').raw(f.filter).frame(FRAME_SUMMARY)
}

/** Decodes the payload of a frame of `kind`. Untrusted bytes: every failure is a WireError. */
export function decodeSummaryPayload(kind: number, payload: Uint8Array): SummaryStreamFrame {
  switch (kind) {
    case FRAME_SUMMARY: {
      const r = new PayloadReader(payload, 'SUMMARY')
      const seq = r.safeU64('seq')
      const filter = r.rest().slice()
      if (filter.length === 0) throw malformed('SUMMARY without a filter')
      if (filter.length > MAX_SUMMARY_FILTER_BYTES) {
        throw malformed(`SUMMARY filter of ${filter.length} bytes`)
      }
      return { kind: 'summary', seq, filter }
    }
    case FRAME_TERMINATE:
      return decodeHandshakePayload(kind, payload) as TerminateFrame
    default:
      throw new WireError('WIRE_UNKNOWN_FRAME', `unknown frame type ${kind}`)
  }
}

/** The summary codec for one end of the stream: it accepts only what its peer may send. */
export function summaryCodec(direction: SummaryDirection): FrameCodec<SummaryStreamFrame> {
  const kind = direction === 'to-receiver' ? FRAME_SUMMARY : FRAME_TERMINATE
  return {
    accepts: (k) => k === kind,
    maxPayload: direction === 'to-receiver' ? MAX_SUMMARY_PAYLOAD : 1 + MAX_TERMINATE_MESSAGE,
    decode: decodeSummaryPayload,
    encode: encodeSummaryFrame,
  }
}
