/**
 * Which kernel does the work. The portable kernel is always there; `ready()` swaps in the
 * WebAssembly SIMD kernel where the runtime supports it. Everything in `src/b3` reads
 * `activeKernel()` so one call upgrades every hash, tree and verifier.
 */
import type { Blake3Kernel } from './kernel.ts'
import { portableKernel } from './portable-kernel.ts'
import { createSimdKernelSync, loadSimdKernel } from './simd/simd-kernel.ts'

let active: Blake3Kernel = portableKernel
let loading: Promise<Blake3Kernel> | undefined

export function activeKernel(): Blake3Kernel {
  return active
}

/** Uses `kernel` from now on (benchmarks and tests compare kernels this way). */
export function useKernel(kernel: Blake3Kernel): void {
  active = kernel
}

/**
 * Loads the fastest kernel available here and makes it active. Safe to call many times; in
 * a window it compiles asynchronously, as browsers require for modules of this size.
 */
export function ready(): Promise<Blake3Kernel> {
  loading ??= loadSimdKernel().then((simd) => {
    if (simd !== undefined && active === portableKernel) active = simd
    return active
  })
  return loading
}

/** Synchronous variant for workers and Node, where synchronous compilation is allowed. */
export function readySync(): Blake3Kernel {
  if (active === portableKernel) active = createSimdKernelSync() ?? portableKernel
  return active
}
