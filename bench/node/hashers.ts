/**
 * BLAKE3 throughput of each implementation on the same in-memory input, in this process:
 * Fulmen's kernels through `hash()`, hash-wasm (256 KiB updates and one-shot), noble.
 */
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { createBLAKE3 } from 'hash-wasm'
import { useKernel } from '../../src/b3/engine.ts'
import { hash } from '../../src/b3/hash.ts'
import type { Blake3Kernel } from '../../src/b3/kernel.ts'
import { portableKernel } from '../../src/b3/portable-kernel.ts'
import { createSimdKernelSync } from '../../src/b3/simd/simd-kernel.ts'
import { bestOf, type Figure, MiB, mibPerSecond, toHex, warmUp } from '../shared.ts'

export interface HasherResults {
  readonly figures: Figure[]
  /** Digest per implementation, to show they agree. */
  readonly digests: Record<string, string>
}

export const UPDATE_CHUNK = 256 * 1024

export function simdKernel(): Blake3Kernel {
  const k = createSimdKernelSync()
  if (k === undefined) throw new Error('this Node has no WebAssembly SIMD')
  return k
}

export async function measureHashers(
  input: Uint8Array,
  prefix: string,
  log: (line: string) => void,
  reps = 5,
): Promise<HasherResults> {
  const figures: Figure[] = []
  const digests: Record<string, string> = {}
  const warmInput = input.subarray(0, 16 * MiB)
  const run = async (
    name: string,
    fn: (data: Uint8Array) => Uint8Array,
    r = reps,
  ): Promise<void> => {
    let digest: Uint8Array = new Uint8Array(0)
    const seconds = await bestOf(
      () => {
        digest = fn(input)
      },
      { reps: r, warmup: () => warmUp(() => fn(warmInput)) },
    )
    const value = mibPerSecond(input.length, seconds)
    figures.push({ name: `${prefix}.${name}`, value, unit: 'MiB/s' })
    digests[name] = toHex(digest)
    log(`${prefix}.${name}: ${value.toFixed(0)} MiB/s`)
  }

  const simd = simdKernel()
  useKernel(simd)
  await run('wasm-simd', (d) => hash(d))
  useKernel(portableKernel)
  await run('portable', (d) => hash(d), Math.min(reps, 5))
  useKernel(simd)

  const hw = await createBLAKE3()
  await run('hash-wasm-256k', (d) => {
    hw.init()
    for (let off = 0; off < d.length; off += UPDATE_CHUNK)
      hw.update(d.subarray(off, off + UPDATE_CHUNK))
    return hw.digest('binary')
  })
  await run('hash-wasm-oneshot', (d) => {
    hw.init()
    hw.update(d)
    return hw.digest('binary')
  })
  // ~40 MiB/s: three runs of 256 MiB are already ~20 s.
  await run('noble', (d) => nobleBlake3(d), 3)
  return { figures, digests }
}
