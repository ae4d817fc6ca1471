/**
 * `startNode`: a browser tab that contributes to the network, opt-in. The window holds libp2p
 * (WebSockets to reach full nodes, a circuit-relay-v2 reservation on them, WebRTC for other
 * browsers: `RTCPeerConnection` exists only in windows); everything else runs in a worker
 * (workers/tab-node-worker.ts): each `/fulmen/handshake/2.0.0` stream is joined to a
 * MessagePort and served there from the tab's IndexedDB store, with the full node's handshake,
 * CDN service and acknowledgement ledgers (src/services/session-host.ts).
 */
import type { Connection, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import * as Comlink from 'comlink'
import { HANDSHAKE_PROTOCOL } from '../../net/protocols.ts'
import { streamChannel } from '../../net/stream-channel.ts'
import { createWindowLibp2p, type WindowLibp2p } from '../../net/window-libp2p.ts'
import { formatPointer, type Pointer } from '../../origin/pointer.ts'
import { joinChannels, portChannel } from '../../wire/port-channel.ts'
import type { BrowserChainOptions } from '../client-worker-api.ts'
import { KEY_DATABASE } from '../key-store.ts'
import { errorToData, installThreadErrors } from '../thread-errors.ts'
import { announceRoots } from './announce-roots.ts'
import { loadOrCreatePeerKey } from './peer-identity.ts'
import type {
  CachedContent,
  CacheProgress,
  TabNodeStats,
  TabNodeWorkerApi,
} from './tab-node-api.ts'
import { TabNodeError } from './tab-node-errors.ts'

export interface TabNodeOptions {
  /** Full nodes' WebSockets multiaddrs, each with /p2p/<peer id>: relays, and `cache`'s sources. */
  readonly relays: readonly string[]
  /** Content bytes the tab keeps at most (default 256 MiB); least recently used goes first. */
  readonly quota?: number
  /** Upload cap, bytes per second over every peer (default: none). */
  readonly maxUpload?: number
  /** Sessions served at once (default: no cap beyond 4 per client key). */
  readonly maxSessions?: number
  /** Stop taking new streams while the tab is hidden; resume when it is visible again. */
  readonly pauseWhenHidden?: boolean
  /**
   * IndexedDB database of the store (default `fulmen-tab-node`); the DA pool and the peer key
   * live in `<database>-das` and `<database>-identity`.
   */
  readonly database?: string
  /** Client key database for `cache`'s fetches (default `fulmen-keys`); `false`: a fresh key. */
  readonly keyDatabase?: string | false
  /**
   * `cache` fetches only from relays the light client proves staked (ClientOptions.chain: the
   * rule), the light client in the tab node's worker. Relaying itself (circuit reservations)
   * is not vetted: a tab node has no node selection there.
   */
  readonly chain?: BrowserChainOptions
  /** How long to wait for a relay reservation (default 20 s). */
  readonly reservationTimeoutMs?: number
  /** Starts the worker (default: workers/tab-node-worker.ts as a module worker). */
  readonly worker?: () => Worker
}

export interface CacheOptions {
  readonly signal?: AbortSignal
  readonly onProgress?: (event: CacheProgress) => void
}

export interface TabNode {
  readonly peerId: string
  /** Where other browsers reach this tab: `<relay>/p2p-circuit/webrtc/p2p/<peerId>`. */
  multiaddrs(): string[]
  /**
   * Fetches content from the full nodes, verified block by block, into the tab's store (which
   * hashes it again and keeps it only if it matches the root), then announces what the tab
   * holds to its relays and resolves once they took it (or after 5 s: announcing is best
   * effort). Resolves at once when the content is already held.
   */
  cache(idOrPointer: string | Pointer, options?: CacheOptions): Promise<CachedContent>
  /** Roots the tab holds, hex. */
  roots(): Promise<string[]>
  stats(): Promise<TabNodeStats>
  /** Ends every stream with TERMINATE shutdown, drops the reservation, stops the worker. */
  stop(): Promise<void>
}

export const DEFAULT_TAB_NODE_DATABASE = 'fulmen-tab-node'
export const DEFAULT_QUOTA = 256 * 1024 * 1024
const DEFAULT_RESERVATION_TIMEOUT_MS = 20_000
/** How long stop() lets streams finish after TERMINATE before libp2p cuts them. */
const STOP_GRACE_MS = 5_000
/** How long cache() waits for the relays to take an announcement (best effort). */
const ANNOUNCE_TIMEOUT_MS = 5_000

function defaultWorker(): Worker {
  // The literal form Vite recognises (dev and build): keep the options static.
  return new Worker(new URL('../../../workers/tab-node-worker.ts', import.meta.url), {
    type: 'module',
    name: 'fulmen-tab-node',
  })
}

function checkOptions(options: TabNodeOptions): void {
  const bad = (message: string) => new TabNodeError('TAB_NODE_BAD_OPTIONS', message)
  if (options.relays.length === 0) throw bad('a tab node needs at least one relay')
  for (const r of options.relays) {
    if (
      multiaddr(r)
        .getComponents()
        .find((c) => c.name === 'p2p') === undefined
    ) {
      throw bad(`relay ${r} has no /p2p/<peer id>`)
    }
  }
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && !(v > 0)) throw bad(`${name} must be > 0, got ${v}`)
  }
  positive('quota', options.quota)
  positive('maxUpload', options.maxUpload)
  positive('maxSessions', options.maxSessions)
}

