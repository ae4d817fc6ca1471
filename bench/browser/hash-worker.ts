/**
 * Dedicated worker: BLAKE3 throughput of Fulmen's kernels, hash-wasm and noble on the same
 * in-memory input, the browser twin of bench/node/hashers.ts. Posts `WorkerMessage`s.
 */
import { blake3 as nobleBlake3 } from '@noble/hashes/blake3.js'
import { createBLAKE3 } from 'hash-wasm'
import { useKernel } from '../../src/b3/engine.ts'
import { hash } from '../../src/b3/hash.ts'
import { portableKernel } from '../../src/b3/portable-kernel.ts'
import { createSimdKernelSync } from '../../src/b3/simd/simd-kernel.ts'
import { bestOf, type Figure, MiB, makeInput, mibPerSecond, toHex, warmUp } from '../shared.ts'
import type { BrowserBenchConfig, WorkerMessage } from './protocol.ts'

const UPDATE_CHUNK = 256 * 1024
const scope = globalThis as unknown as {
  postMessage(message: WorkerMessage): void
  addEventListener(
    type: 'message',
    listener: (event: MessageEvent<BrowserBenchConfig>) => void,
  ): void
}
const post = (m: WorkerMessage): void => scope.postMessage(m)

async function run(config: BrowserBenchConfig): Promise<void> {
  const input = makeInput(config.hashBytes)
  const warmInput = input.subarray(0, 16 * MiB)
  const figures: Figure[] = []
  const digests: Record<string, string> = {}
  const measure = async (
    name: string,
    fn: (d: Uint8Array) => Uint8Array,
    reps = config.reps,
  ): Promise<void> => {
    let digest: Uint8Array = new Uint8Array(0)
    const seconds = await bestOf(
      () => {
        digest = fn(input)
      },
      { reps, warmup: () => warmUp(() => fn(warmInput)) },
    )
    const value = mibPerSecond(input.length, seconds)
    figures.push({ name: `chromium.hash.${name}`, value, unit: 'MiB/s' })
    digests[name] = toHex(digest)
    post({ type: 'progress', text: `chromium.hash.${name}: ${value.toFixed(0)} MiB/s` })
  }

  const simd = createSimdKernelSync()
  if (simd === undefined) throw new Error('no WebAssembly SIMD in this browser')
  useKernel(simd)
  await measure('wasm-simd', (d) => hash(d))
  useKernel(portableKernel)
  await measure('portable', (d) => hash(d), Math.min(5, config.reps))
  const hw = await createBLAKE3()
  await measure('hash-wasm-256k', (d) => {
    hw.init()
    for (let off = 0; off < d.length; off += UPDATE_CHUNK)
      hw.update(d.subarray(off, off + UPDATE_CHUNK))
    return hw.digest('binary')
  })
  await measure('hash-wasm-oneshot', (d) => {
    hw.init()
    hw.update(d)
    return hw.digest('binary')
  })
  await measure('noble', (d) => nobleBlake3(d), Math.min(3, config.reps))
  post({ type: 'done', figures, digests })
}

scope.addEventListener('message', (event) => {
  run(event.data).catch((e: unknown) =>
    post({ type: 'error', message: String((e as Error)?.stack ?? e) }),
  )
})
