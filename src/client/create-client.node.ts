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

export function createClient(options: ClientOptions): Promise<FulmenClient> {
  return createIsomorphicClient({
    ...options,
    holding: { spill: tempFileSpill(), ...options.holding },
  })
}
