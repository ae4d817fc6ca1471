/** Points and encodings the crypto tests build signatures and bad keys from. */
import { Point, SUBGROUP_ORDER } from '../babyjub.ts'

/** circomlib's full-group generator (order 8l). */
export const FULL_GENERATOR = Point.fromAffine({
  x: 995203441582195749578291179787384436505546430278305826713579947235728471134n,
  y: 5472060717959818805561601436314318772137091100104008585924551046643952123905n,
})

/** G·l: a point of order 8, outside the prime-order subgroup. */
export const ORDER8 = FULL_GENERATOR.multiplyUnsafe(SUBGROUP_ORDER - 1n).add(FULL_GENERATOR)

/** A scalar as 32 little-endian bytes (circomlib's encoding of S). */
export function le32(value: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 0; i < 32; i++) out[i] = Number((value >> BigInt(8 * i)) & 0xffn)
  return out
}
