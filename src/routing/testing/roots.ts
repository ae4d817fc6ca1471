/** Content roots for routing's tests: BLAKE3 outputs, as real roots are. */
import { blake3 } from '@noble/hashes/blake3.js'

/** Root number `i` of a family: BLAKE3 of (family, i). */
export function rootOf(i: number, family = 0): Uint8Array {
  const input = new Uint8Array(8)
  new DataView(input.buffer).setUint32(0, family)
  new DataView(input.buffer).setUint32(4, i)
  return blake3(input)
}

/** Roots 0 … count − 1 of a family. */
export function rootsOf(count: number, family = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => rootOf(i, family))
}
