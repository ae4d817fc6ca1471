/**
 * The fetch bench page: the browser client (src/browser/client.ts, its work in the client
 * worker) against a plain WebSocket read on the page and in a worker, with the main thread
 * watched during each run; time to first byte through the client and through the service
 * worker. Playwright drives it through `window.fulmenFetchBench` (fetch-protocol.ts).
 */
import { type BrowserClient, createClient } from '../../../src/browser/client.ts'
import type { FetchBenchPage, FirstByteRun, ThroughputRun } from '../fetch-protocol.ts'
import { longTasksSupported, watchMainThread } from '../main-thread-watch.ts'
import { rawRead } from '../raw-read.ts'
import { clearServiceWorkerCache, PREFIX, startServiceWorker } from './service-worker.ts'

let client: BrowserClient | undefined

function started(): BrowserClient {
  if (client === undefined) throw new Error('startClient first')
  return client
}

/** Reads `body` whole, counting bytes; `first` is called with the time of the first chunk. */
async function drain(body: ReadableStream<Uint8Array> | null, first?: () => void): Promise<number> {
  if (body === null) throw new Error('no body')
  const reader = body.getReader()
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return bytes
    if (bytes === 0) first?.()
    bytes += value.byteLength
  }
}

async function watched(run: () => Promise<{ bytes: number; ms: number }>): Promise<ThroughputRun> {
  const stop = watchMainThread()
  const { bytes, ms } = await run()
  return { bytes, ms, main: await stop() }
}

function inWorker(url: string, bytes: number): Promise<{ bytes: number; ms: number }> {
  const worker = new Worker(new URL('./raw-worker.ts', import.meta.url), { type: 'module' })
  return new Promise<{ bytes: number; ms: number }>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<{ ok?: { bytes: number; ms: number }; error?: string }>) =>
      e.data.ok ? resolve(e.data.ok) : reject(new Error(e.data.error))
    worker.onerror = (e) => reject(new Error(`raw worker failed: ${e.message}`))
    worker.postMessage({ url, bytes })
  }).finally(() => worker.terminate())
}

function noiseDecrypt(bytes: number): Promise<{ bytes: number; ms: number }> {
  const worker = new Worker(new URL('./noise-cipher-worker.ts', import.meta.url), {
    type: 'module',
  })
  return new Promise<{ bytes: number; ms: number }>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<{ bytes: number; ms: number }>) => resolve(e.data)
    worker.onerror = (e) => reject(new Error(`cipher worker failed: ${e.message}`))
    worker.postMessage({ bytes })
  }).finally(() => worker.terminate())
}

/** Times a request to its first chunk and to its end. */
async function firstByte(request: () => Promise<Response>): Promise<FirstByteRun> {
  const t0 = performance.now()
  let t1 = 0
  const res = await request()
  const headersMs = performance.now() - t0
  if (!res.ok) throw new Error(`status ${res.status}`)
  const bytes = await drain(res.body, () => {
    t1 = performance.now()
  })
  return { headersMs, firstByteMs: t1 - t0, totalMs: performance.now() - t0, bytes }
}

const page: FetchBenchPage = {
  longTasksSupported,

  async startClient(bootstrap) {
    client = await createClient({ bootstrap, keyDatabase: false })
  },

  async closeClient() {
    await client?.close()
    client = undefined
  },

  verified: (hex) =>
    watched(async () => {
      const t0 = performance.now()
      const res = await started().fetch(hex)
      const bytes = await drain(res.body)
      return { bytes, ms: performance.now() - t0 }
    }),

  noiseDecrypt,
  rawPage: (url, bytes) => watched(() => rawRead(url, bytes)),
  rawWorker: (url, bytes) => watched(() => inWorker(url, bytes)),

  firstByteDirect: (hex) => firstByte(() => started().fetch(hex)),

  async firstByteDirectCold(bootstrap, hex) {
    const t0 = performance.now()
    const fresh = await createClient({ bootstrap, keyDatabase: false })
    const startMs = performance.now() - t0
    try {
      return { ...(await firstByte(() => fresh.fetch(hex))), startMs }
    } finally {
      await fresh.close()
    }
  },

  async registerServiceWorker(nodes) {
    const t0 = performance.now()
    await startServiceWorker(nodes)
    return performance.now() - t0
  },
  clearServiceWorkerCache,
  firstByteServiceWorker: (hex) => firstByte(() => fetch(`${PREFIX}${hex}`, { cache: 'no-store' })),
}

window.fulmenFetchBench = page
