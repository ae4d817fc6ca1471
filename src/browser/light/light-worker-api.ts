/**
 * What the light client's worker (workers/light-client-worker.ts) offers the page over comlink.
 * Everything crossing is plain data (bigints and bytes clone as they are), a MessagePort, or a
 * comlink proxy.
 */
import type { ClaimBatchCheck } from '../../light/claim-batches.ts'
import type { LightNodeRecord } from '../../light/light-queries.ts'
import type { LightProgress, LightSyncResult } from '../../light/light-sync.ts'
import type { TrustedCheckpointJson } from '../../light/trusted-checkpoint.ts'
import type { Genesis } from '../../state/model.ts'

/**
 * The IndexedDB database of the verified head, by default: this prefix, `-`, and the first 16
 * hex digits of the genesis hash, one per chain (a database holds one chain's head; a devnet
 * started again with a new genesis gets a database of its own instead of
 * LIGHT_STORE_OTHER_CHAIN).
 */
export const LIGHT_DATABASE = 'fulmen-light'

export interface LightWorkerOptions {
  /** The chain's genesis, or the genesis file's JSON text: all the client trusts. */
  readonly genesis: Genesis | string
  /** Nodes' HTTP gateways (`http://host:port`) to sync from and ask proofs of, in order. */
  readonly gateways: readonly string[]
  /** IndexedDB database of the verified head (default: per genesis); `false`: memory only. */
  readonly database?: string | false
  /** Start at this trusted handoff instead of genesis (src/light/trusted-checkpoint.ts). */
  readonly checkpoint?: string | TrustedCheckpointJson
}

/** The verified head, as plain data. */
export interface LightHeadInfo {
  readonly epoch: number
  readonly height: number
  readonly stateRoot: Uint8Array
  /** The head checkpoint's hash. */
  readonly hash: Uint8Array
  /** The hash of the genesis checkpoint: names the chain. */
  readonly genesis: Uint8Array
  /** Checkpoints this client verified since it started (repeats included). */
  readonly verified: number
}

/** A state entry proven against the head: its bytes and the table's JSON form of it. */
export interface VerifiedEntry {
  readonly table: string
  /** The key, hex. */
  readonly key: string
  readonly height: number
  readonly stateRoot: Uint8Array
  /** undefined: proven absent. */
  readonly value: Uint8Array | undefined
  /** The decoded entry in the node's JSON form (`GET /chain/state`'s `entry`); null when absent. */
  readonly entry: unknown
  /** The gateway whose proof verified. */
  readonly source: string
}

export interface LightCallOptions {
  /** Receives the page signal's abort reason (one message). */
  readonly abort?: MessagePort
}

/** comlink proxies only travel as whole arguments, not inside an options object. */
export type LightProgressListener = (progress: LightProgress) => void

export interface LightWorkerApi {
  /** Opens the stored head (or genesis); the head it starts from. */
  start(options: LightWorkerOptions): Promise<LightHeadInfo>
  /** Walks to the newest checkpoint the gateways serve (one sync at a time, shared). */
  sync(options: LightCallOptions, onProgress?: LightProgressListener): Promise<LightSyncResult>
  head(): LightHeadInfo
  /** The node's record proven at the head (synced first if this worker has not yet). */
  nodeRecord(peerIdOrNodeKeyHex: string, options: LightCallOptions): Promise<LightNodeRecord>
  /** (table, key as `GET /chain/state/<table>/<key>` writes it) proven at the head. */
  verify(table: string, keyText: string, options: LightCallOptions): Promise<VerifiedEntry>
  /**
   * The batch proofs of an encoded `SubmitDeliveryClaims` (a block's transaction) checked here,
   * with noble's kernel (src/light/claim-batches.ts); needs no sync, nor a start.
   */
  checkClaimBatches(transaction: Uint8Array): ClaimBatchCheck[]
  close(): Promise<void>
}
