/**
 * `chain` for the clients that run in browser threads (the client worker, the service worker,
 * the tab node's worker): ClientChainOptions with the light client's verified head kept in
 * IndexedDB, so a page or worker started again syncs from the last handoff it verified. The
 * light client runs in the client's own thread: it is already off the page's main thread, and
 * a vetting is then a call, not a message to another worker.
 */
import type { ClientChainOptions } from '../client/chain-vetter.ts'
import { openIdbKvStore } from '../kv/idb-kv-store.ts'
import type { KvStore } from '../kv/kv-store.ts'
import { parseGenesis } from '../state/genesis.ts'
import type { Genesis } from '../state/model.ts'
import type { BrowserChainOptions } from './client-worker-api.ts'
import { lightDatabaseOf } from './light/light-worker-service.ts'

export interface OpenedChain {
  /** What to give `createClient` (undefined: no chain asked for). */
  readonly chain: ClientChainOptions | undefined
  /** Closes the light client's store (after the client). */
  close(): Promise<void>
}

export async function openBrowserChain(
  options: BrowserChainOptions | undefined,
): Promise<OpenedChain> {
  const verify = options?.verifyChain ?? options?.genesis !== undefined
  if (options === undefined || !verify || options.genesis === undefined) {
    // Nothing to keep: the client checks (and refuses) what is given as is.
    return { chain: options, close: async () => {} }
  }
  const { database, ...rest } = options
  let genesis: Genesis
  try {
    genesis =
      typeof rest.genesis === 'string' ? parseGenesis(rest.genesis) : (rest.genesis as Genesis)
  } catch {
    // Not a genesis: createClient refuses it as CLIENT_BAD_OPTION (option `chain`).
    return { chain: rest, close: async () => {} }
  }
  const store: KvStore | undefined =
    database === false
      ? undefined
      : await openIdbKvStore({ name: database ?? lightDatabaseOf(genesis) })
  return {
    chain: store === undefined ? { ...rest, genesis } : { ...rest, genesis, store },
    close: async () => {
      await store?.close()
    },
  }
}
