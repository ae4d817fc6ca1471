/**
 * Frames of a session stream (`/fulmen/handshake/1.0.0`, docs/protocol.md "Sessions"): the
 * handshake, TERMINATE, and the CDN service's REQUEST, COMMIT and REVEAL, over the framing of
 * content bodies (`kind:u8 length:u32be payload`), whose frames 1–4 pass through node → client.
 *
 *   CHALLENGE 0x10  version:u8=1 nonce[32] epoch:u64be ackWindow:u16be unit:u32be maxRequest:u32be
 *                   maxStreams:u16be maxSessions:u16be
 *   HELLO     0x11  version:u8=1 service:u32be retry:u64be clientKey[32] signature[64]
 *   JOIN      0x12  version:u8=1 session:u64be token[32]
 *   SESSION   0x13  session:u64be token[32] tokenTtlMs:u32be
 *   TERMINATE 0x1f  reason:u8 message:utf8 (≤ 256 bytes)
 *   REQUEST   0x20  flags:u8 rangeStart:u64be rangeEnd:u64be resumeBlock:u32be pointer:utf8
 *   COMMIT    0x30  commitment[130] signature[64]
 *   REVEAL    0x31  seq:u32be index:u32be value[32]
 *
 * Decoding is strict, so that every valid frame has exactly one encoding: reserved REQUEST flag
 * bits and the range fields of a REQUEST without a range must be zero.
 */
import type { ByteRange } from '../b3/verified-stream.ts'
import {
  decodeContentFrame,
  encodeFrame,
  MAX_FRAME_PAYLOAD,
  type WireFrame,
} from './content-frames.ts'
import { WireError } from './errors.ts'
import { encodeRawFrame, FrameSplitter } from './frame-splitter.ts'

export const FRAME_CHALLENGE = 0x10
export const FRAME_HELLO = 0x11
export const FRAME_JOIN = 0x12
export const FRAME_SESSION = 0x13
export const FRAME_TERMINATE = 0x1f
export const FRAME_REQUEST = 0x20
export const FRAME_COMMIT = 0x30
export const FRAME_REVEAL = 0x31

export const NONCE_LEN = 32
export const CLIENT_KEY_LEN = 32
export const SIGNATURE_LEN = 64
export const TOKEN_LEN = 32
export const COMMITMENT_LEN = 130
export const REVEAL_VALUE_LEN = 32
export const MAX_TERMINATE_MESSAGE = 256
export const MAX_POINTER_LEN = 2048
/** The node's default `maxRequest`: the largest payload it takes from a client. */
export const DEFAULT_MAX_REQUEST = 4096

const VERSION = 1
/** REQUEST `resumeBlock` when the client resumes nothing. */
const NO_RESUME = 0xffffffff
/** REQUEST flag: `rangeStart`/`rangeEnd` are set. */
const FLAG_RANGE = 1

const CHALLENGE_LEN = 1 + NONCE_LEN + 8 + 2 + 4 + 4 + 2 + 2
const HELLO_LEN = 1 + 4 + 8 + CLIENT_KEY_LEN + SIGNATURE_LEN
const JOIN_LEN = 1 + 8 + TOKEN_LEN
const SESSION_LEN = 8 + TOKEN_LEN + 4
const REQUEST_FIXED_LEN = 1 + 8 + 8 + 4
const COMMIT_LEN = COMMITMENT_LEN + SIGNATURE_LEN
const REVEAL_LEN = 4 + 4 + REVEAL_VALUE_LEN

export interface ChallengeFrame {
  readonly kind: 'challenge'
  readonly nonce: Uint8Array
  readonly epoch: bigint
  readonly ackWindow: number
  readonly unit: number
  readonly maxRequest: number
  /**
   * Streams one session may have open at once, its first included (≥ 1): a client keeps its
   * requests within it instead of learning the limit from a refusal.
   */
  readonly maxStreams: number
  /** Sessions one client key may hold on this node at once (≥ 1). */
  readonly maxSessions: number
}

export interface HelloFrame {
  readonly kind: 'hello'
  readonly service: number
  /** 0n, or the session whose primary stream this one replaces. */
  readonly retry: bigint
  readonly clientKey: Uint8Array
  readonly signature: Uint8Array
}

export interface JoinFrame {
  readonly kind: 'join'
  readonly session: bigint
  readonly token: Uint8Array
}

export interface SessionGrantFrame {
  readonly kind: 'session'
  readonly session: bigint
  readonly token: Uint8Array
  readonly tokenTtlMs: number
}

