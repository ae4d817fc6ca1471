/**
 * A client's signing key (handshake proof of possession, delivery-ack commitments). The
 * private key stays inside a closure: code handed a `ClientKey` can sign but not read it. Only
 * `generateClientKey` returns the private key, once, for the caller to persist.
 */
import { expandPrivateKey, randomPrivateKey, signExpanded } from './eddsa-poseidon.ts'

export interface ClientKey {
  /** Packed Baby Jubjub point (32 bytes, circomlib `packPoint`). */
  readonly publicKey: Uint8Array
  /** EdDSA-Poseidon signature (64 bytes) of a field element; see `messageOf` for bytes. */
  sign(message: bigint): Uint8Array
}

/** A fresh key plus its 32-byte private key, to be stored by the caller. */
export interface GeneratedClientKey extends ClientKey {
  readonly privateKey: Uint8Array
}

/** The key for a stored 32-byte private key; throws CRYPTO_INVALID_KEY on a bad length. */
export function clientKeyFromPrivate(privateKey: Uint8Array): ClientKey {
  // Expanding once saves a BLAKE-512 and a scalar multiplication on every signature.
  const expanded = expandPrivateKey(privateKey)
  return Object.freeze({
    publicKey: expanded.publicKey.slice(),
    sign: (message: bigint) => signExpanded(expanded, message),
  })
}

/** A new random key. Keep `privateKey` secret, e.g. with `src/node/client-key-file.ts`. */
export function generateClientKey(): GeneratedClientKey {
  const privateKey = randomPrivateKey()
  return Object.freeze({ ...clientKeyFromPrivate(privateKey), privateKey })
}
