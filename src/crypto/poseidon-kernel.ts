/**
 * Poseidon on the WebAssembly BN254 kernel: the optimized permutation (poseidon-optimized.ts
 * derives its constants) with every value in the kernel's memory. Same outputs as
 * `poseidon()` (tests check every width); ~4× faster in Node (docs/benchmarks.md).
 */
import type { Bn254Kernel } from './bn254-kernel.ts'
import { ELEMENT } from './bn254-kernel.ts'
import { optimizedPoseidonConstants } from './poseidon-optimized.ts'

interface LoadedWidth {
  readonly t: number
  readonly roundsPartial: number
  readonly c: number
  readonly s: number
  readonly m: number
  readonly p: number
  /** t elements: the state, hashed in place. */
  readonly state: number
}

const loaded = new WeakMap<Bn254Kernel, (LoadedWidth | undefined)[]>()

function put(kernel: Bn254Kernel, values: readonly bigint[]): number {
  const at = kernel.alloc(values.length * ELEMENT)
  values.forEach((v, i) => {
    kernel.write(at + i * ELEMENT, v)
  })
  return at
}

/** The constants of width t in `kernel`'s memory, loaded on first use (~30 KB a width). */
function width(kernel: Bn254Kernel, t: number): LoadedWidth {
  let widths = loaded.get(kernel)
  if (widths === undefined) {
    widths = []
    loaded.set(kernel, widths)
  }
  let w = widths[t]
  if (w === undefined) {
    const k = optimizedPoseidonConstants(t)
    w = {
      t,
      roundsPartial: k.roundsPartial,
      c: put(kernel, k.C),
      s: put(kernel, k.S),
      m: put(kernel, k.M.flat()),
      p: put(kernel, k.P.flat()),
      state: kernel.alloc(t * ELEMENT),
    }
    widths[t] = w
  }
  return w
}

/**
 * Hashes `inputs` elements already in the kernel's memory (Montgomery form) at the given
 * addresses; returns the address of the hash (Montgomery form), valid until the next hash of
 * the same width.
 */
export function poseidonInKernel(kernel: Bn254Kernel, inputs: readonly number[]): number {
  const w = width(kernel, inputs.length + 1)
  kernel.view(w.state, ELEMENT).fill(0)
  for (let i = 0; i < inputs.length; i++) {
    kernel.exports.copy(w.state + (i + 1) * ELEMENT, inputs[i]!)
  }
  kernel.exports.poseidon(w.state, w.t, w.roundsPartial, w.c, w.s, w.m, w.p)
  return w.state
}

/** Poseidon of field elements (0 <= x < p, checked by the caller) on the kernel. */
export function poseidonWithKernel(kernel: Bn254Kernel, inputs: readonly bigint[]): bigint {
  const w = width(kernel, inputs.length + 1)
  kernel.view(w.state, ELEMENT).fill(0)
  for (let i = 0; i < inputs.length; i++) kernel.write(w.state + (i + 1) * ELEMENT, inputs[i]!)
  kernel.exports.poseidon(w.state, w.t, w.roundsPartial, w.c, w.s, w.m, w.p)
  // The second state element is scratch once the hash is out.
  return kernel.read(w.state, w.state + ELEMENT)
}