export interface TerminateFrame {
  readonly kind: 'terminate'
  readonly reason: number
  readonly message: string
}

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

export type SessionFrame =
  | WireFrame
  | ChallengeFrame
  | HelloFrame
  | JoinFrame
  | SessionGrantFrame
  | TerminateFrame
  | RequestFrame
  | CommitFrame
  | RevealFrame

/** Which end reads the stream: each accepts only the kinds its peer may send. */
export type FrameDirection = 'to-node' | 'to-client'

const TO_NODE: ReadonlySet<number> = new Set([
  FRAME_HELLO,
  FRAME_JOIN,
  FRAME_TERMINATE,
  FRAME_REQUEST,
  FRAME_COMMIT,
  FRAME_REVEAL,
])
const TO_CLIENT: ReadonlySet<number> = new Set([
  1,
  2,
  3,
  4,
  FRAME_CHALLENGE,
  FRAME_SESSION,
  FRAME_TERMINATE,
])

/** Whether a frame of `kind` may travel in `direction`. */
export function acceptsKind(direction: FrameDirection, kind: number): boolean {
  return (direction === 'to-node' ? TO_NODE : TO_CLIENT).has(kind)
}

const utf8 = new TextEncoder()
// ignoreBOM: a leading U+FEFF is part of the string, not a marker to drop.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
// A TERMINATE message is for people: a bad byte must not hide the reason that came with it.
const lenientUtf8 = new TextDecoder('utf-8', { ignoreBOM: true })

// ---- encoding: the caller's values are checked, so a bug cannot put a malformed frame on the wire

class PayloadWriter {
  readonly bytes: Uint8Array
  private readonly view: DataView
  private at = 0

  constructor(length: number) {
    this.bytes = new Uint8Array(length)
    this.view = new DataView(this.bytes.buffer)
  }

  u8(v: number, what: string): this {
    this.view.setUint8(this.at, uint(v, 0xff, what))
    this.at += 1
    return this
  }

  u16(v: number, what: string): this {
    this.view.setUint16(this.at, uint(v, 0xffff, what))
    this.at += 2
    return this
  }

  u32(v: number, what: string): this {
    this.view.setUint32(this.at, uint(v, 0xffffffff, what))
    this.at += 4
    return this
  }

  u64(v: bigint | number, what: string): this {
    const n = typeof v === 'number' ? BigInt(uint(v, Number.MAX_SAFE_INTEGER, what)) : v
    if (typeof n !== 'bigint' || n < 0n || n > 0xffffffffffffffffn) {
      throw new RangeError(`${what} must be a u64, got ${String(v)}`)
    }
    this.view.setBigUint64(this.at, n)
    this.at += 8
    return this
  }

  raw(b: Uint8Array, length: number | undefined, what: string): this {
    if (!(b instanceof Uint8Array) || (length !== undefined && b.length !== length)) {
      throw new RangeError(`${what} must be ${length} bytes`)
    }
    this.bytes.set(b, this.at)
    this.at += b.length
    return this
  }
}

function uint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new RangeError(`${what} must be an integer in 0..${max}, got ${v}`)
  }
  return v
}

/** `message` as UTF-8, cut to `max` bytes at a character boundary. */
function utf8Prefix(message: string, max: number): Uint8Array {
  const bytes = utf8.encode(message)
  if (bytes.length <= max) return bytes
  let cut = max
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--
  return bytes.subarray(0, cut)
}

