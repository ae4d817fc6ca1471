/**
 * Worker entry for `createHashPool` (src/b3/parallel.ts): hashes batches of 256 KiB tree
 * blocks with the WebAssembly SIMD kernel where available.
 *
 * Runs as a browser module Web Worker (`src/browser/b3-workers.ts`) and as a Node
 * `worker_threads` worker (`src/node/b3-workers.ts`); the environment is detected at run time
 * and Node built-ins are only imported in the Node branch.
 */
import * as Comlink from 'comlink'
import { createB3WorkerService } from '../src/b3/b3-worker-service.ts'

const api = createB3WorkerService()

const inBrowserWorker =
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope === 'function' &&
  typeof self === 'object'

// Specifiers in variables (and @vite-ignore): bundlers leave the Node branch alone instead of
// shimming `node:worker_threads` into the browser build with a warning.
const NODE_WORKER_THREADS = 'node:worker_threads'
const COMLINK_NODE_ADAPTER = 'comlink/dist/esm/node-adapter.mjs'

if (inBrowserWorker) {
  Comlink.expose(api, self as unknown as Comlink.Endpoint)
} else {
  const { parentPort }: typeof import('node:worker_threads') = await import(
    /* @vite-ignore */ NODE_WORKER_THREADS
  )
  if (parentPort === null) throw new Error('workers/b3-worker.ts must run as a worker thread')
  // comlink ships no .d.mts for its ESM build: typed from the UMD one.
  const adapter: typeof import('comlink/dist/umd/node-adapter.js') = await import(
    /* @vite-ignore */ COMLINK_NODE_ADAPTER
  )
  Comlink.expose(api, adapter.default(parentPort))
}
