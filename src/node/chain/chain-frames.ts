/**
 * Frames of a chain stream (`/fulmen/chain/1.0.0`, docs/protocol.md "Chain: libp2p protocol"):
 * one request, one answer, then the stream closes. Same framing as every Fulmen stream
 * (`kind:u8 length:u32be payload`); the payloads are canonical DAG-CBOR maps.
 *
 *   REQUEST   0x50  peer → node  { op: "head" }
 *                                { op: "tx", digest: bytes(32) }
 *                                { op: "submit", tx: bytes(≤ 128 KiB) }
 *                                { op: "block", height: uint }
 *                                { op: "state", table: text, key: text, height?: uint }
 *                                { op: "checkpoints", from: uint }
 *   RESULT    0x51  node → peer  the answer, the same object as the HTTP route's JSON body
 *   ERROR     0x52  node → peer  { code: text, message: text, status: uint } (the HTTP status)
 *   TERMINATE 0x1f  node → peer  reason:u8 message:utf8 (a frame that is not a request)
 *
 * Decoding is strict: a request is a canonical map with exactly its op's fields, each of its
 * type and within its limit; anything else is a WireError, which ends the stream with TERMINATE.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { RecordReader } from '../../state/cbor-shape.ts'
import type { FrameCodec } from '../../wire/frame-codec.ts'
import {
  decodeHandshakePayload,
  encodeHandshakeFrame,
  FRAME_TERMINATE,
  type TerminateFrame,
} from '../../wire/handshake-frames.ts'
import { malformed, PayloadWriter } from '../../wire/payload.ts'
import { type ChainRequest, MAX_CHAIN_BODY } from './chain-api.ts'

export const FRAME_CHAIN_REQUEST = 0x50
export const FRAME_CHAIN_RESULT = 0x51
export const FRAME_CHAIN_ERROR = 0x52
export { FRAME_TERMINATE }

/** A request's largest payload: a whole transaction and its map around it. */
export const MAX_CHAIN_REQUEST_PAYLOAD = MAX_CHAIN_BODY + 64
/** An answer's largest payload (a block of many transactions is the large one). */
export const MAX_CHAIN_RESULT_PAYLOAD = 8 * 1024 * 1024
/** Characters of a table name and of a key's text in a state request. */
export const MAX_TABLE_NAME = 64
export const MAX_KEY_TEXT = 512
/** Bytes of an error's code and message. */
const MAX_CODE = 64
const MAX_MESSAGE = 1024

export interface ChainRequestFrame {
  readonly kind: 'request'
  readonly request: ChainRequest
}

export interface ChainResultFrame {
  readonly kind: 'result'
  /** JSON-shaped: objects, arrays, strings, numbers, booleans, null. */
  readonly result: unknown
}

export interface ChainErrorFrame {
  readonly kind: 'error'
  readonly code: string
  readonly message: string
  readonly status: number
}

export type ChainFrame = ChainRequestFrame | ChainResultFrame | ChainErrorFrame | TerminateFrame

/** Which end reads the stream: the node reads requests, the peer reads answers. */
export type ChainDirection = 'to-node' | 'to-peer'

function frame(kind: number, payload: Uint8Array): Uint8Array {
  return new PayloadWriter(payload.length).raw(payload).frame(kind)
}

function requestMap(request: ChainRequest): Record<string, unknown> {
  switch (request.op) {
    case 'head':
      return { op: 'head' }
    case 'tx':
      if (request.digest.length !== 32) throw new RangeError('a digest is 32 bytes')
      return { op: 'tx', digest: request.digest }
    case 'submit':
      if (request.tx.length > MAX_CHAIN_BODY)
        throw new RangeError(`a transaction is at most ${MAX_CHAIN_BODY} bytes`)
      return { op: 'submit', tx: request.tx }
    case 'block':
      if (!Number.isSafeInteger(request.height) || request.height < 0)
        throw new RangeError('a height is a non-negative safe integer')
      return { op: 'block', height: request.height }
    case 'state':
      if (request.table.length > MAX_TABLE_NAME || request.key.length > MAX_KEY_TEXT)
        throw new RangeError(
          `a table name is at most ${MAX_TABLE_NAME} characters, a key ${MAX_KEY_TEXT}`,
        )
      if (
        request.height !== undefined &&
        (!Number.isSafeInteger(request.height) || request.height < 0)
      ) {
        throw new RangeError('a height is a non-negative safe integer')
      }
      return {
        op: 'state',
        table: request.table,
        key: request.key,
        ...(request.height === undefined ? {} : { height: request.height }),
      }
    case 'checkpoints':
      if (!Number.isSafeInteger(request.from) || request.from < 0)
        throw new RangeError('an epoch is a non-negative safe integer')
      return { op: 'checkpoints', from: request.from }
  }
}

