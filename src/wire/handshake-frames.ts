/**
 * Frames of a session's handshake (`/fulmen/handshake/2.0.0`, docs/protocol.md "Sessions"),
 * whatever service the session carries: the node's CHALLENGE, the client's HELLO or JOIN, the
 * node's SESSION grant, and TERMINATE from either end. The service's own frames travel on the
 * same stream under its own codec (the CDN's: cdn-frames.ts).
 *
 *   CHALLENGE 0x10  version:u8=1 nonce[32] epoch:u64be maxRequest:u32be maxStreams:u16be
 *                   maxSessions:u16be
 *   HELLO     0x11  version:u8=1 service:u32be retry:u64be clientKey[32] signature[64]
 *   JOIN      0x12  version:u8=1 session:u64be token[32]
 *   SESSION   0x13  session:u64be token[32] tokenTtlMs:u32be greeting[0..256]
 *   TERMINATE 0x1f  reason:u8 message:utf8 (≤ 256 bytes)
 *
 * SESSION's `greeting` is the service's parameters for the session (the CDN's window and unit),
 * opaque here: the service's codec reads it.
 */
import { WireError } from './errors.ts'
import { malformed, PayloadReader, PayloadWriter, utf8Prefix } from './payload.ts'

export const FRAME_CHALLENGE = 0x10
export const FRAME_HELLO = 0x11
export const FRAME_JOIN = 0x12
export const FRAME_SESSION = 0x13
export const FRAME_TERMINATE = 0x1f

export const NONCE_LEN = 32
export const CLIENT_KEY_LEN = 32
export const SIGNATURE_LEN = 64
export const TOKEN_LEN = 32
export const MAX_TERMINATE_MESSAGE = 256
/** Largest service greeting SESSION carries. */
export const MAX_GREETING = 256
/** The node's default `maxRequest`: the largest payload it takes from a client. */
export const DEFAULT_MAX_REQUEST = 4096

const VERSION = 1

const CHALLENGE_LEN = 1 + NONCE_LEN + 8 + 4 + 2 + 2
const HELLO_LEN = 1 + 4 + 8 + CLIENT_KEY_LEN + SIGNATURE_LEN
const JOIN_LEN = 1 + 8 + TOKEN_LEN
const SESSION_FIXED_LEN = 8 + TOKEN_LEN + 4

export interface ChallengeFrame {
  readonly kind: 'challenge'
  readonly nonce: Uint8Array
  readonly epoch: bigint
  /** Largest payload the node takes from the client on this stream. */
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
  /** The service's parameters for this session (its codec's business); may be empty. */
  readonly greeting: Uint8Array
}

export interface TerminateFrame {
  readonly kind: 'terminate'
  readonly reason: number
  readonly message: string
}

export type HandshakeFrame =
  | ChallengeFrame
  | HelloFrame
  | JoinFrame
  | SessionGrantFrame
  | TerminateFrame

/** Which end reads the stream: each accepts only the kinds its peer may send. */
export type FrameDirection = 'to-node' | 'to-client'

const TO_NODE: ReadonlySet<number> = new Set([FRAME_HELLO, FRAME_JOIN, FRAME_TERMINATE])
const TO_CLIENT: ReadonlySet<number> = new Set([FRAME_CHALLENGE, FRAME_SESSION, FRAME_TERMINATE])

/** Whether `kind` is a handshake frame that may travel in `direction`. */
export function isHandshakeKind(direction: FrameDirection, kind: number): boolean {
  return (direction === 'to-node' ? TO_NODE : TO_CLIENT).has(kind)
}

// A TERMINATE message is for people: a bad byte must not hide the reason that came with it.
const lenientUtf8 = new TextDecoder('utf-8', { ignoreBOM: true })

