/**
 * `createClient` as the Node entry (`fulmen`, `fulmen/client`) exports it: the body of an IPFS
 * or HTTP pointer, held until it matched the pointer's digest, spills to a temporary file
 * beyond the memory bound instead of failing (client.ts is isomorphic and has no files).
 */
import {
  type ClientOptions,
  createClient as createIsomorphicClient,
  type FulmenClient,
} from './client.ts'
import { tempFileSpill } from './temp-file-spill.node.ts'

export async function createClient(options: ClientOptions): Promise<FulmenClient> {
  // A client that verifies the chain walks checkpoints with mcl's WebAssembly pairing (same
  // answers as noble, ~3× faster in Node), loaded only then: mcl's module is ~600 KB.
  if (options.chain !== undefined) {
    const { useMclCheckpointKernel } = await import('../checkpoint/mcl-signature-kernel.ts')
    await useMclCheckpointKernel()
  }
  return createIsomorphicClient({
    ...options,
    holding: { spill: tempFileSpill(), ...options.holding },
  })
}
