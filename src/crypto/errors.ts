/**
 * Typed errors of the client-key crypto layer (EdDSA-Poseidon on Baby Jubjub). `code` is
 * stable and meant for programs; `message` is for people.
 */
import { FulmenError } from '../core/errors.ts'

export type CryptoErrorCode =
  /** A private or public key that is not a valid encoding, or a point of small order. */
  | 'CRYPTO_INVALID_KEY'
  /** A signature that is not a valid encoding (wrong length, point off the curve, S too big). */
  | 'CRYPTO_INVALID_SIGNATURE'
  /** A number that is not an element of the BN254 scalar field (negative or at least p). */
  | 'CRYPTO_INVALID_FIELD'
  /** A caller passed something out of range (input count, byte length). */
  | 'CRYPTO_INVALID_ARGUMENT'

export class CryptoError extends FulmenError<CryptoErrorCode> {
  override readonly name = 'CryptoError'
}
