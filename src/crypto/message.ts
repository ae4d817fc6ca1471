/**
 * Hash-to-field for signing arbitrary bytes: EdDSA-Poseidon signs one field element, so byte
 * strings (commitments, handshake transcripts) are first hashed with BLAKE3 derive-key under a
 * context string that names what they are, keeping signatures of one kind useless as another.
 */
import { bytesToNumberLE } from '@noble/curves/utils.js'
import { deriveKey } from '../b3/hash.ts'
import { CryptoError } from './errors.ts'

// 31 bytes: below 2^248 < p, so every output is a field element with no reduction bias.
const MESSAGE_BYTES = 31

/** The field element to sign for `bytes` under `context` (a hard-coded, unique string). */
export function messageOf(context: string, bytes: Uint8Array): bigint {
  if (typeof context !== 'string' || context.length === 0) {
    throw new CryptoError('CRYPTO_INVALID_ARGUMENT', 'messageOf needs a non-empty context string')
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new CryptoError('CRYPTO_INVALID_ARGUMENT', 'messageOf signs a Uint8Array')
  }
  return bytesToNumberLE(deriveKey(context, bytes, MESSAGE_BYTES))
}
