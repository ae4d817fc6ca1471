/** Test support: deterministic content of any length, cheap to make. */
import { TREE_BLOCK_LEN } from '../constants.ts'

/** Pseudo-random bytes from `seed` (xorshift32): distinct blocks, no two alike. */
export function seededContent(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  const words = new Uint32Array(out.buffer, 0, length >>> 2)
  let x = seed | 1
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    words[i] = x
  }
  for (let i = words.length * 4; i < length; i++) out[i] = i * 31 + seed
  return out
}

/** Block `k` of `content`. */
export function blockOf(content: Uint8Array, k: number): Uint8Array {
  return content.subarray(k * TREE_BLOCK_LEN, Math.min(content.length, (k + 1) * TREE_BLOCK_LEN))
}