/** The frame's bytes, prefix included. Throws RangeError on values the format cannot carry. */
export function encodeSessionFrame(f: SessionFrame): Uint8Array {
  switch (f.kind) {
    case 'header':
    case 'proof':
    case 'data':
    case 'error':
      return encodeFrame(f)
    case 'challenge': {
      const w = new PayloadWriter(CHALLENGE_LEN)
        .u8(VERSION, 'version')
        .raw(f.nonce, NONCE_LEN, 'nonce')
        .u64(f.epoch, 'epoch')
        .u16(f.ackWindow, 'ackWindow')
        .u32(f.unit, 'unit')
        .u32(f.maxRequest, 'maxRequest')
        .u16(positive(f.maxStreams, 'maxStreams'), 'maxStreams')
        .u16(positive(f.maxSessions, 'maxSessions'), 'maxSessions')
      return encodeRawFrame(FRAME_CHALLENGE, w.bytes)
    }
    case 'hello': {
      const w = new PayloadWriter(HELLO_LEN)
        .u8(VERSION, 'version')
        .u32(f.service, 'service')
        .u64(f.retry, 'retry')
        .raw(f.clientKey, CLIENT_KEY_LEN, 'clientKey')
        .raw(f.signature, SIGNATURE_LEN, 'signature')
      return encodeRawFrame(FRAME_HELLO, w.bytes)
    }
    case 'join': {
      const w = new PayloadWriter(JOIN_LEN)
        .u8(VERSION, 'version')
        .u64(sessionId(f.session), 'session')
        .raw(f.token, TOKEN_LEN, 'token')
      return encodeRawFrame(FRAME_JOIN, w.bytes)
    }
    case 'session': {
      const w = new PayloadWriter(SESSION_LEN)
        .u64(sessionId(f.session), 'session')
        .raw(f.token, TOKEN_LEN, 'token')
        .u32(f.tokenTtlMs, 'tokenTtlMs')
      return encodeRawFrame(FRAME_SESSION, w.bytes)
    }
    case 'terminate': {
      const message = utf8Prefix(f.message, MAX_TERMINATE_MESSAGE)
      const w = new PayloadWriter(1 + message.length)
        .u8(f.reason, 'reason')
        .raw(message, undefined, 'message')
      return encodeRawFrame(FRAME_TERMINATE, w.bytes)
    }
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
      const w = new PayloadWriter(REQUEST_FIXED_LEN + pointer.length)
        .u8(range === undefined ? 0 : FLAG_RANGE, 'flags')
        .u64(range?.start ?? 0, 'rangeStart')
        .u64(range?.end ?? 0, 'rangeEnd')
        .u32(resumeBlock ?? NO_RESUME, 'resumeBlock')
        .raw(pointer, undefined, 'pointer')
      return encodeRawFrame(FRAME_REQUEST, w.bytes)
    }
    case 'commit': {
      const w = new PayloadWriter(COMMIT_LEN)
        .raw(f.commitment, COMMITMENT_LEN, 'commitment')
        .raw(f.signature, SIGNATURE_LEN, 'signature')
      return encodeRawFrame(FRAME_COMMIT, w.bytes)
    }
    case 'reveal': {
      const w = new PayloadWriter(REVEAL_LEN)
        .u32(f.seq, 'seq')
        .u32(f.index, 'index')
        .raw(f.value, REVEAL_VALUE_LEN, 'value')
      return encodeRawFrame(FRAME_REVEAL, w.bytes)
    }
  }
}

function positive(n: number, name: string): number {
  if (n < 1) throw new RangeError(`${name} must be at least 1, got ${n}`)
  return n
}

function sessionId(id: bigint): bigint {
  if (id === 0n) throw new RangeError('session id 0 is reserved')
  return id
}

// ---- decoding: untrusted bytes; every failure is a WireError

function malformed(message: string): WireError {
  return new WireError('WIRE_MALFORMED', message)
}

function expectLength(payload: Uint8Array, length: number, name: string): DataView {
  if (payload.length !== length) {
    throw malformed(`${name} of ${payload.length} bytes, ${length} expected`)
  }
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
}

function expectVersion(payload: Uint8Array, name: string): void {
  if (payload[0] !== VERSION) throw malformed(`${name} version ${payload[0]}, ${VERSION} expected`)
}

function nonzeroSession(id: bigint, name: string): bigint {
  if (id === 0n) throw malformed(`${name} names session 0`)
  return id
}

function safe(v: bigint, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw malformed(`${what} ${v} is too large`)
  return Number(v)
}

