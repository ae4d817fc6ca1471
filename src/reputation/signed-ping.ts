/**
 * Signed pings between full nodes (issue 19, "Measurements"; docs/protocol.md "Pings"). A node
 * measures another's latency by a PING carrying a fresh random nonce; the answer, a PONG, is
 * signed by the answering node's Ed25519 node key over the pinger's nonce, the answerer's clock
 * and the answerer's key. Lightning's pinger sends unauthenticated UDP: anyone on the path can
 * answer for a node. Here a pong verifies only under the key the pinger expected, and only for
 * the nonce it just sent, so a relay cannot answer faster (or at all) on a node's behalf.
 *
 * A ping may ask for `pad` bytes of zeros in its pong (at most MAX_PAD): that turns every
 * N-th ping into a small transfer whose bytes and duration say something of the link's
 * bandwidth. The pad's length is signed; its bytes must be zero.
 *
 * Frames are framed as every Fulmen stream (`kind:u8 length:u32be payload`); payloads are
 * canonical DAG-CBOR maps, decoded strictly (unknown fields, other lengths, non-canonical
 * bytes are PING_MALFORMED):
 *
 *   PING      0x60  pinger → answerer  { nonce: bytes(16), pad: uint ≤ 65536 }
 *   PONG      0x61  answerer → pinger  { nonce: bytes(16), at: uint, node: bytes(32),
 *                                       pad: bytes(≤ 65536, zeros), sig: bytes(64) }
 *   TERMINATE 0x1f  answerer → pinger  reason:u8 message:utf8 (a stream refused)
 *
 * sig = Ed25519(node key, "fulmen/pong/1" ‖ nonce ‖ at u64be ‖ node ‖ len(pad) u32be).
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { equalBytes } from '../core/bytes.ts'
import { encodeCanonical, RecordReader } from '../state/cbor-shape.ts'
import { WireError } from '../wire/errors.ts'
import type { FrameCodec } from '../wire/frame-codec.ts'
import {
  decodeHandshakePayload,
  encodeHandshakeFrame,
  FRAME_TERMINATE,
  type TerminateFrame,
} from '../wire/handshake-frames.ts'
import { PayloadWriter } from '../wire/payload.ts'
import { ReputationError } from './errors.ts'

export const FRAME_PING = 0x60
export const FRAME_PONG = 0x61
export { FRAME_TERMINATE }

export const PING_NONCE_LEN = 16
export const PONG_NODE_LEN = 32
export const PONG_SIGNATURE_LEN = 64
/** The most padding a ping may ask for: 64 KiB, enough to see a link's rate, cheap to serve. */
export const MAX_PAD = 64 * 1024
/** Domain of the pong signature: a pong's signature is never a valid signature of anything else. */
export const PONG_DOMAIN = new TextEncoder().encode('fulmen/pong/1')

/** A pong payload's largest size: the pad and the fixed fields with their CBOR heads. */
const MAX_PONG_PAYLOAD = MAX_PAD + 256
const MAX_PING_PAYLOAD = 64
/** A TERMINATE's payload: reason and a short message. */
const MAX_TERMINATE_PAYLOAD = 512

export interface Ping {
  readonly nonce: Uint8Array
  /** Bytes of zeros asked for in the pong. */
  readonly pad: number
}

export interface Pong {
  readonly nonce: Uint8Array
  /** The answerer's clock when it answered, ms since the Unix epoch. */
  readonly at: number
  /** The answerer's node key (its libp2p Ed25519 identity). */
  readonly node: Uint8Array
  readonly pad: Uint8Array
  readonly signature: Uint8Array
}

export type PingFrame =
  | ({ readonly kind: 'ping' } & Ping)
  | ({ readonly kind: 'pong' } & Pong)
  | TerminateFrame

const malformed = (message: string) => new ReputationError('PING_MALFORMED', message)

/** A fresh random nonce. */
export function pingNonce(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(PING_NONCE_LEN))
}

/** The bytes a pong's signature covers. */
export function pongMessage(
  nonce: Uint8Array,
  at: number,
  node: Uint8Array,
  padLength: number,
): Uint8Array {
  return new PayloadWriter(PONG_DOMAIN.length + PING_NONCE_LEN + 8 + PONG_NODE_LEN + 4)
    .raw(PONG_DOMAIN)
    .raw(nonce, PING_NONCE_LEN, 'nonce')
    .u64(at, 'at')
    .raw(node, PONG_NODE_LEN, 'node')
    .u32(padLength, 'pad')
    .bytes()
}

/** Who answers pings: the node key and what signs with it (Node's OpenSSL on a full node,
 * @noble/curves by default). */
export interface PongSigner {
  readonly node: Uint8Array
  sign(message: Uint8Array): Uint8Array
}

/** A signer over the node's Ed25519 seed, by @noble/curves. */
export function pongSigner(seed: Uint8Array): PongSigner {
  return { node: ed25519.getPublicKey(seed), sign: (message) => ed25519.sign(message, seed) }
}

/** The pong to `ping`, signed by `signer`, stamped with `now` (ms since the Unix epoch). */
export function answerPing(ping: Ping, signer: PongSigner, now: number = Date.now()): Pong {
  const at = Math.max(0, Math.floor(now))
  const pad = new Uint8Array(ping.pad)
  const node = signer.node
  const signature = signer.sign(pongMessage(ping.nonce, at, node, pad.length))
  return { nonce: ping.nonce, at, node, pad, signature }
}

/**
 * Checks that `pong` answers the ping of `nonce` and was signed by `node`. Throws
 * PONG_WRONG_NONCE, PONG_WRONG_NODE or PONG_BAD_SIGNATURE.
 */
