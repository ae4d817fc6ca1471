/**
 * The commitment a client signs once per hash chain (docs/protocol.md, "Delivery
 * acknowledgements"): 130 bytes naming what is acknowledged (service, commodity, unit), to
 * whom (node), in which session and epoch, and the chain's anchor.
 *
 *   version:u8=1 service:u32be commodity:u8 unit:u32be chainLength:u32be seq:u32be
 *   epoch:u64be session:u64be nodeKey[32] clientKey[32] anchor[32]
 *
 * It is signed with EdDSA-Poseidon as one field element, Poseidon(f0, f1, nodeKey halves,
 * anchor halves), so that a circuit can check a claim with circomlib's Poseidon alone. The
 * client key is not in the message: the signature verifies under it, which binds it already.
 */

import { equalBytes } from '../core/bytes.ts'
import type { ClientKey } from '../crypto/client-key.ts'
import { verify } from '../crypto/eddsa-poseidon.ts'
import { poseidon } from '../crypto/poseidon.ts'
import { AckError } from './errors.ts'

export const COMMITMENT_VERSION = 1
export const COMMITMENT_LEN = 130
export const SIGNATURE_LEN = 64
export const KEY_LEN = 32

/** Commodity 0: bandwidth, counted in units of `unit` bytes. */
export const COMMODITY_BANDWIDTH = 0
/** Commodity 1: compute (not delivered yet; decodes, but no ledger accepts it). */
export const COMMODITY_COMPUTE = 1

export interface Commitment {
  readonly version: 1
  readonly service: number
  readonly commodity: number
  /** Bytes per unit (a block: 262,144). */
  readonly unit: number
  /** L: the chain acknowledges at most L units. */
  readonly chainLength: number
  /** Which commitment of the session, from 0. */
  readonly seq: number
  readonly epoch: bigint
  readonly session: bigint
  /** The node's Ed25519 public key. */
  readonly nodeKey: Uint8Array
  /** The client's EdDSA-Poseidon public key. */
  readonly clientKey: Uint8Array
  /** c0 = H^L(seed). */
  readonly anchor: Uint8Array
}

const NODE_KEY_AT = 34
const CLIENT_KEY_AT = 66
const ANCHOR_AT = 98
const U64_MAX = (1n << 64n) - 1n

function malformed(message: string): AckError {
  return new AckError('ACK_MALFORMED', message)
}

function checkU32(value: number, what: string, min = 0): void {
  if (!Number.isInteger(value) || value < min || value > 0xffff_ffff) {
    throw malformed(`${what} must be an integer in [${min}, 2^32), got ${value}`)
  }
}

function checkU64(value: bigint, what: string): void {
  if (typeof value !== 'bigint' || value < 0n || value > U64_MAX) {
    throw malformed(`${what} must be a bigint in [0, 2^64), got ${String(value)}`)
  }
}

function checkKey(bytes: Uint8Array, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== KEY_LEN) {
    throw malformed(`${what} must be ${KEY_LEN} bytes, got ${bytes?.length}`)
  }
}

/** Fields that make a commitment meaningless (nothing could ever be acknowledged under it). */
function checkFields(c: Commitment): void {
  if (c.version !== COMMITMENT_VERSION) {
    throw malformed(`commitment version ${c.version} is not ${COMMITMENT_VERSION}`)
  }
  checkU32(c.service, 'service')
  if (!Number.isInteger(c.commodity) || c.commodity < 0 || c.commodity > 0xff) {
    throw malformed(`commodity must be a byte, got ${c.commodity}`)
  }
  checkU32(c.unit, 'unit', 1)
  checkU32(c.chainLength, 'chainLength', 1)
  checkU32(c.seq, 'seq')
  checkU64(c.epoch, 'epoch')
  checkU64(c.session, 'session')
  checkKey(c.nodeKey, 'nodeKey')
  checkKey(c.clientKey, 'clientKey')
  checkKey(c.anchor, 'anchor')
}

