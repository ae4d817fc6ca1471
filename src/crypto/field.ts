/**
 * The BN254 scalar field F_p: the field circom circuits compute in, Poseidon hashes over and
 * Baby Jubjub coordinates live in. Every value that may enter a circuit is an element of it.
 */
import { Field } from '@noble/curves/abstract/modular.js'
import {
  bytesToNumberBE,
  bytesToNumberLE,
  numberToBytesBE,
  numberToBytesLE,
} from '@noble/curves/utils.js'
import { CryptoError } from './errors.ts'

export const FIELD_ORDER =
  21888242871839275222246405745257275088548364400416034343698204186575808495617n

/** Bytes of one encoded field element (p < 2^254). */
export const FIELD_BYTES = 32

/** Arithmetic mod p (noble's `Field`), shared by Poseidon and message hashing. */
export const Fp = Field(FIELD_ORDER)

/** True when `value` is a bigint in [0, p). */
export function isFieldElement(value: unknown): value is bigint {
  return typeof value === 'bigint' && value >= 0n && value < FIELD_ORDER
}

/** Throws CRYPTO_INVALID_FIELD unless `value` is a bigint in [0, p); `what` names it. */
export function assertFieldElement(value: unknown, what = 'value'): asserts value is bigint {
  if (!isFieldElement(value)) {
    const shown = typeof value === 'bigint' ? value.toString() : typeof value
    throw new CryptoError(
      'CRYPTO_INVALID_FIELD',
      `${what} is not a field element (0 <= x < p): ${shown}`,
    )
  }
}

function checkLength(bytes: Uint8Array): void {
  if (!(bytes instanceof Uint8Array) || bytes.length > FIELD_BYTES) {
    throw new CryptoError(
      'CRYPTO_INVALID_ARGUMENT',
      `a field element takes at most ${FIELD_BYTES} bytes, got ${bytes?.length}`,
    )
  }
}

/**
 * Reads a big-endian field element of at most 32 bytes. Values >= p are rejected, never
 * reduced: a reduction would let two encodings stand for one element.
 */
export function fieldFromBytesBE(bytes: Uint8Array): bigint {
  checkLength(bytes)
  const value = bytesToNumberBE(bytes)
  assertFieldElement(value, 'big-endian field element')
  return value
}

/** Little-endian twin of `fieldFromBytesBE` (circomlib's byte order). */
export function fieldFromBytesLE(bytes: Uint8Array): bigint {
  checkLength(bytes)
  const value = bytesToNumberLE(bytes)
  assertFieldElement(value, 'little-endian field element')
  return value
}

/** A field element as 32 big-endian bytes. */
export function fieldToBytesBE(value: bigint): Uint8Array {
  assertFieldElement(value)
  return numberToBytesBE(value, FIELD_BYTES)
}

/** A field element as 32 little-endian bytes (circomlib's byte order). */
export function fieldToBytesLE(value: bigint): Uint8Array {
  assertFieldElement(value)
  return numberToBytesLE(value, FIELD_BYTES)
}