export function verifyPong(pong: Pong, expected: { nonce: Uint8Array; node: Uint8Array }): void {
  if (!equalBytes(pong.nonce, expected.nonce))
    throw new ReputationError('PONG_WRONG_NONCE', 'the pong answers another ping')
  if (!equalBytes(pong.node, expected.node))
    throw new ReputationError('PONG_WRONG_NODE', 'the pong names another node than the one pinged')
  let valid = false
  try {
    valid = ed25519.verify(
      pong.signature,
      pongMessage(pong.nonce, pong.at, pong.node, pong.pad.length),
      pong.node,
      { zip215: false },
    )
  } catch {
    valid = false
  }
  if (!valid) throw new ReputationError('PONG_BAD_SIGNATURE', 'the pong signature does not verify')
}

function frame(kind: number, payload: Uint8Array): Uint8Array {
  return new PayloadWriter(payload.length).raw(payload).frame(kind)
}

function checkNonce(nonce: Uint8Array): void {
  if (!(nonce instanceof Uint8Array) || nonce.length !== PING_NONCE_LEN)
    throw new RangeError(`a ping nonce is ${PING_NONCE_LEN} bytes`)
}

function checkPad(pad: number): void {
  if (!Number.isSafeInteger(pad) || pad < 0 || pad > MAX_PAD)
    throw new RangeError(`pad must be an integer in 0..${MAX_PAD}, got ${pad}`)
}

/** A PING frame's bytes. Throws RangeError on values the format cannot carry. */
export function encodePing(ping: Ping): Uint8Array {
  checkNonce(ping.nonce)
  checkPad(ping.pad)
  return frame(FRAME_PING, encodeCanonical({ nonce: ping.nonce, pad: ping.pad }))
}

/** A PONG frame's bytes. Throws RangeError on values the format cannot carry. */
export function encodePong(pong: Pong): Uint8Array {
  checkNonce(pong.nonce)
  checkPad(pong.pad.length)
  if (!Number.isSafeInteger(pong.at) || pong.at < 0) throw new RangeError('at is a uint')
  if (pong.node.length !== PONG_NODE_LEN) throw new RangeError('a node key is 32 bytes')
  if (pong.signature.length !== PONG_SIGNATURE_LEN) throw new RangeError('a signature is 64 bytes')
  return frame(
    FRAME_PONG,
    encodeCanonical({
      nonce: pong.nonce,
      at: pong.at,
      node: pong.node,
      pad: pong.pad,
      sig: pong.signature,
    }),
  )
}

/** A PING payload. Untrusted bytes: every failure is PING_MALFORMED. */
export function decodePingPayload(payload: Uint8Array): Ping {
  const r = RecordReader.decode(payload, 'ping', malformed)
  const ping = { nonce: r.bytes('nonce', PING_NONCE_LEN), pad: r.uint('pad', MAX_PAD) }
  r.done()
  return ping
}

/** A PONG payload. Untrusted bytes: every failure is PING_MALFORMED. Checks the shape only:
 * `verifyPong` checks who signed it and for which ping. */
export function decodePongPayload(payload: Uint8Array): Pong {
  const r = RecordReader.decode(payload, 'pong', malformed)
  const pong = {
    nonce: r.bytes('nonce', PING_NONCE_LEN),
    at: r.uint('at'),
    node: r.bytes('node', PONG_NODE_LEN),
    pad: r.bytes('pad'),
    signature: r.bytes('sig', PONG_SIGNATURE_LEN),
  }
  r.done()
  if (pong.pad.length > MAX_PAD) throw malformed(`pong pad is over ${MAX_PAD} bytes`)
  if (pong.pad.some((b) => b !== 0)) throw malformed('pong pad is not zeros')
  return pong
}

/** A TERMINATE frame's bytes (the answerer refusing a stream). */
export function encodePingTerminate(reason: number, message: string): Uint8Array {
  return encodeHandshakeFrame({ kind: 'terminate', reason, message })
}

/** Which end reads: the answerer reads pings, the pinger reads pongs (or a TERMINATE). */
export type PingDirection = 'to-answerer' | 'to-pinger'

/**
 * The codec of one end of a ping stream, for CodecDecoder and the protocol server: decoding
 * failures are WireErrors (WIRE_MALFORMED) carrying the ReputationError as their cause, so the
 * server ends the stream as it ends any malformed one.
 */
export function pingCodec(direction: PingDirection): FrameCodec<PingFrame> {
  const toAnswerer = direction === 'to-answerer'
  return {
    accepts: (kind) =>
      toAnswerer ? kind === FRAME_PING : kind === FRAME_PONG || kind === FRAME_TERMINATE,
    maxPayload: toAnswerer ? MAX_PING_PAYLOAD : MAX_PONG_PAYLOAD,
    decode(kind, payload) {
      try {
        if (kind === FRAME_PING) return { kind: 'ping', ...decodePingPayload(payload) }
        if (kind === FRAME_PONG) return { kind: 'pong', ...decodePongPayload(payload) }
        if (kind === FRAME_TERMINATE && payload.length <= MAX_TERMINATE_PAYLOAD)
          return decodeHandshakePayload(kind, payload) as TerminateFrame
      } catch (error) {
        if (error instanceof WireError) throw error
        throw new WireError('WIRE_MALFORMED', (error as Error).message, { cause: error })
      }
      throw new WireError('WIRE_MALFORMED', `frame 0x${kind.toString(16)} on a ping stream`)
    },
    encode(f) {
      switch (f.kind) {
        case 'ping':
          return encodePing(f)
        case 'pong':
          return encodePong(f)
        default:
          return encodeHandshakeFrame(f)
      }
    },
  }
}
