/** Byte-array helpers every layer needs; no dependencies (core is the lowest folder). */

/**
 * Whether `a` and `b` hold the same bytes, in time that depends on their length only: no early
 * exit, so the timing does not tell how much of a guess matched. The one byte equality of
 * Fulmen, for public values too (roots, digests: 32 to 64 bytes, where it costs nothing).
 *
 * It must be used wherever one side is a secret or stands for one, because an attacker who
 * can time the comparison could find it a byte at a time: session tokens and keys, MACs,
 * signatures compared as bytes, and hash-chain values before they are revealed (delivery
 * acknowledgements). The lengths are not secret: unequal lengths return at once.
 *
 * (@noble/curves' `equalBytes` is the same loop with argument checks that throw; this one
 * keeps `core` free of dependencies.)
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}