function isCircuitWebRtc(address: string): boolean {
  return address.includes('/p2p-circuit/webrtc/')
}

export async function startNode(options: TabNodeOptions): Promise<TabNode> {
  checkOptions(options)
  installThreadErrors()
  const database = options.database ?? DEFAULT_TAB_NODE_DATABASE
  const privateKey = await loadOrCreatePeerKey(`${database}-identity`)
  const libp2p = await createWindowLibp2p({
    privateKey,
    // One '/p2p-circuit' per relay: a reservation on each that will take one.
    listen: [...options.relays.map(() => '/p2p-circuit'), '/webrtc'],
  })
  const peerId = libp2p.peerId.toString()
  const worker = (options.worker ?? defaultWorker)()
  let workerFailure: Error | undefined
  const workerFailed = new Promise<never>((_, reject) => {
    worker.addEventListener('error', (event) => {
      event.preventDefault()
      workerFailure = new TabNodeError(
        'TAB_NODE_WORKER_FAILED',
        `the tab node worker failed: ${event.message || 'it did not load'}`,
      )
      reject(workerFailure)
    })
  })
  workerFailed.catch(() => {})
  const remote = Comlink.wrap<TabNodeWorkerApi>(worker)
  const joins = new Set<Promise<void>>()
  let stopping: Promise<void> | undefined

  const onStream = (stream: Stream, connection: Connection) => {
    const peer = connection.remotePeer.toString()
    const { port1, port2 } = new MessageChannel()
    const join = joinChannels(streamChannel(stream, peer), portChannel(port1, peer))
    joins.add(join)
    void join.finally(() => joins.delete(join))
    // A worker that is gone cannot serve: the stream goes with it.
    remote.serve(Comlink.transfer(port2, [port2]), peer).catch((error: unknown) => {
      stream.abort(error instanceof Error ? error : new Error(String(error)))
    })
  }
  let handling = false
  // Serialised: visibility may flip faster than libp2p registers a handler.
  let handlerChange: Promise<void> = Promise.resolve()
  const setHandling = (on: boolean) => {
    handlerChange = handlerChange.then(async () => {
      if (on === handling || stopping !== undefined) return
      handling = on
      if (on) await libp2p.handle(HANDSHAKE_PROTOCOL, onStream, { maxInboundStreams: 64 })
      else await libp2p.unhandle(HANDSHAKE_PROTOCOL)
    })
    handlerChange = handlerChange.catch(() => {})
    return handlerChange
  }
  const onVisibility = () => void setHandling(document.visibilityState !== 'hidden')
  const onPageHide = () => void stop().catch(() => {})

  const relays = options.relays.map(String)
  const multiaddrs = () => libp2p.getMultiaddrs().map(String).filter(isCircuitWebRtc)
  // Best effort: a relay that does not take the announcement still relays; the next cache
  // announces again.
  const announce = async () => {
    if (stopping !== undefined) return
    try {
      const timeout = AbortSignal.timeout(ANNOUNCE_TIMEOUT_MS)
      await announceRoots(libp2p, relays, multiaddrs(), await remote.roots(), timeout)
    } catch {}
  }

  const stop = () => {
    stopping ??= (async () => {
      removeEventListener('pagehide', onPageHide)
      document.removeEventListener('visibilitychange', onVisibility)
      await handlerChange
      await libp2p.unhandle(HANDSHAKE_PROTOCOL).catch(() => {})
      // The worker ends each stream with TERMINATE shutdown; the joins carry it out.
      await Promise.race([remote.stop(), workerFailed]).catch(() => {})
      await Promise.race([
        Promise.allSettled([...joins]),
        new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS)),
      ])
      // Stopping closes every connection, the relays' too: the reservations go with them.
      await libp2p.stop()
      remote[Comlink.releaseProxy]()
      worker.terminate()
    })()
    return stopping
  }

  try {
    await Promise.race([
      remote.start({
        database,
        quota: options.quota ?? DEFAULT_QUOTA,
        ...(options.maxUpload === undefined ? {} : { maxUpload: options.maxUpload }),
        ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
        nodeKey: privateKey.publicKey.raw,
        nodePeerId: libp2p.peerId.toMultihash().bytes,
        relays,
        keyDatabase: options.keyDatabase ?? KEY_DATABASE,
        ...(options.chain === undefined ? {} : { chain: options.chain }),
      }),
      workerFailed,
    ])
    if (!(options.pauseWhenHidden === true && document.visibilityState === 'hidden')) {
      await setHandling(true)
    }
    await waitForReservation(
      libp2p,
      relays,
      options.reservationTimeoutMs ?? DEFAULT_RESERVATION_TIMEOUT_MS,
    )
  } catch (error) {
    await stop().catch(() => {})
    throw error
  }
  if (options.pauseWhenHidden === true) {
    document.addEventListener('visibilitychange', onVisibility)
  }
  addEventListener('pagehide', onPageHide)
  void announce()

  const call = async <T>(run: () => Promise<T>): Promise<T> => {
    if (stopping !== undefined) throw new TabNodeError('TAB_NODE_STOPPED', 'the tab node stopped')
    if (workerFailure !== undefined) throw workerFailure
    // The worker's TabNodeErrors arrive typed: thread-errors.ts rebuilds them.
    return await Promise.race([run(), workerFailed])
  }

  return {
    peerId,
    multiaddrs,
    async cache(idOrPointer, cacheOptions = {}) {
      const { signal, onProgress } = cacheOptions
      signal?.throwIfAborted()
      const pointer = typeof idOrPointer === 'string' ? idOrPointer : formatPointer(idOrPointer)
      // The signal cannot cross threads: its abort goes over a port of its own.
      const abort = signal === undefined ? undefined : new MessageChannel()
      const onAbort = () => abort?.port1.postMessage(errorToData(signal?.reason))
      signal?.addEventListener('abort', onAbort, { once: true })
      try {
        const cached = await call(() =>
          remote.cache(
            pointer,
            Comlink.transfer(
              abort === undefined ? {} : { abort: abort.port2 },
              abort === undefined ? [] : [abort.port2],
            ),
            onProgress === undefined ? undefined : Comlink.proxy(onProgress),
          ),
        )
        // Announced before resolving: a client asking the relays right after finds the tab.
        if (cached.fetched) await announce()
        return cached
      } catch (error) {
        if (signal?.aborted) throw signal.reason
        throw error
      } finally {
        signal?.removeEventListener('abort', onAbort)
        abort?.port1.close()
      }
    },
    roots: () => call(() => remote.roots()),
    stats: () => call(() => remote.stats()),
    stop,
  }
}