export function encodeCommitment(c: Commitment): Uint8Array {
  checkFields(c)
  const out = new Uint8Array(COMMITMENT_LEN)
  const view = new DataView(out.buffer)
  out[0] = c.version
  view.setUint32(1, c.service)
  out[5] = c.commodity
  view.setUint32(6, c.unit)
  view.setUint32(10, c.chainLength)
  view.setUint32(14, c.seq)
  view.setBigUint64(18, c.epoch)
  view.setBigUint64(26, c.session)
  out.set(c.nodeKey, NODE_KEY_AT)
  out.set(c.clientKey, CLIENT_KEY_AT)
  out.set(c.anchor, ANCHOR_AT)
  return out
}

/** Reads a commitment; throws ACK_MALFORMED on anything `encodeCommitment` would not write. */
export function decodeCommitment(bytes: Uint8Array): Commitment {
  if (!(bytes instanceof Uint8Array) || bytes.length !== COMMITMENT_LEN) {
    throw malformed(`a commitment is ${COMMITMENT_LEN} bytes, got ${bytes?.length}`)
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (bytes[0] !== COMMITMENT_VERSION) {
    throw malformed(`commitment version ${bytes[0]} is not ${COMMITMENT_VERSION}`)
  }
  const c: Commitment = {
    version: COMMITMENT_VERSION,
    service: view.getUint32(1),
    commodity: bytes[5]!,
    unit: view.getUint32(6),
    chainLength: view.getUint32(10),
    seq: view.getUint32(14),
    epoch: view.getBigUint64(18),
    session: view.getBigUint64(26),
    // Copies: the caller's buffer may be reused (a network read), the commitment is kept.
    nodeKey: bytes.slice(NODE_KEY_AT, NODE_KEY_AT + KEY_LEN),
    clientKey: bytes.slice(CLIENT_KEY_AT, CLIENT_KEY_AT + KEY_LEN),
    anchor: bytes.slice(ANCHOR_AT, ANCHOR_AT + KEY_LEN),
  }
  checkFields(c)
  return c
}

/**
 * The big-endian integer of `bytes[start .. start+16)` (plus `extra` bytes before it, at most 2):
 * always below the BN254 field order. Two 64-bit reads (byte by byte was ~2 µs a field).
 */
function fieldOf(view: DataView, start: number, extra = 0): bigint {
  const at = start + extra
  const low = (view.getBigUint64(at) << 64n) | view.getBigUint64(at + 8)
  return extra === 0 ? low : (BigInt(view.getUint16(start)) << 128n) | low
}

/** The message of an encoded commitment (the six field elements of the spec). */
export function messageOfBytes(b: Uint8Array): bigint {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  return poseidon([
    fieldOf(view, 0, 2),
    fieldOf(view, 18),
    fieldOf(view, NODE_KEY_AT),
    fieldOf(view, NODE_KEY_AT + 16),
    fieldOf(view, ANCHOR_AT),
    fieldOf(view, ANCHOR_AT + 16),
  ])
}

/** The field element the client signs: Poseidon(f0, f1, nodeKey[0:16], nodeKey[16:32], …). */
export function commitmentMessage(c: Commitment): bigint {
  return messageOfBytes(encodeCommitment(c))
}

/** Encodes and signs `c`; `key` must be the client key the commitment names. */
export function signCommitment(
  c: Commitment,
  key: ClientKey,
): { commitment: Uint8Array; signature: Uint8Array } {
  const commitment = encodeCommitment(c)
  if (!equalBytes(c.clientKey, key.publicKey)) {
    // Such a commitment could never verify: a mistake of the caller, caught here.
    throw new AckError('ACK_WRONG_CLIENT', 'the commitment names another client key')
  }
  return { commitment, signature: key.sign(messageOfBytes(commitment)) }
}

/**
 * Decodes `bytes` and checks `signature` under the client key they name. Throws
 * ACK_MALFORMED or ACK_FORGED_COMMITMENT; costs one EdDSA-Poseidon verification.
 */
export function verifyCommitment(bytes: Uint8Array, signature: Uint8Array): Commitment {
  const c = decodeCommitment(bytes)
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LEN) {
    throw malformed(`a signature is ${SIGNATURE_LEN} bytes, got ${signature?.length}`)
  }
  if (!verify(c.clientKey, messageOfBytes(bytes), signature)) {
    throw new AckError(
      'ACK_FORGED_COMMITMENT',
      'the commitment signature does not verify under its client key',
    )
  }
  return c
}
