/**
 * Client keys: EdDSA-Poseidon on Baby Jubjub, circomlib-compatible so that signatures can be
 * checked inside a circom SNARK, plus the Poseidon hash and BN254 field helpers around it.
 */
export {
  type ClientKey,
  clientKeyFromPrivate,
  type GeneratedClientKey,
  generateClientKey,
} from './client-key.ts'
export {
  decodePublicKey,
  PRIVATE_KEY_LEN,
  PUBLIC_KEY_LEN,
  publicKeyOf,
  randomPrivateKey,
  SIGNATURE_LEN,
  sign,
  verify,
} from './eddsa-poseidon.ts'
export { CryptoError, type CryptoErrorCode } from './errors.ts'
export {
  assertFieldElement,
  FIELD_BYTES,
  FIELD_ORDER,
  fieldFromBytesBE,
  fieldFromBytesLE,
  fieldToBytesBE,
  fieldToBytesLE,
  isFieldElement,
} from './field.ts'
export { messageOf } from './message.ts'
export { POSEIDON_MAX_INPUTS, poseidon } from './poseidon.ts'