function decodeRequest(payload: Uint8Array): RequestFrame {
  if (payload.length < REQUEST_FIXED_LEN + 1) {
    throw malformed(`REQUEST of ${payload.length} bytes has no pointer`)
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  const flags = payload[0]!
  if ((flags & ~FLAG_RANGE) !== 0) throw malformed(`REQUEST flags 0x${flags.toString(16)}`)
  const start = view.getBigUint64(1)
  const end = view.getBigUint64(9)
  const resume = view.getUint32(17)
  const pointerBytes = payload.subarray(REQUEST_FIXED_LEN)
  if (pointerBytes.length > MAX_POINTER_LEN) {
    throw malformed(`pointer of ${pointerBytes.length} bytes exceeds ${MAX_POINTER_LEN}`)
  }
  let pointer: string
  try {
    pointer = strictUtf8.decode(pointerBytes)
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

/** Decodes the payload of a frame of `kind` (any direction). */
export function decodeSessionPayload(kind: number, payload: Uint8Array): SessionFrame {
  switch (kind) {
    case FRAME_CHALLENGE: {
      const view = expectLength(payload, CHALLENGE_LEN, 'CHALLENGE')
      expectVersion(payload, 'CHALLENGE')
      const at = 1 + NONCE_LEN
      const maxStreams = view.getUint16(at + 18)
      const maxSessions = view.getUint16(at + 20)
      if (maxStreams === 0 || maxSessions === 0) {
        throw malformed(`CHALLENGE allows ${maxStreams} streams and ${maxSessions} sessions`)
      }
      return {
        kind: 'challenge',
        nonce: payload.slice(1, at),
        epoch: view.getBigUint64(at),
        ackWindow: view.getUint16(at + 8),
        unit: view.getUint32(at + 10),
        maxRequest: view.getUint32(at + 14),
        maxStreams,
        maxSessions,
      }
    }
    case FRAME_HELLO: {
      const view = expectLength(payload, HELLO_LEN, 'HELLO')
      expectVersion(payload, 'HELLO')
      const at = 1 + 4 + 8
      return {
        kind: 'hello',
        service: view.getUint32(1),
        retry: view.getBigUint64(5),
        clientKey: payload.slice(at, at + CLIENT_KEY_LEN),
        signature: payload.slice(at + CLIENT_KEY_LEN),
      }
    }
    case FRAME_JOIN: {
      const view = expectLength(payload, JOIN_LEN, 'JOIN')
      expectVersion(payload, 'JOIN')
      return {
        kind: 'join',
        session: nonzeroSession(view.getBigUint64(1), 'JOIN'),
        token: payload.slice(9),
      }
    }
    case FRAME_SESSION: {
      const view = expectLength(payload, SESSION_LEN, 'SESSION')
      return {
        kind: 'session',
        session: nonzeroSession(view.getBigUint64(0), 'SESSION'),
        token: payload.slice(8, 8 + TOKEN_LEN),
        tokenTtlMs: view.getUint32(8 + TOKEN_LEN),
      }
    }
    case FRAME_TERMINATE: {
      if (payload.length < 1) throw malformed('TERMINATE without a reason')
      if (payload.length > 1 + MAX_TERMINATE_MESSAGE) {
        throw malformed(`TERMINATE message of ${payload.length - 1} bytes`)
      }
      return {
        kind: 'terminate',
        reason: payload[0]!,
        message: lenientUtf8.decode(payload.subarray(1)),
      }
    }
    case FRAME_REQUEST:
      return decodeRequest(payload)
    case FRAME_COMMIT:
      expectLength(payload, COMMIT_LEN, 'COMMIT')
      return {
        kind: 'commit',
        commitment: payload.slice(0, COMMITMENT_LEN),
        signature: payload.slice(COMMITMENT_LEN),
      }
    case FRAME_REVEAL: {
      const view = expectLength(payload, REVEAL_LEN, 'REVEAL')
      return {
        kind: 'reveal',
        seq: view.getUint32(0),
        index: view.getUint32(4),
        value: payload.slice(8),
      }
    }
    default:
      // Content frames, or WIRE_UNKNOWN_FRAME for anything else.
      return decodeContentFrame(kind, payload)
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

/**
 * Splits a session stream into frames. A chunk holding a bad frame throws: the good frames
 * before it in that chunk are dropped along with the stream, which the error ends anyway.
 */
export class SessionFrameDecoder {
  private readonly splitter: FrameSplitter

  constructor(options: SessionFrameDecoderOptions) {
    const direction = options.accepts
    this.splitter = new FrameSplitter({
      maxPayload:
        options.maxPayload ?? (direction === 'to-node' ? DEFAULT_MAX_REQUEST : MAX_FRAME_PAYLOAD),
      accepts: (kind) => acceptsKind(direction, kind),
    })
  }

  /** Bytes held waiting for the rest of a frame. */
  get pending(): number {
    return this.splitter.pending
  }

  /** Adds bytes; returns the frames they complete. Throws WireError on a bad frame. */
  push(chunk: Uint8Array): SessionFrame[] {
    return this.splitter.push(chunk).map((f) => decodeSessionPayload(f.kind, f.payload))
  }

  /** Call at the end of the stream: throws WIRE_TRUNCATED if it ended inside a frame. */
  end(): void {
    this.splitter.end()
  }
}

/** The frames of a session byte stream. */
export async function* decodeSessionFrames(
  source: AsyncIterable<Uint8Array>,
  options: SessionFrameDecoderOptions,
): AsyncGenerator<SessionFrame> {
  const decoder = new SessionFrameDecoder(options)
  for await (const chunk of source) yield* decoder.push(chunk)
  decoder.end()
}
