/** `worker_threads` workers for `createHashPool` (src/b3/parallel.ts). */
import { Worker, type WorkerOptions } from 'node:worker_threads'
import type { Endpoint } from 'comlink'
// @ts-expect-error comlink ships no .d.mts for its ESM build; typed from the UMD one below.
import nodeEndpointEsm from 'comlink/dist/esm/node-adapter.mjs'
import type { SpawnWorker } from '../b3/parallel.ts'

const nodeEndpoint: typeof import('comlink/dist/umd/node-adapter.js').default = nodeEndpointEsm

/** The worker entry, resolved next to this file so it works from any working directory. */
export const B3_WORKER_URL = new URL('../../workers/b3-worker.ts', import.meta.url)

/**
 * A `spawn` for `createHashPool` starting `workers/b3-worker.ts` in a Node worker thread
 * (run directly as TypeScript: Node >= 23.6 strips types).
 */
export function nodeWorkerSpawn(options: WorkerOptions = {}): SpawnWorker {
  return () => {
    const worker = new Worker(B3_WORKER_URL, options)
    let terminating = false
    return {
      endpoint: nodeEndpoint(worker) as Endpoint,
      terminate: () => {
        terminating = true
        return worker.terminate()
      },
      onFailure: (listener) => {
        worker.on('error', listener)
        worker.on('exit', (code) => {
          if (!terminating) listener(new Error(`b3 worker exited with code ${code}`))
        })
      },
    }
  }
}
