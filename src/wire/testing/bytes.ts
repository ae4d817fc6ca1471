/** Byte helpers the wire tests share: cutting a stream into chunks, and typed wire failures. */
import { concatBytes } from '@noble/hashes/utils.js'
import { expect } from 'vitest'
import { WireError } from '../errors.ts'

/** The parts, one after the other, in a new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...parts)
}

/** Cuts `bytes` at the given points (taken modulo its length + 1, deduplicated, in order). */
export function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let prev = 0
  for (const p of [...at, bytes.length]) {
    out.push(bytes.slice(prev, p))
    prev = p
  }
  return out
}

/**
 * The `WireError` code `fn` throws, or undefined when it returns. Anything else thrown fails
 * the test: decoders may only fail with typed, explained errors.
 */
export function wireCodeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (error) {
    if (!(error instanceof WireError)) throw error
    expect(error.message.length).toBeGreaterThan(0)
    return error.code
  }
  return undefined
}
