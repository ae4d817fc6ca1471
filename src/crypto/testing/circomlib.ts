/**
 * circomlibjs behind the same shapes as our API (bytes and bigints), the reference the
 * EdDSA-Poseidon vectors and cross-checks compare against. Node only in practice: circomlibjs
 * needs `Buffer`.
 */
import { buildEddsa } from 'circomlibjs'

export interface Circomlib {
  publicKeyOf(privateKey: Uint8Array): Uint8Array
  sign(privateKey: Uint8Array, message: bigint): Uint8Array
  /** circomlibjs `verifyPoseidon` on the unpacked key and signature; false if either fails to unpack. */
  verify(publicKey: Uint8Array, message: bigint, signature: Uint8Array): boolean
  poseidon(inputs: readonly bigint[]): bigint
  /** circomlibjs `unpackPoint`, coordinates as bigints; undefined where it returns null. */
  unpackPoint(bytes: Uint8Array): { x: bigint; y: bigint } | undefined
}

export async function loadCircomlib(): Promise<Circomlib> {
  const eddsa = await buildEddsa()
  const { F, babyJub } = eddsa
  return {
    publicKeyOf: (privateKey) => babyJub.packPoint(eddsa.prv2pub(privateKey)),
    sign: (privateKey, message) =>
      eddsa.packSignature(eddsa.signPoseidon(privateKey, F.e(message))),
    verify(publicKey, message, signature) {
      // unpackPoint clears the sign bit in place: give it copies.
      const A = babyJub.unpackPoint(publicKey.slice())
      const signatureCopy = signature.slice()
      const R8 = babyJub.unpackPoint(signatureCopy.slice(0, 32))
      if (A === null || R8 === null) return false
      const { S } = eddsa.unpackSignature(signatureCopy)
      return eddsa.verifyPoseidon(F.e(message), { R8, S }, A)
    },
    poseidon: (inputs) => F.toObject(eddsa.poseidon(inputs)),
    unpackPoint(bytes) {
      const point = babyJub.unpackPoint(bytes.slice())
      return point === null ? undefined : { x: F.toObject(point[0]), y: F.toObject(point[1]) }
    },
  }
}
