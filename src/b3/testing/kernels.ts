/** Test support: run a suite once per kernel available in this runtime. */
import { useKernel } from '../engine.ts'
import type { Blake3Kernel } from '../kernel.ts'
import { portableKernel } from '../portable-kernel.ts'
import { loadSimdKernel } from '../simd/simd-kernel.ts'

export async function availableKernels(): Promise<Blake3Kernel[]> {
  const simd = await loadSimdKernel()
  return simd === undefined ? [portableKernel] : [portableKernel, simd]
}

/** Makes `kernel` active for the duration of `fn`. */
export function withKernel<T>(kernel: Blake3Kernel, fn: () => T): T {
  useKernel(kernel)
  try {
    return fn()
  } finally {
    useKernel(portableKernel)
  }
}

/** Fleek's and BLAKE3's vector content: byte at offset o is o % 251. */
export function vectorContent(len: number): Uint8Array {
  const out = new Uint8Array(len)
  for (let i = 0; i < len; i++) out[i] = i % 251
  return out
}

export { bytesToHex as hex, hexToBytes as unhex } from '@noble/hashes/utils.js'
