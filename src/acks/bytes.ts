/** Byte comparison for the acks layer. */

/**
 * Whether `a` and `b` hold the same bytes, in time that depends on their length only: chain
 * values are secrets until revealed, so a comparison must not tell how much of a guess matched.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}
