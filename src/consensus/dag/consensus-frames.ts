/**
 * The committee's libp2p protocol (`/fulmen/consensus/1.0.0`): the frames members exchange
 * over the messenger (src/net/messenger.ts), framed as every Fulmen stream is
 * (`kind:u8 length:u32be payload`, src/wire/frame-codec.ts). Kinds 0x70–0x79, clear of every
 * other protocol's (docs/protocol.md):
 *
 *   0x70 HEADER               a header's DAG-CBOR (narwhal-messages.ts)
 *   0x71 VOTE                 a vote's DAG-CBOR
 *   0x72 CERTIFICATE          a certificate's DAG-CBOR
 *   0x73 CERTIFICATE_REQUEST  digest[32] × 1..1024: certificates the sender is missing
 *   0x74 BATCH                a batch's DAG-CBOR (narwhal-batch.ts)
 *   0x75 BATCH_REQUEST        digest[32] × 1..1024: batches the sender is missing
 *   0x76 ATTESTATION          height:u64 blockHash[32] signature[48]: a block's partial
 *   0x77 CERTIFICATE_RANGE    fromRound:u64: every certificate the receiver keeps from there
 *   0x78 POSITION_REQUEST     epoch:u64 height:u64: where did the DAG stand after this block?
 *   0x79 POSITION             epoch:u64 height:u64 blockHash[32] committedRound:u64: the answer
 *
 * A batch frame keeps its bytes: the receiver digests them as they came and decodes the
 * transactions when it needs them; the codec still checks they parse, so a member never stores
 * a batch it cannot later decode. Every failure on untrusted bytes is a WireError (the
 * messenger resets the stream of a peer that sends one); a ConsensusError from a message
 * decoder is wrapped as WIRE_MALFORMED with it as the cause.
 */
import { WireError } from '../../wire/errors.ts'
import type { FrameCodec } from '../../wire/frame-codec.ts'
import { encodeRawFrame } from '../../wire/frame-splitter.ts'
import { PayloadReader, PayloadWriter } from '../../wire/payload.ts'
import { ConsensusError } from '../errors.ts'
import { checkBatch, MAX_BATCH_ENCODED_BYTES } from './narwhal-batch.ts'
import {
  type Certificate,
  DIGEST_BYTES,
  decodeCertificate,
  decodeHeader,
  decodeVote,
  encodeCertificate,
  encodeHeader,
  encodeVote,
  type Header,
  type Vote,
} from './narwhal-messages.ts'

export const CONSENSUS_PROTOCOL = '/fulmen/consensus/1.0.0'

export const FRAME_HEADER = 0x70
export const FRAME_VOTE = 0x71
export const FRAME_CERTIFICATE = 0x72
export const FRAME_CERTIFICATE_REQUEST = 0x73
export const FRAME_BATCH = 0x74
export const FRAME_BATCH_REQUEST = 0x75
/** A member's BLS signature of a block it executed (block attestations, attestation/). */
export const FRAME_ATTESTATION = 0x76
/** height u64 ‖ block hash 32 ‖ BLS signature 48. */
const ATTESTATION_PAYLOAD = 8 + 32 + 48
export const FRAME_CERTIFICATE_RANGE = 0x77
export const FRAME_POSITION_REQUEST = 0x78
export const FRAME_POSITION = 0x79
/** A member's BLS signature of a checkpoint (src/checkpoint), laid out as ATTESTATION. */
export const FRAME_CHECKPOINT_SIGNATURE = 0x7a
const POSITION_REQUEST_PAYLOAD = 8 + 8
const POSITION_PAYLOAD = 8 + 8 + 32 + 8

/** The most digests one request names. */
export const MAX_REQUEST_DIGESTS = 1024

/**
 * The largest payload: the largest batch, and room to spare. The largest certificate (1,024
 * parents, 4,096 batch digests, 1,024 signatures) is about 240 KiB, well under.
 */
export const MAX_CONSENSUS_PAYLOAD = MAX_BATCH_ENCODED_BYTES + 16 * 1024

