/**
 * A copy of mcl's module of its own, on BN_SNARK1 (snarkjs's bn128), for DA batch proofs
 * (src/acks/groth16-mcl.ts). mcl holds one curve per module instance and the checkpoint kernel's
 * is on BLS12-381; a second `require` after dropping the module's cache entries loads a second,
 * independent WebAssembly instance (~600 KB of memory).
 */
import { createRequire } from 'node:module'
import type * as Mcl from 'mcl-wasm'
import { useGroth16Kernel } from '../../acks/groth16.ts'
import { createMclGroth16Kernel } from '../../acks/groth16-mcl.ts'

let loading: Promise<typeof Mcl> | undefined

export function loadMclBn254(): Promise<typeof Mcl> {
  loading ??= (async () => {
    const require = createRequire(import.meta.url)
    const entry = require.resolve('mcl-wasm')
    const dist = entry.slice(0, entry.lastIndexOf('/') + 1)
    const cached = Object.keys(require.cache).filter((k) => k.startsWith(dist))
    const kept = new Map(cached.map((k) => [k, require.cache[k]]))
    for (const k of cached) delete require.cache[k]
    try {
      const mcl = require('mcl-wasm') as typeof Mcl
      await mcl.init(mcl.BN_SNARK1)
      return mcl
    } finally {
      // The other users of `require('mcl-wasm')` keep theirs.
      for (const k of Object.keys(require.cache)) if (k.startsWith(dist)) delete require.cache[k]
      for (const [k, m] of kept) if (m !== undefined) require.cache[k] = m
    }
  })()
  return loading
}

/** Installs the mcl Groth16 kernel for the process's claim checks (~6 ms a proof, noble ~75). */
export async function useMclGroth16Kernel(): Promise<void> {
  useGroth16Kernel(createMclGroth16Kernel(await loadMclBn254()))
}
