/**
 * `createClient` for pages: the same API as on Node (src/client/client.ts), with the work in a
 * dedicated Web Worker (workers/client-worker.ts): libp2p over WebSockets, the handshake
 * signature, BLAKE3 verification and acknowledgements. The page receives verified bytes only,
 * as a standard `Response`; its main thread does no hashing or signing.
 */
import * as Comlink from 'comlink'
import type {
  ClientFetchOptions,
  ClientOptions,
  FulmenClient,
  NodeStatus,
} from '../client/client.ts'
import { FetchError } from '../client/errors.ts'
import type { PeerDialer } from '../net/peer-dialer.ts'
import type { WindowLibp2p } from '../net/window-libp2p.ts'
import { formatPointer, type Pointer } from '../origin/pointer.ts'
import { type BrowserChainOptions, type ClientWorkerApi, tuningOf } from './client-worker-api.ts'
import { KEY_DATABASE } from './key-store.ts'
import { pageDialerApi } from './page-dialer.ts'
import { errorFromData, errorToData, installThreadErrors, workerFailure } from './thread-errors.ts'

export interface BrowserClientOptions
  extends Omit<ClientOptions, 'key' | 'libp2p' | 'bootstrap' | 'holding' | 'chain'> {
  /** Multiaddrs of nodes (WebSockets), each with its `/p2p/<peer id>`. */
  readonly bootstrap: readonly (string | { toString(): string })[]
  /**
   * Where the client key lives: an IndexedDB database name (default `fulmen-keys`, shared by
   * every client of this origin), or `false` for a fresh key that is never stored.
   */
  readonly keyDatabase?: string | false
  /** Starts the worker (default: workers/client-worker.ts as a module worker). */
  readonly worker?: () => Worker
  /**
   * Dial WebRTC addresses (tab nodes) from this window for the worker (default true). The
   * window's libp2p starts on the first such dial.
   */
  readonly webrtc?: boolean
  /**
   * Verify the chain and use staked nodes only (ClientOptions.chain: the rule): `{ genesis,
   * gateways }`. The light client runs in the client worker, its verified head in IndexedDB
   * (`database`, default `fulmen-light-<genesis hash prefix>`, one per chain).
   */
  readonly chain?: BrowserChainOptions
}

export interface BrowserClient extends FulmenClient {
  /** The nodes as the worker sees them now (`nodes()` is the latest of these). */
  status(): Promise<readonly NodeStatus[]>
}

function defaultWorker(): Worker {
  // The literal form Vite recognises (dev and build): keep the options static.
  return new Worker(new URL('../../workers/client-worker.ts', import.meta.url), {
    type: 'module',
    name: 'fulmen-client',
  })
}

export async function createClient(options: BrowserClientOptions): Promise<BrowserClient> {
  installThreadErrors()
  const worker = (options.worker ?? defaultWorker)()
  const failed = workerFailure(
    worker,
    (why) => new FetchError('FETCH_WORKER_FAILED', `the client worker failed: ${why}`),
  )
  const remote = Comlink.wrap<ClientWorkerApi>(worker)
  let closed = false
  let snapshot: readonly NodeStatus[] = []
  let windowDialer: Promise<{ libp2p: WindowLibp2p; dialer: PeerDialer }> | undefined
  const page =
    options.webrtc === false
      ? undefined
      : Comlink.proxy(
          pageDialerApi(async () => {
            // Loaded on the first WebRTC dial only: most pages never dial a tab node.
            windowDialer ??= import('../net/window-libp2p.ts').then((m) => m.createWindowDialer())
            return (await windowDialer).dialer
          }),
        )

  const { publicKey } = await Promise.race([
    remote.start(
      {
        bootstrap: options.bootstrap.map(String),
        keyDatabase: options.keyDatabase ?? KEY_DATABASE,
        ...tuningOf(options),
        ...(options.chain === undefined ? {} : { chain: options.chain }),
      },
      page,
    ),
    failed,
  ]).catch((error: unknown) => {
    worker.terminate()
    throw error
  })
  snapshot = await remote.nodes()

  // At most one status query in flight: progress events come once per block.
  let refreshing: Promise<readonly NodeStatus[]> | undefined
  const status = () => {
    refreshing ??= remote.nodes().then(
      (nodes) => {
        refreshing = undefined
        snapshot = nodes
        return nodes
      },
      (error: unknown) => {
        refreshing = undefined
        throw error
      },
    )
    return refreshing
  }

  return {
    publicKey,

    async fetch(idOrPointer: string | Pointer, fetchOptions: ClientFetchOptions = {}) {
      if (closed) throw new FetchError('FETCH_CLOSED', 'the client is closed')
      const { signal, onProgress, range } = fetchOptions
      signal?.throwIfAborted()
      const pointer = typeof idOrPointer === 'string' ? idOrPointer : formatPointer(idOrPointer)
      // The signal cannot cross threads: its abort goes over a port of its own.
      const abort = signal === undefined ? undefined : new MessageChannel()
      const onAbort = () => abort?.port1.postMessage(errorToData(signal?.reason))
      signal?.addEventListener('abort', onAbort, { once: true })
      const progress =
        onProgress === undefined
          ? undefined
          : Comlink.proxy((event: Parameters<typeof onProgress>[0]) => {
              onProgress(event)
              if (event.type !== 'header') void status().catch(() => {})
            })
      try {
        const answer = await remote.fetch(
          pointer,
          Comlink.transfer(
            {
              ...(range === undefined ? {} : { range }),
              ...(abort === undefined ? {} : { abort: abort.port2 }),
            },
            abort === undefined ? [] : [abort.port2],
          ),
          progress,
        )
        const body = typedBody(
          answer.body,
          async () => {
            signal?.removeEventListener('abort', onAbort)
            void status().catch(() => {})
            if (signal?.aborted) return signal.reason
            const data = await remote.bodyError(answer.id)
            return data === undefined ? undefined : errorFromData(data)
          },
          () => signal?.removeEventListener('abort', onAbort),
        )
        return new Response(body, {
          status: answer.status,
          headers: answer.headers.map(([k, v]): [string, string] => [k, v]),
        })
      } catch (error) {
        signal?.removeEventListener('abort', onAbort)
        if (signal?.aborted) throw signal.reason
        throw error
      }
    },

    async measure() {
      snapshot = await remote.measure()
      return snapshot
    },
    nodes: () => snapshot,
    status,

    async close() {
      if (closed) return
      closed = true
      try {
        await remote.close()
      } finally {
        remote[Comlink.releaseProxy]()
        worker.terminate()
        await windowDialer?.then((w) => w.libp2p.stop()).catch(() => {})
      }
    },
  }
}

/**
 * The worker's stream, with its failure replaced by the typed error the worker recorded (a
 * transferred stream's error arrives as a plain Error without `code`).
 */
function typedBody(
  body: ReadableStream<Uint8Array>,
  failure: () => Promise<unknown>,
  ended: () => void,
): ReadableStream<Uint8Array> {
  const reader = body.getReader()
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let read: ReadableStreamReadResult<Uint8Array>
        try {
          read = await reader.read()
        } catch (error) {
          controller.error((await failure().catch(() => undefined)) ?? error)
          return
        }
        if (read.done) {
          ended()
          controller.close()
        } else controller.enqueue(read.value)
      },
      cancel(reason) {
        ended()
        return reader.cancel(reason)
      },
    },
    { highWaterMark: 0 },
  )
}
