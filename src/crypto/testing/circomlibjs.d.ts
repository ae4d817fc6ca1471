/**
 * The slice of circomlibjs 0.1.7 (untyped) that the cross-checks use. Field elements are
 * circomlibjs's internal form (Montgomery, as bytes): convert with `F.e` and `F.toObject`.
 */
declare module 'circomlibjs' {
  type FieldElement = Uint8Array
  type CurvePoint = [FieldElement, FieldElement]

  interface Field {
    e(value: bigint | number | string): FieldElement
    toObject(value: FieldElement): bigint
    eq(a: FieldElement, b: FieldElement): boolean
  }

  interface BabyJub {
    F: Field
    packPoint(point: CurvePoint): Uint8Array
    unpackPoint(bytes: Uint8Array): CurvePoint | null
    inSubgroup(point: CurvePoint): boolean
  }

  interface Signature {
    R8: CurvePoint
    S: bigint
  }

  interface Eddsa {
    F: Field
    babyJub: BabyJub
    poseidon: Poseidon
    prv2pub(privateKey: Uint8Array): CurvePoint
    signPoseidon(privateKey: Uint8Array, message: FieldElement): Signature
    verifyPoseidon(message: FieldElement, signature: Signature, publicKey: CurvePoint): boolean
    packSignature(signature: Signature): Uint8Array
    unpackSignature(bytes: Uint8Array): Signature
  }

  interface Poseidon {
    (inputs: readonly (bigint | FieldElement)[]): FieldElement
    F: Field
  }

  export function buildEddsa(): Promise<Eddsa>
  export function buildBabyjub(): Promise<BabyJub>
  export function buildPoseidon(): Promise<Poseidon>
}