/** Dials the relays and waits until one of them gave us a circuit WebRTC address. */
async function waitForReservation(
  libp2p: WindowLibp2p,
  relays: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const has = () => libp2p.getMultiaddrs().some((a) => isCircuitWebRtc(a.toString()))
  const reserved = new Promise<void>((resolve) => {
    const check = () => {
      if (!has()) return
      libp2p.removeEventListener('self:peer:update', check)
      resolve()
    }
    libp2p.addEventListener('self:peer:update', check)
    check()
  })
  const signal = AbortSignal.timeout(timeoutMs)
  const dials = await Promise.allSettled(relays.map((r) => libp2p.dial(multiaddr(r), { signal })))
  if (dials.every((d) => d.status === 'rejected')) {
    const reasons = dials.map((d, i) => `${relays[i]}: ${(d as PromiseRejectedResult).reason}`)
    throw new TabNodeError(
      'TAB_NODE_NO_RESERVATION',
      `no relay could be reached:\n${reasons.join('\n')}`,
    )
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([
      reserved,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new TabNodeError(
                'TAB_NODE_NO_RESERVATION',
                `no relay reservation within ${timeoutMs} ms (addresses: ${libp2p.getMultiaddrs().join(', ') || 'none'})`,
              ),
            ),
          timeoutMs,
        )
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
