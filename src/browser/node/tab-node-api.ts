/**
 * What a tab node's worker (workers/tab-node-worker.ts) offers its window over comlink.
 * Everything crossing is plain data, a transferred MessagePort, or a comlink proxy.
 */

import type { BrowserChainOptions } from '../client-worker-api.ts'

export interface TabNodeWorkerOptions {
  /** IndexedDB database of the block store (the DA pool's is `<database>-das`). */
  readonly database: string
  /** Content bytes the store keeps at most (least recently used content is evicted). */
  readonly quota: number
  /** Upload cap in bytes per second, over every stream (undefined: none). */
  readonly maxUpload?: number
  /** Sessions served at once (undefined: no cap beyond the per-client ones). */
  readonly maxSessions?: number
  /** The tab's Ed25519 public key (raw, 32 bytes): commitments must name it. */
  readonly nodeKey: Uint8Array
  /** The tab's peer id as multihash bytes: HELLO signatures must name it. */
  readonly nodePeerId: Uint8Array
  /** Full nodes `cache` fetches from (WebSockets multiaddrs with /p2p). */
  readonly relays: readonly string[]
  /** IndexedDB database of the client key `cache` fetches with; `false`: a fresh one. */
  readonly keyDatabase: string | false
  /** `cache`'s client verifies the chain and fetches from staked relays only. */
  readonly chain?: BrowserChainOptions
}

/** What `cache` stored. */
export interface CachedContent {
  /** The BLAKE3 root, hex. */
  readonly root: string
  readonly length: number
  /** False when the store already held it (nothing was fetched). */
  readonly fetched: boolean
}

export interface CacheProgress {
  /** Verified bytes stored so far. */
  readonly bytes: number
  /** The content's length (from the node's verified header). */
  readonly total: number
}

/** comlink proxies only travel as whole arguments. */
export type CacheProgressListener = (event: CacheProgress) => void

export interface TabNodeStats {
  /** Content bytes written to peers (frames included). */
  readonly bytesServed: number
  /** Sessions with an open stream now. */
  readonly sessionsOpen: number
  /** Sessions opened since start. */
  readonly sessionsTotal: number
  /** Handshake streams open now. */
  readonly streamsOpen: number
  /** Delivery acknowledgements earned: the claims kept, their units and bytes. */
  readonly das: { readonly claims: number; readonly units: number; readonly bytes: number }
  /** Streams whose handshake failed or was refused, since start. */
  readonly refused: number
  /** Those refusals by SessionError code. */
  readonly refusedByCode: Readonly<Record<string, number>>
  /** Content held: bytes, count, and the quota. */
  readonly store: { readonly bytes: number; readonly contents: number; readonly quota: number }
}

export interface TabNodeWorkerApi {
  start(options: TabNodeWorkerOptions): Promise<void>
  /** Serves one handshake stream that crossed from the window on `port`; returns at once. */
  serve(port: MessagePort, remotePeer: string): void
  /** Fetches `pointer` verified from the full nodes into the store (see `TabNode.cache`). */
  cache(
    pointer: string,
    options: { readonly abort?: MessagePort },
    onProgress?: CacheProgressListener,
  ): Promise<CachedContent>
  /** Roots held, hex. */
  roots(): Promise<string[]>
  stats(): Promise<TabNodeStats>
  /** Ends every stream with TERMINATE shutdown, then closes the store and the DA pool. */
  stop(): Promise<void>
}
