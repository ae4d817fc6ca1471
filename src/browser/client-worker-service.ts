/**
 * The browser client's worker program (workers/client-worker.ts only exposes it): libp2p
 * (WebSockets work in workers), the handshake's signature, BLAKE3 verification and
 * acknowledgement signing all run here, off the page's main thread. The page
 * (src/browser/client.ts) gets verified bytes as a transferred stream.
 */
import * as Comlink from 'comlink'
import { createClient, type FulmenClient } from '../client/client.ts'
import { FetchError } from '../client/errors.ts'
import { generateClientKey } from '../crypto/client-key.ts'
import { type ClientLibp2p, createClientLibp2p } from '../net/client-libp2p.ts'
import { libp2pDialer } from '../net/libp2p-dialer.ts'
import { type OpenedChain, openBrowserChain } from './browser-chain.ts'
import { type ClientWorkerApi, tuningOf, type WorkerResponse } from './client-worker-api.ts'
import { idbSpill } from './idb-spill.ts'
import { loadOrCreateClientKey } from './key-store.ts'
import { type PageDialerApi, routeDialer, viaPage } from './page-dialer.ts'
import { type ErrorData, errorFromData, errorToData } from './thread-errors.ts'

/** The client worker's API, with the state of one worker (one client at a time). */
export function createClientWorkerService(): ClientWorkerApi {
  let client: FulmenClient | undefined
  let libp2p: ClientLibp2p | undefined
  let chain: OpenedChain | undefined
  let fetches = 0
  // Why each failed body failed; read once by the page, then forgotten.
  const bodyErrors = new Map<number, ErrorData>()

  function started(): FulmenClient {
    if (client === undefined) throw new FetchError('FETCH_CLOSED', 'the client is not started')
    return client
  }

  /**
   * Re-streams `body`, noting its typed error under `id` before the transferred stream errors
   * (the page asks for it when its read fails).
   */
  function relay(body: ReadableStream<Uint8Array>, id: number, done: () => void) {
    const reader = body.getReader()
    return new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          try {
            const { done: end, value } = await reader.read()
            if (end) {
              done()
              controller.close()
            } else controller.enqueue(value)
          } catch (error) {
            bodyErrors.set(id, errorToData(error))
            done()
            controller.error(error)
          }
        },
        cancel(reason) {
          done()
          return reader.cancel(reason)
        },
      },
      // One verified block ahead of the page: enough to overlap the hop, no more held here.
      { highWaterMark: 1 },
    )
  }

  return {
    async start(options, page) {
      if (client !== undefined) throw new FetchError('FETCH_BAD_REQUEST', 'already started')
      // With chain.verifyChain the light client syncs here, in this worker, as nodes are vetted.
      chain = await openBrowserChain(options.chain)
      libp2p = await createClientLibp2p()
      // WebSockets from here; WebRTC (tab nodes) through the page, which holds RTCPeerConnection.
      const dialer = routeDialer(
        libp2pDialer(libp2p),
        page === undefined ? undefined : viaPage(page as unknown as Comlink.Remote<PageDialerApi>),
      )
      const key =
        options.keyDatabase === false
          ? generateClientKey()
          : await loadOrCreateClientKey({ database: options.keyDatabase })
      client = await createClient({
        bootstrap: options.bootstrap,
        key,
        dialer,
        libp2p,
        // An IPFS or HTTP pointer's body waits for its digest check: past 32 MiB, in IndexedDB.
        holding: { spill: idbSpill() },
        ...tuningOf(options),
        ...(chain.chain === undefined ? {} : { chain: chain.chain }),
      })
      return { publicKey: client.publicKey }
    },

    async fetch(pointer, options, onProgress) {
      const id = ++fetches
      const controller = new AbortController()
      const { abort } = options
      if (abort !== undefined) {
        abort.onmessage = (event: MessageEvent<ErrorData | undefined>) =>
          controller.abort(event.data === undefined ? undefined : errorFromData(event.data))
      }
      const done = () => {
        abort?.close()
        if (onProgress !== undefined)
          (onProgress as unknown as Comlink.Remote<unknown>)[Comlink.releaseProxy]()
      }
      try {
        const response = await started().fetch(pointer, {
          signal: controller.signal,
          ...(options.range === undefined ? {} : { range: options.range }),
          ...(onProgress === undefined
            ? {}
            : {
                // Fire and forget: a page that went away must not fail the fetch.
                onProgress: (event) => void Promise.resolve(onProgress(event)).catch(() => {}),
              }),
        })
        const body = relay(response.body ?? new ReadableStream(), id, done)
        const result: WorkerResponse = {
          id,
          status: response.status,
          headers: [...response.headers],
          body,
        }
        return Comlink.transfer(result, [body as unknown as Transferable])
      } catch (error) {
        done()
        throw error
      }
    },

    bodyError(id) {
      const error = bodyErrors.get(id)
      bodyErrors.delete(id)
      return error
    },

    nodes: () => started().nodes(),
    measure: async () => started().measure(),

    async close() {
      await client?.close()
      await libp2p?.stop()
      await chain?.close()
      client = undefined
      libp2p = undefined
      chain = undefined
    },
  }
}
