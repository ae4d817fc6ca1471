/**
 * `createLightClient` for pages (`fulmen/light`): the light client (src/light) in a dedicated
 * Web Worker (workers/light-client-worker.ts). It trusts the genesis only: every checkpoint a
 * gateway serves is verified there (the committee's BLS signatures, handoff by handoff) and
 * every state entry against the verified head's root; the verified head is kept in IndexedDB.
 * The page's main thread does no pairing and no hashing.
 *
 *   const light = await createLightClient({ genesis, gateways: ['http://node:8080'] })
 *   await light.sync({ onProgress: (p) => console.log(p.epoch, p.height) })
 *   const record = await light.nodeRecord(peerId)       // { staked, active, reputation… }
 *   const entry = await light.verify('accounts', '0x…') // proven at the head
 *   const batches = await light.checkClaimBatches(tx)   // a settlement's batch proofs checked
 *
 * A forgery or a gateway that cannot be reached rejects with the light client's typed errors,
 * rebuilt with their class and code: LightError (LIGHT_NO_SOURCE with `details.failures`, each
 * gateway's own code such as CHECKPOINT_SIGNATURE or LIGHT_PROOF_INVALID), CheckpointError,
 * StateError (a table or key that is not one), TransactionError (bytes that are not a
 * transaction), LightWorkerError (the worker).
 */
import * as Comlink from 'comlink'
import type { ClaimBatchCheck } from '../../light/claim-batches.ts'
import type { LightNodeRecord } from '../../light/light-queries.ts'
import type { LightProgress, LightSyncResult } from '../../light/light-sync.ts'
import type { TrustedCheckpointJson } from '../../light/trusted-checkpoint.ts'
import type { Genesis, TableName } from '../../state/model.ts'
import { errorToData, installThreadErrors, workerFailure } from '../thread-errors.ts'
import { LightWorkerError } from './errors.ts'
import type {
  LightCallOptions,
  LightHeadInfo,
  LightWorkerApi,
  VerifiedEntry,
} from './light-worker-api.ts'

export interface LightClientOptions {
  /** The chain's genesis, or the genesis file's JSON text: the only thing trusted. */
  readonly genesis: Genesis | string
  /** Nodes' HTTP gateways (`http://host:port`, CORS-enabled as nodes serve them), in order. */
  readonly gateways: readonly string[]
  /**
   * IndexedDB database of the verified head (default `fulmen-light-<genesis hash prefix>`, one
   * per chain), or `false` to start from genesis every time and keep nothing.
   */
  readonly database?: string | false
  /**
   * Start at this trusted handoff instead of genesis (one item of `GET /chain/checkpoints`, from
   * a source the dapp trusts): on an old chain the first sync walks from there.
   */
  readonly checkpoint?: string | TrustedCheckpointJson
  /** Starts the worker (default: workers/light-client-worker.ts as a module worker). */
  readonly worker?: () => Worker
  /** Called after each step of every sync that moved the head. */
  readonly onProgress?: (progress: LightProgress) => void
}

export interface LightCallSignal {
  readonly signal?: AbortSignal
}

export interface LightSyncOptions extends LightCallSignal {
  /** Called after each step of this sync that moved the head. */
  readonly onProgress?: (progress: LightProgress) => void
}

export interface BrowserLightClient {
  /**
   * Walks to the newest checkpoint the gateways serve, verifying each. One sync at a time:
   * a second call shares the one in flight. An abort ends this call's wait, not the walk.
   */
  sync(options?: LightSyncOptions): Promise<LightSyncResult>
  /** The verified head now (genesis, or the stored one, before the first sync). */
  head(): Promise<LightHeadInfo>
  /**
   * A node's record proven at the head (synced first if this client has not synced yet): by
   * its libp2p peer id (Ed25519) or its node key in hex.
   */
  nodeRecord(peerIdOrNodeKeyHex: string, options?: LightCallSignal): Promise<LightNodeRecord>
  /** Any state entry proven at the head, the key written as `GET /chain/state` takes it. */
  verify(table: TableName, keyText: string, options?: LightCallSignal): Promise<VerifiedEntry>
  /**
   * Checks the DA batch proofs of a `SubmitDeliveryClaims` transaction (its encoded bytes, as
   * `GET /chain/block/<n>` lists them in hex) in the worker: per proven batch its digest, its
   * claims, whether the proof verifies for them (else its code) and the check's time. Needs no
   * sync. Rejects with TransactionError (TX_MALFORMED) for bytes that are not a transaction,
   * StateError (STATE_INVALID_ARGUMENT) for one of another method.
   */
  checkClaimBatches(transaction: Uint8Array): Promise<ClaimBatchCheck[]>
  close(): Promise<void>
}

function defaultWorker(): Worker {
  // The literal form Vite recognises (dev and build): keep the options static.
  return new Worker(new URL('../../../workers/light-client-worker.ts', import.meta.url), {
    type: 'module',
    name: 'fulmen-light',
  })
}

export async function createLightClient(options: LightClientOptions): Promise<BrowserLightClient> {
  installThreadErrors()
  const worker = (options.worker ?? defaultWorker)()
  const failed = workerFailure(
    worker,
    (why) => new LightWorkerError('LIGHT_WORKER_FAILED', `the light client worker failed: ${why}`),
  )
  failed.catch(() => {})
  const remote = Comlink.wrap<LightWorkerApi>(worker)
  let closed = false

  await Promise.race([
    remote.start({
      genesis: options.genesis,
      gateways: [...options.gateways],
      ...(options.database === undefined ? {} : { database: options.database }),
      ...(options.checkpoint === undefined ? {} : { checkpoint: options.checkpoint }),
    }),
    failed,
  ]).catch((error: unknown) => {
    worker.terminate()
    throw error
  })

  /** Runs `call` with the signal's abort sent over a port of its own (a signal cannot cross). */
  const withSignal = async <T>(
    signal: AbortSignal | undefined,
    call: (options: LightCallOptions) => Promise<T>,
  ): Promise<T> => {
    if (closed) throw new LightWorkerError('LIGHT_WORKER_CLOSED', 'the light client is closed')
    signal?.throwIfAborted()
    if (signal === undefined) return Promise.race([call({}), failed])
    const channel = new MessageChannel()
    const onAbort = () => channel.port1.postMessage(errorToData(signal.reason))
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      return await Promise.race([
        call(Comlink.transfer({ abort: channel.port2 }, [channel.port2])),
        failed,
      ])
    } catch (error) {
      if (signal.aborted) throw signal.reason
      throw error
    } finally {
      signal.removeEventListener('abort', onAbort)
      channel.port1.close()
    }
  }

  return {
    sync(syncOptions = {}) {
      const listeners = [options.onProgress, syncOptions.onProgress].filter((l) => l !== undefined)
      const progress =
        listeners.length === 0
          ? undefined
          : Comlink.proxy((p: LightProgress) => {
              for (const l of listeners) l(p)
            })
      return withSignal(syncOptions.signal, (o) => remote.sync(o, progress))
    },
    head: () => withSignal(undefined, () => remote.head()),
    nodeRecord: (id, o = {}) => withSignal(o.signal, (c) => remote.nodeRecord(id, c)),
    verify: (table, keyText, o = {}) =>
      withSignal(o.signal, (c) => remote.verify(table, keyText, c)),
    checkClaimBatches: (transaction) =>
      withSignal(undefined, () => remote.checkClaimBatches(transaction)),
    async close() {
      if (closed) return
      closed = true
      try {
        await remote.close()
      } finally {
        remote[Comlink.releaseProxy]()
        worker.terminate()
      }
    },
  }
}
