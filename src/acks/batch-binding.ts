/**
 * What a DA batch proof binds (circuits/da_batch.circom): the commitments of its claims, as
 * eight field elements each, chained with Poseidon. The executor hashes the claims it was given
 * and compares with the proof's one public signal; the prover builds the circuit's input.
 *
 *   fields(c) = [c[0..18], c[18..34], nodeKey hi, lo, clientKey hi, lo, anchor hi, lo]
 *               (each a big-endian integer of its byte range, below 2^144)
 *   digest    = acc_n, acc_0 = 0, acc_{i+1} = Poseidon(acc_i, fields(c_i))      (n ≤ S claims)
 *
 * The message a client signs is Poseidon of six of them (commitment.ts `messageOfBytes`).
 */
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { unpackPoint } from '../crypto/babyjub.ts'
import { PUBLIC_KEY_LEN, SIGNATURE_LEN } from '../crypto/eddsa-poseidon.ts'
import { FIELD_ORDER } from '../crypto/field.ts'
import { poseidon } from '../crypto/poseidon.ts'
import { COMMITMENT_LEN } from './commitment.ts'
import { AckError } from './errors.ts'

/** Field elements per commitment in the binding. */
export const BATCH_FIELDS = 8
const CLIENT_KEY_AT = 66

/** The byte ranges of the eight fields: [start, end). */
const RANGES: readonly (readonly [number, number])[] = [
  [0, 18],
  [18, 34],
  [34, 50],
  [50, 66],
  [66, 82],
  [82, 98],
  [98, 114],
  [114, 130],
]

function bigEndian(bytes: Uint8Array, start: number, end: number): bigint {
  let n = 0n
  for (let i = start; i < end; i++) n = (n << 8n) | BigInt(bytes[i] as number)
  return n
}

/** The eight field elements of an encoded commitment (length-checked only). */
export function commitmentFields(commitment: Uint8Array): bigint[] {
  if (!(commitment instanceof Uint8Array) || commitment.length !== COMMITMENT_LEN) {
    throw new AckError(
      'ACK_MALFORMED',
      `a commitment is ${COMMITMENT_LEN} bytes, got ${commitment?.length}`,
    )
  }
  return RANGES.map(([start, end]) => bigEndian(commitment, start, end))
}

/**
 * True when the client key bytes are the one encoding of their y (y < p): the circuit ties
 * the bytes to a point modulo p, so the executor refuses the second encoding y + p itself.
 */
export function canonicalClientKey(commitment: Uint8Array): boolean {
  const key = commitment.slice(CLIENT_KEY_AT, CLIENT_KEY_AT + PUBLIC_KEY_LEN)
  key[PUBLIC_KEY_LEN - 1] = (key[PUBLIC_KEY_LEN - 1] as number) & 0x7f
  return bytesToNumberLE(key) < FIELD_ORDER
}

/** The digest a proof of these commitments (in this order) has as its public signal. */
export function batchDigest(commitments: readonly Uint8Array[]): bigint {
  let acc = 0n
  for (const c of commitments) acc = poseidon([acc, ...commitmentFields(c)])
  return acc
}

/** A claim as the prover has it: the commitment and the client's signature over it. */
export interface SignedCommitment {
  readonly commitment: Uint8Array
  readonly signature: Uint8Array
}

/** The circuit's input (decimal strings, as snarkjs takes them) for `claims` in `slots` slots. */
export interface BatchWitnessInput {
  readonly enabled: string[]
  readonly fields: string[][]
  readonly Ax: string[]
  readonly Ay: string[]
  readonly R8x: string[]
  readonly R8y: string[]
  readonly sig: string[]
}

/**
 * The witness input for `claims` padded to `slots` (padding: all zero, disabled). Throws
 * ACK_MALFORMED for a key or signature that is no point, ACK_BATCH_TOO_LARGE past `slots`.
 */
export function batchWitnessInput(
  claims: readonly SignedCommitment[],
  slots: number,
): BatchWitnessInput {
  if (claims.length > slots) {
    throw new AckError('ACK_BATCH_TOO_LARGE', `${claims.length} claims do not fit ${slots} slots`)
  }
  const input: BatchWitnessInput = {
    enabled: [],
    fields: [],
    Ax: [],
    Ay: [],
    R8x: [],
    R8y: [],
    sig: [],
  }
  for (let i = 0; i < slots; i++) {
    const claim = claims[i]
    if (claim === undefined) {
      input.enabled.push('0')
      input.fields.push(Array.from({ length: BATCH_FIELDS }, () => '0'))
      for (const column of [input.Ax, input.Ay, input.R8x, input.R8y, input.sig]) column.push('0')
      continue
    }
    const { commitment, signature } = claim
    const fields = commitmentFields(commitment)
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LEN) {
      throw new AckError('ACK_MALFORMED', `claim ${i}: a signature is ${SIGNATURE_LEN} bytes`)
    }
    const key = unpackPoint(commitment.slice(CLIENT_KEY_AT, CLIENT_KEY_AT + PUBLIC_KEY_LEN))
    const r8 = unpackPoint(signature.slice(0, PUBLIC_KEY_LEN))
    if (key === undefined)
      throw new AckError('ACK_MALFORMED', `claim ${i}: the client key is no point`)
    if (r8 === undefined) throw new AckError('ACK_MALFORMED', `claim ${i}: R8 is no point`)
    const a = key.toAffine()
    const r = r8.toAffine()
    input.enabled.push('1')
    input.fields.push(fields.map(String))
    input.Ax.push(String(a.x))
    input.Ay.push(String(a.y))
    input.R8x.push(String(r.x))
    input.R8y.push(String(r.y))
    input.sig.push(String(bytesToNumberLE(signature.slice(PUBLIC_KEY_LEN))))
  }
  return input
}