export type ConsensusFrame =
  | { readonly kind: 'header'; readonly header: Header }
  | { readonly kind: 'vote'; readonly vote: Vote }
  | { readonly kind: 'certificate'; readonly certificate: Certificate }
  | { readonly kind: 'certificate-request'; readonly digests: readonly Uint8Array[] }
  | { readonly kind: 'batch'; readonly encoded: Uint8Array }
  | { readonly kind: 'batch-request'; readonly digests: readonly Uint8Array[] }
  | {
      readonly kind: 'attestation'
      readonly height: number
      readonly blockHash: Uint8Array
      readonly signature: Uint8Array
    }
  /** A member's partial signature of the checkpoint taken after the block at `height`. */
  | {
      readonly kind: 'checkpoint-signature'
      readonly height: number
      readonly checkpointHash: Uint8Array
      readonly signature: Uint8Array
    }
  /** A member rejoining the DAG: every certificate the receiver keeps of rounds ≥ fromRound. */
  | { readonly kind: 'certificate-range'; readonly fromRound: number }
  /** A member rejoining: the committed round after the block of this height, in this epoch? */
  | { readonly kind: 'position-request'; readonly epoch: number; readonly height: number }
  /** The answer: after executing `height` (`blockHash`), Bullshark had committed this round. */
  | {
      readonly kind: 'position'
      readonly epoch: number
      readonly height: number
      readonly blockHash: Uint8Array
      readonly committedRound: number
    }

/** ATTESTATION and CHECKPOINT-SIGNATURE: height u64 ‖ hash 32 ‖ BLS signature 48. */
function readSignedHash(payload: Uint8Array, frameName: string, hashName: string) {
  const r = PayloadReader.exact(payload, ATTESTATION_PAYLOAD, frameName)
  return {
    height: r.safeU64('height'),
    hash: r.bytes(32, hashName).slice(),
    signature: r.bytes(48, 'signature').slice(),
  }
}

function writeSignedHash(
  kind: number,
  height: number,
  hash: Uint8Array,
  signature: Uint8Array,
): Uint8Array {
  return new PayloadWriter(ATTESTATION_PAYLOAD)
    .u64(height, 'height')
    .raw(hash, 32, 'hash')
    .raw(signature, 48, 'signature')
    .frame(kind)
}

function wireMalformed(message: string, cause?: unknown): WireError {
  return new WireError('WIRE_MALFORMED', message, cause === undefined ? undefined : { cause })
}

/** Runs a message decoder; its ConsensusError (or anything else) becomes WIRE_MALFORMED. */
function asWire<T>(what: string, decode: () => T): T {
  try {
    return decode()
  } catch (e) {
    if (e instanceof WireError) throw e
    const reason = e instanceof ConsensusError ? e.message : String(e)
    throw wireMalformed(`${what}: ${reason}`, e)
  }
}

function decodeDigests(payload: Uint8Array, what: string): Uint8Array[] {
  if (payload.length === 0 || payload.length % DIGEST_BYTES !== 0) {
    throw wireMalformed(`${what}: ${payload.length} bytes is not a whole number of digests`)
  }
  const count = payload.length / DIGEST_BYTES
  if (count > MAX_REQUEST_DIGESTS) {
    throw wireMalformed(`${what}: ${count} digests, over ${MAX_REQUEST_DIGESTS}`)
  }
  const digests: Uint8Array[] = new Array(count)
  for (let i = 0; i < count; i++) {
    digests[i] = payload.slice(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES)
  }
  return digests
}

function encodeDigests(digests: readonly Uint8Array[], kind: number, what: string): Uint8Array {
  if (digests.length === 0 || digests.length > MAX_REQUEST_DIGESTS) {
    throw new RangeError(`${what} names 1..${MAX_REQUEST_DIGESTS} digests, got ${digests.length}`)
  }
  const w = new PayloadWriter(digests.length * DIGEST_BYTES)
  for (const d of digests) w.raw(d, DIGEST_BYTES, 'digest')
  return w.frame(kind)
}

/** A frame of `kind` around an already encoded payload (one the receiver would accept). */
function frameOf(kind: number, payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_CONSENSUS_PAYLOAD) {
    throw new RangeError(`a ${payload.length}-byte payload, over ${MAX_CONSENSUS_PAYLOAD}`)
  }
  return encodeRawFrame(kind, payload)
}