/** The frame's bytes, prefix included. Throws RangeError on values the format cannot carry. */
export function encodeChainFrame(f: ChainFrame): Uint8Array {
  switch (f.kind) {
    case 'request':
      return frame(FRAME_CHAIN_REQUEST, dagCbor.encode(requestMap(f.request)))
    case 'result': {
      // Through JSON first: exactly what the HTTP route sends (no undefined, no bigint).
      const payload = dagCbor.encode(JSON.parse(JSON.stringify(f.result)) as unknown)
      if (payload.length > MAX_CHAIN_RESULT_PAYLOAD)
        throw new RangeError(`an answer is at most ${MAX_CHAIN_RESULT_PAYLOAD} bytes`)
      return frame(FRAME_CHAIN_RESULT, payload)
    }
    case 'error':
      return frame(
        FRAME_CHAIN_ERROR,
        dagCbor.encode({
          code: f.code.slice(0, MAX_CODE),
          message: f.message.slice(0, MAX_MESSAGE),
          status: f.status,
        }),
      )
    case 'terminate':
      return encodeHandshakeFrame(f)
  }
}

const fail = (message: string) => malformed(message)

function decodeRequest(payload: Uint8Array): ChainRequest {
  const r = RecordReader.decode(payload, 'a chain REQUEST', fail)
  const op = r.string('op', 16)
  let request: ChainRequest
  switch (op) {
    case 'head':
      request = { op }
      break
    case 'tx':
      request = { op, digest: r.bytes('digest', 32) }
      break
    case 'submit':
      request = { op, tx: r.bytes('tx') }
      if (request.tx.length > MAX_CHAIN_BODY) throw fail('a chain REQUEST with an oversized tx')
      break
    case 'block':
      request = { op, height: r.uint('height') }
      break
    case 'state': {
      const table = r.string('table', MAX_TABLE_NAME)
      const key = r.string('key', MAX_KEY_TEXT)
      request = r.has('height') ? { op, table, key, height: r.uint('height') } : { op, table, key }
      break
    }
    case 'checkpoints':
      request = { op, from: r.uint('from') }
      break
    default:
      throw fail(`a chain REQUEST with an unknown op '${op}'`)
  }
  r.done()
  return request
}

function decodeAny(payload: Uint8Array, what: string): unknown {
  try {
    return dagCbor.decode(payload)
  } catch (e) {
    throw fail(`${what} is not DAG-CBOR: ${(e as Error).message}`)
  }
}

function decodeError(payload: Uint8Array): ChainErrorFrame {
  const r = RecordReader.decode(payload, 'a chain ERROR', fail)
  const code = r.string('code', MAX_CODE)
  const message = r.string('message', MAX_MESSAGE)
  const status = r.uint('status', 999)
  r.done()
  return { kind: 'error', code, message, status }
}

/** Decodes the payload of a frame of `kind`. Untrusted bytes: every failure is a WireError. */
export function decodeChainPayload(kind: number, payload: Uint8Array): ChainFrame {
  switch (kind) {
    case FRAME_CHAIN_REQUEST:
      return { kind: 'request', request: decodeRequest(payload) }
    case FRAME_CHAIN_RESULT:
      return { kind: 'result', result: decodeAny(payload, 'a chain RESULT') }
    case FRAME_CHAIN_ERROR:
      return decodeError(payload)
    case FRAME_TERMINATE:
      return decodeHandshakePayload(kind, payload) as TerminateFrame
    default:
      throw malformed(`frame kind 0x${kind.toString(16)} on a chain stream`)
  }
}

const TO_NODE: ReadonlySet<number> = new Set([FRAME_CHAIN_REQUEST])
const TO_PEER: ReadonlySet<number> = new Set([
  FRAME_CHAIN_RESULT,
  FRAME_CHAIN_ERROR,
  FRAME_TERMINATE,
])

/** The codec one end reads with. */
export function chainCodec(direction: ChainDirection): FrameCodec<ChainFrame> {
  const kinds = direction === 'to-node' ? TO_NODE : TO_PEER
  return {
    accepts: (kind) => kinds.has(kind),
    maxPayload: direction === 'to-node' ? MAX_CHAIN_REQUEST_PAYLOAD : MAX_CHAIN_RESULT_PAYLOAD,
    decode: decodeChainPayload,
    encode: encodeChainFrame,
  }
}
