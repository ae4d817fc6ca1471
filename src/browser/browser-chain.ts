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
import type { BrowserChainOptions } from './client-worker-api.ts'
import { LIGHT_DATABASE } from './light/light-worker-api.ts'

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
  const store: KvStore | undefined =
    database === false ? undefined : await openIdbKvStore({ name: database ?? LIGHT_DATABASE })
  return {
    chain: store === undefined ? rest : { ...rest, store },
    close: async () => {
      await store?.close()
    },
  }
}