export const CONSENSUS_FRAMES: FrameCodec<ConsensusFrame> = {
  accepts: (kind) => kind >= FRAME_HEADER && kind <= FRAME_CHECKPOINT_SIGNATURE,
  maxPayload: MAX_CONSENSUS_PAYLOAD,
  decode(kind, payload) {
    switch (kind) {
      case FRAME_HEADER:
        return { kind: 'header', header: asWire('HEADER', () => decodeHeader(payload)) }
      case FRAME_VOTE:
        return { kind: 'vote', vote: asWire('VOTE', () => decodeVote(payload)) }
      case FRAME_CERTIFICATE:
        return {
          kind: 'certificate',
          certificate: asWire('CERTIFICATE', () => decodeCertificate(payload)),
        }
      case FRAME_CERTIFICATE_REQUEST:
        return {
          kind: 'certificate-request',
          digests: decodeDigests(payload, 'CERTIFICATE-REQUEST'),
        }
      case FRAME_BATCH: {
        asWire('BATCH', () => checkBatch(payload))
        // Its own copy: the splitter's payload may be a view of a larger buffer.
        return { kind: 'batch', encoded: payload.slice() }
      }
      case FRAME_BATCH_REQUEST:
        return { kind: 'batch-request', digests: decodeDigests(payload, 'BATCH-REQUEST') }
      case FRAME_ATTESTATION: {
        const { height, hash, signature } = readSignedHash(payload, 'ATTESTATION', 'block hash')
        return { kind: 'attestation', height, blockHash: hash, signature }
      }
      case FRAME_CHECKPOINT_SIGNATURE: {
        const signed = readSignedHash(payload, 'CHECKPOINT-SIGNATURE', 'checkpoint hash')
        return {
          kind: 'checkpoint-signature',
          height: signed.height,
          checkpointHash: signed.hash,
          signature: signed.signature,
        }
      }
      case FRAME_CERTIFICATE_RANGE: {
        const r = PayloadReader.exact(payload, 8, 'CERTIFICATE-RANGE')
        return { kind: 'certificate-range', fromRound: r.safeU64('from round') }
      }
      case FRAME_POSITION_REQUEST: {
        const r = PayloadReader.exact(payload, POSITION_REQUEST_PAYLOAD, 'POSITION-REQUEST')
        return { kind: 'position-request', epoch: r.safeU64('epoch'), height: r.safeU64('height') }
      }
      case FRAME_POSITION: {
        const r = PayloadReader.exact(payload, POSITION_PAYLOAD, 'POSITION')
        return {
          kind: 'position',
          epoch: r.safeU64('epoch'),
          height: r.safeU64('height'),
          blockHash: r.bytes(32, 'block hash').slice(),
          committedRound: r.safeU64('committed round'),
        }
      }
      default:
        throw new WireError('WIRE_UNKNOWN_FRAME', `unknown consensus frame type ${kind}`)
    }
  },
  encode(frame) {
    switch (frame.kind) {
      case 'header':
        return frameOf(FRAME_HEADER, encodeHeader(frame.header))
      case 'vote':
        return frameOf(FRAME_VOTE, encodeVote(frame.vote))
      case 'certificate':
        return frameOf(FRAME_CERTIFICATE, encodeCertificate(frame.certificate))
      case 'certificate-request':
        return encodeDigests(frame.digests, FRAME_CERTIFICATE_REQUEST, 'a certificate request')
      case 'batch':
        return frameOf(FRAME_BATCH, frame.encoded)
      case 'batch-request':
        return encodeDigests(frame.digests, FRAME_BATCH_REQUEST, 'a batch request')
      case 'attestation':
        return writeSignedHash(FRAME_ATTESTATION, frame.height, frame.blockHash, frame.signature)
      case 'checkpoint-signature':
        return writeSignedHash(
          FRAME_CHECKPOINT_SIGNATURE,
          frame.height,
          frame.checkpointHash,
          frame.signature,
        )
      case 'certificate-range':
        return new PayloadWriter(8)
          .u64(frame.fromRound, 'from round')
          .frame(FRAME_CERTIFICATE_RANGE)
      case 'position-request':
        return new PayloadWriter(POSITION_REQUEST_PAYLOAD)
          .u64(frame.epoch, 'epoch')
          .u64(frame.height, 'height')
          .frame(FRAME_POSITION_REQUEST)
      case 'position':
        return new PayloadWriter(POSITION_PAYLOAD)
          .u64(frame.epoch, 'epoch')
          .u64(frame.height, 'height')
          .raw(frame.blockHash, 32, 'block hash')
          .u64(frame.committedRound, 'committed round')
          .frame(FRAME_POSITION)
    }
  },
}
