/**
 * What the client worker (workers/client-worker.ts) offers the page over comlink. Everything
 * crossing is plain data, a transferred stream, a MessagePort, or a comlink proxy.
 */
import type { ByteRange } from '../b3/verified-stream.ts'
import type { NodeStatus } from '../client/client.ts'
import type { FetchProgress } from '../client/progress.ts'
import type { TrustedCheckpointJson } from '../light/trusted-checkpoint.ts'
import type { Genesis } from '../state/model.ts'
import type { PageDialerApi } from './page-dialer.ts'
import type { ErrorData } from './thread-errors.ts'

/**
 * `chain` of the browser client, the service worker and the tab node: ClientChainOptions
 * (src/client/chain-vetter.ts) as plain data. The light client runs in the thread of the
 * client itself (the client worker, the service worker, the tab node's worker), its verified
 * head in IndexedDB.
 */
export interface BrowserChainOptions {
  /** The chain's genesis, or the genesis file's JSON text: all the light client trusts. */
  readonly genesis?: Genesis | string
  /** Nodes' HTTP gateways (`http://host:port`) the light client syncs from. */
  readonly gateways?: readonly string[]
  /** Use only nodes proven staked and active (default: true when `genesis` is given). */
  readonly verifyChain?: boolean
  /** Start the light client at this trusted handoff (ClientChainOptions.checkpoint). */
  readonly checkpoint?: string | TrustedCheckpointJson
  /**
   * IndexedDB database of the light client's verified head (default `fulmen-light-<genesis hash
   * prefix>`, shared with `fulmen/light`'s client of the same genesis), or `false` for memory.
   */
  readonly database?: string | false
  /** Sync the light client again when its last sync is older than this (default 60 s). */
  readonly resyncMs?: number
}

export interface WorkerClientOptions {
  readonly bootstrap: readonly string[]
  readonly order?: 'latency' | 'given'
  readonly stallTimeoutMs?: number
  readonly busyTimeoutMs?: number
  readonly handshakeTimeoutMs?: number
  readonly penaltyMs?: number
  readonly discover?: boolean
  /** IndexedDB database of the client key; `false`: a fresh key for this client only. */
  readonly keyDatabase: string | false
  readonly chain?: BrowserChainOptions
}

/** The client's tuning, passed from the page to the worker and on to `createClient` as set. */
export type ClientTuning = Omit<WorkerClientOptions, 'bootstrap' | 'keyDatabase' | 'chain'>

const TUNING_KEYS = [
  'order',
  'stallTimeoutMs',
  'busyTimeoutMs',
  'handshakeTimeoutMs',
  'penaltyMs',
  'discover',
] as const satisfies readonly (keyof ClientTuning)[]

/** The tuning options of `options` that are set (an unset one keeps its default downstream). */
export function tuningOf(options: ClientTuning): ClientTuning {
  const set: Record<string, unknown> = {}
  for (const key of TUNING_KEYS) if (options[key] !== undefined) set[key] = options[key]
  return set as ClientTuning
}

export interface WorkerFetchOptions {
  readonly range?: ByteRange
  /** Receives the page signal's abort reason (one message). */
  readonly abort?: MessagePort
}

/** comlink proxies only travel as whole arguments, not inside an options object. */
export type ProgressListener = (event: FetchProgress) => void

export interface WorkerResponse {
  /** Names this fetch for `bodyError`. */
  readonly id: number
  readonly status: number
  readonly headers: readonly (readonly [string, string])[]
  /** Verified bytes only (transferred). */
  readonly body: ReadableStream<Uint8Array>
}

export interface ClientWorkerApi {
  /** `page` dials what a worker cannot (WebRTC to tab nodes); a comlink proxy. */
  start(options: WorkerClientOptions, page?: PageDialerApi): Promise<{ publicKey: Uint8Array }>
  fetch(
    pointer: string,
    options: WorkerFetchOptions,
    onProgress?: ProgressListener,
  ): Promise<WorkerResponse>
  /** Why fetch `id`'s body failed, typed (a transferred stream's error loses its `code`). */
  bodyError(id: number): ErrorData | undefined
  nodes(): readonly NodeStatus[]
  measure(): Promise<readonly NodeStatus[]>
  close(): Promise<void>
}
