/**
 * The browser light client's worker program (workers/light-client-worker.ts only exposes it):
 * the checkpoint walk (BLS pairings), the state proofs and the check of settlements' DA batch
 * proofs (Groth16 pairings, src/light/claim-batches.ts) run here, off the page's main thread;
 * the verified head is kept in IndexedDB, so a page opened again starts from the last handoff
 * it verified instead of genesis. The page side is light.ts (`fulmen/light`).
 *
 * `openBrowserLight` is also what the client worker uses for `chain.verifyChain`: there the
 * light client runs inside the client worker itself (src/browser/client-worker-service.ts).
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import * as Comlink from 'comlink'
import { nodeKeyOf } from '../../client/chain-vetter.ts'
import { openIdbKvStore } from '../../kv/idb-kv-store.ts'
import type { KvStore } from '../../kv/kv-store.ts'
import { MemoryKvStore } from '../../kv/memory-kv-store.ts'
import { checkClaimBatches } from '../../light/claim-batches.ts'
import {
  httpLightSource,
  type LightProgress,
  LightSync,
  type LightSyncResult,
} from '../../light/light-sync.ts'
import {
  openTrustedLightClient,
  type TrustedCheckpointJson,
} from '../../light/trusted-checkpoint.ts'
import { StateError } from '../../state/errors.ts'
import { genesisHash, parseGenesis } from '../../state/genesis.ts'
import type { Genesis } from '../../state/model.ts'
import { entryToJson, isTableName, parseTableKey } from '../../state/tables.ts'
import { type ErrorData, errorFromData } from '../thread-errors.ts'
import { LightWorkerError } from './errors.ts'
import {
  LIGHT_DATABASE,
  type LightCallOptions,
  type LightHeadInfo,
  type LightProgressListener,
  type LightWorkerApi,
  type LightWorkerOptions,
} from './light-worker-api.ts'

/** The default database of `genesis`'s verified head (LIGHT_DATABASE says why per genesis). */
export function lightDatabaseOf(genesis: Genesis): string {
  return `${LIGHT_DATABASE}-${bytesToHex(genesisHash(genesis)).slice(0, 16)}`
}

/**
 * A LightSync from `genesis` (or a trusted `checkpoint` of its chain) over `gateways`, restored
 * from the head stored in `database` (IndexedDB; `false`: memory), persisting there as it
 * verifies. LIGHT_STORE_OTHER_CHAIN when the database holds another genesis's head.
 */
export async function openBrowserLight(
  genesis: Genesis | string,
  gateways: readonly string[],
  database: string | false | undefined,
  onProgress?: (progress: LightProgress) => void,
  checkpoint?: string | TrustedCheckpointJson,
): Promise<{ light: LightSync; store: KvStore }> {
  const parsed = typeof genesis === 'string' ? parseGenesis(genesis) : genesis
  const store: KvStore =
    database === false
      ? new MemoryKvStore()
      : await openIdbKvStore({ name: database ?? lightDatabaseOf(parsed) })
  try {
    const client = await openTrustedLightClient(store, parsed, checkpoint)
    const light = new LightSync(
      client,
      gateways.map((g) => httpLightSource(g)),
      onProgress === undefined ? { store } : { store, onProgress },
    )
    return { light, store }
  } catch (error) {
    await store.close?.()
    throw error
  }
}

/** The page's abort, arriving on `port`, as a signal here. */
function signalOf(options: LightCallOptions): AbortSignal | undefined {
  const { abort } = options
  if (abort === undefined) return undefined
  const controller = new AbortController()
  abort.onmessage = (event: MessageEvent<ErrorData | undefined>) => {
    controller.abort(event.data === undefined ? undefined : errorFromData(event.data))
    abort.close()
  }
  return controller.signal
}

export function createLightWorkerService(): LightWorkerApi {
  let running: { light: LightSync; store: KvStore } | undefined
  let synced = false
  let syncing: Promise<LightSyncResult> | undefined
  const listeners = new Set<LightProgressListener>()

  const started = () => {
    if (running === undefined)
      throw new LightWorkerError('LIGHT_WORKER_CLOSED', 'the light client is not started')
    return running
  }

  const head = (): LightHeadInfo => {
    const { client } = started().light
    return {
      epoch: client.epoch,
      height: client.height,
      stateRoot: client.stateRoot,
      hash: client.head.hash,
      genesis: client.genesis,
      verified: client.verified,
    }
  }

  /**
   * One sync at a time, shared: it runs to its end even when the caller that started it
   * gives up (its abort ends that caller's wait only), since what it verifies is kept.
   */
  const sync = async (signal?: AbortSignal): Promise<LightSyncResult> => {
    const { light } = started()
    syncing ??= light.sync().finally(() => {
      syncing = undefined
    })
    const result = syncing.then((r) => {
      synced = true
      return r
    })
    if (signal === undefined) return result
    signal.throwIfAborted()
    return Promise.race([
      result,
      new Promise<never>((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
      ),
    ])
  }

  /** Queries prove at a head this worker synced to (once), not a stale stored one. */
  const ensureSynced = async (signal?: AbortSignal) => {
    if (!synced) await sync(signal)
  }

  return {
    async start(options: LightWorkerOptions) {
      if (running !== undefined)
        throw new LightWorkerError('LIGHT_WORKER_CLOSED', 'the light client is already started')
      // Progress goes to every listener of the sync in flight (it may be shared).
      running = await openBrowserLight(
        options.genesis,
        options.gateways,
        options.database,
        (p) => {
          for (const l of listeners) void Promise.resolve(l(p)).catch(() => {})
        },
        options.checkpoint,
      )
      return head()
    },

    async sync(options, onProgress) {
      if (onProgress !== undefined) listeners.add(onProgress)
      try {
        return await sync(signalOf(options))
      } finally {
        if (onProgress !== undefined) {
          listeners.delete(onProgress)
          ;(onProgress as unknown as Comlink.Remote<unknown>)[Comlink.releaseProxy]()
        }
        options.abort?.close()
      }
    },

    head,

    async nodeRecord(peerIdOrNodeKeyHex, options) {
      const signal = signalOf(options)
      try {
        const nodeKey = nodeKeyOf(String(peerIdOrNodeKeyHex))
        if (nodeKey === undefined)
          throw new StateError(
            'STATE_INVALID_ARGUMENT',
            `${String(peerIdOrNodeKeyHex)} is neither an Ed25519 peer id nor a node key in hex`,
          )
        await ensureSynced(signal)
        return await started().light.nodeRecord(nodeKey, signal)
      } finally {
        options.abort?.close()
      }
    },

    async verify(table, keyText, options) {
      const signal = signalOf(options)
      try {
        if (!isTableName(table)) throw new StateError('STATE_INVALID_ARGUMENT', `no table ${table}`)
        const key = parseTableKey(table, String(keyText))
        await ensureSynced(signal)
        const proven = await started().light.value(table, key, signal)
        return {
          table,
          key: bytesToHex(key),
          height: proven.height,
          stateRoot: proven.stateRoot,
          value: proven.value,
          entry: proven.value === undefined ? null : entryToJson(table, proven.value),
          source: proven.source,
        }
      } finally {
        options.abort?.close()
      }
    },

    checkClaimBatches(transaction) {
      return checkClaimBatches(transaction)
    },

    async close() {
      const r = running
      running = undefined
      synced = false
      await r?.store.close?.()
    },
  }
}