/** The frame's bytes, prefix included. Throws RangeError on values the format cannot carry. */
export function encodeHandshakeFrame(f: HandshakeFrame): Uint8Array {
  switch (f.kind) {
    case 'challenge':
      return new PayloadWriter(CHALLENGE_LEN)
        .u8(VERSION, 'version')
        .raw(f.nonce, NONCE_LEN, 'nonce')
        .u64(f.epoch, 'epoch')
        .u32(f.maxRequest, 'maxRequest')
        .u16(positive(f.maxStreams, 'maxStreams'), 'maxStreams')
        .u16(positive(f.maxSessions, 'maxSessions'), 'maxSessions')
        .frame(FRAME_CHALLENGE)
    case 'hello':
      return new PayloadWriter(HELLO_LEN)
        .u8(VERSION, 'version')
        .u32(f.service, 'service')
        .u64(f.retry, 'retry')
        .raw(f.clientKey, CLIENT_KEY_LEN, 'clientKey')
        .raw(f.signature, SIGNATURE_LEN, 'signature')
        .frame(FRAME_HELLO)
    case 'join':
      return new PayloadWriter(JOIN_LEN)
        .u8(VERSION, 'version')
        .u64(sessionId(f.session), 'session')
        .raw(f.token, TOKEN_LEN, 'token')
        .frame(FRAME_JOIN)
    case 'session': {
      if (f.greeting.length > MAX_GREETING) {
        throw new RangeError(`greeting of ${f.greeting.length} bytes exceeds ${MAX_GREETING}`)
      }
      return new PayloadWriter(SESSION_FIXED_LEN + f.greeting.length)
        .u64(sessionId(f.session), 'session')
        .raw(f.token, TOKEN_LEN, 'token')
        .u32(f.tokenTtlMs, 'tokenTtlMs')
        .raw(f.greeting, undefined, 'greeting')
        .frame(FRAME_SESSION)
    }
    case 'terminate': {
      const message = utf8Prefix(f.message, MAX_TERMINATE_MESSAGE)
      return new PayloadWriter(1 + message.length)
        .u8(f.reason, 'reason')
        .raw(message, undefined, 'message')
        .frame(FRAME_TERMINATE)
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

function expectVersion(r: PayloadReader): void {
  const version = r.u8('version')
  if (version !== VERSION) throw malformed(`${r.name} version ${version}, ${VERSION} expected`)
}

function nonzeroSession(id: bigint, name: string): bigint {
  if (id === 0n) throw malformed(`${name} names session 0`)
  return id
}

/**
 * Decodes the payload of a handshake frame of `kind` (any direction). Untrusted bytes: every
 * failure is a WireError; a kind that is no handshake frame is WIRE_UNKNOWN_FRAME.
 */
export function decodeHandshakePayload(kind: number, payload: Uint8Array): HandshakeFrame {
  switch (kind) {
    case FRAME_CHALLENGE: {
      const r = PayloadReader.exact(payload, CHALLENGE_LEN, 'CHALLENGE')
      expectVersion(r)
      const nonce = r.bytes(NONCE_LEN, 'nonce')
      const epoch = r.u64('epoch')
      const maxRequest = r.u32('maxRequest')
      const maxStreams = r.u16('maxStreams')
      const maxSessions = r.u16('maxSessions')
      if (maxStreams === 0 || maxSessions === 0) {
        throw malformed(`CHALLENGE allows ${maxStreams} streams and ${maxSessions} sessions`)
      }
      return { kind: 'challenge', nonce, epoch, maxRequest, maxStreams, maxSessions }
    }
    case FRAME_HELLO: {
      const r = PayloadReader.exact(payload, HELLO_LEN, 'HELLO')
      expectVersion(r)
      return {
        kind: 'hello',
        service: r.u32('service'),
        retry: r.u64('retry'),
        clientKey: r.bytes(CLIENT_KEY_LEN, 'clientKey'),
        signature: r.bytes(SIGNATURE_LEN, 'signature'),
      }
    }
    case FRAME_JOIN: {
      const r = PayloadReader.exact(payload, JOIN_LEN, 'JOIN')
      expectVersion(r)
      return {
        kind: 'join',
        session: nonzeroSession(r.u64('session'), 'JOIN'),
        token: r.bytes(TOKEN_LEN, 'token'),
      }
    }
    case FRAME_SESSION: {
      if (payload.length < SESSION_FIXED_LEN || payload.length > SESSION_FIXED_LEN + MAX_GREETING) {
        throw malformed(
          `SESSION of ${payload.length} bytes, ${SESSION_FIXED_LEN}..${SESSION_FIXED_LEN + MAX_GREETING} expected`,
        )
      }
      const r = new PayloadReader(payload, 'SESSION')
      return {
        kind: 'session',
        session: nonzeroSession(r.u64('session'), 'SESSION'),
        token: r.bytes(TOKEN_LEN, 'token'),
        tokenTtlMs: r.u32('tokenTtlMs'),
        greeting: r.bytes(r.remaining, 'greeting'),
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
    default:
      throw new WireError('WIRE_UNKNOWN_FRAME', `unknown frame kind 0x${kind.toString(16)}`)
  }
}
