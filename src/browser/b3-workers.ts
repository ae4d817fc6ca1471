/** Module Web Workers for `createHashPool` (src/b3/parallel.ts). */
import type { SpawnWorker } from '../b3/parallel.ts'

/**
 * A `spawn` for `createHashPool` starting `workers/b3-worker.ts` as a module worker. The
 * literal `new Worker(new URL(..., import.meta.url), { type: 'module' })` is the form Vite
 * (dev server and build) recognises: keep the options static.
 */
export function browserWorkerSpawn(): SpawnWorker {
  return () => {
    const worker = new Worker(new URL('../../workers/b3-worker.ts', import.meta.url), {
      type: 'module',
      name: 'b3-worker',
    })
    return {
      endpoint: worker,
      terminate: () => worker.terminate(),
      onFailure: (listener) => {
        // A script that fails to load or throws at the top level: the worker is unusable.
        worker.addEventListener('error', (event) => {
          event.preventDefault()
          listener(
            new Error(
              `b3 worker failed: ${event.message || 'could not load workers/b3-worker.ts'}`,
            ),
          )
        })
      },
    }
  }
}
