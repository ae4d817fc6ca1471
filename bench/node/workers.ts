/**
 * `buildTreeParallel` on pools of 1 and 2 `worker_threads` workers vs `buildTree` here, and
 * the machine's own ceiling: 1 and 2 threads hashing in-memory data independently, with no
 * coordination. All measured in turns.
 */
import { Worker } from 'node:worker_threads'
import {
  buildTreeParallel,
  createHashPool,
  DEFAULT_BATCH_BLOCKS,
  DEFAULT_IN_FLIGHT_PER_WORKER,
  type HashPool,
  parallelMemoryBound,
} from '../../src/b3/parallel.ts'
import { buildTree } from '../../src/b3/tree.ts'
import { nodeWorkerSpawn } from '../../src/node/b3-workers.ts'
import { bestOfInterleaved, chunksOf, type Figure, MiB, mibPerSecond, toHex } from '../shared.ts'

/** The stream: the in-memory input in 1 MiB views, as a file or socket would deliver it. */
const STREAM_CHUNK = MiB

export async function measureWorkers(
  input: Uint8Array,
  log: (line: string) => void,
  reps = 9,
): Promise<Figure[]> {
  const roots = new Set<string>()
  const pools = [1, 2].map((size) => createHashPool({ size, spawn: nodeWorkerSpawn() }))
  const perThread = Math.floor(input.length / 2)
  const ceiling = startHashingThreads(2, perThread)
  try {
    const kernels = await Promise.all(pools.map((p) => p.kernels()))
    const parallel = (pool: HashPool) => async (): Promise<void> => {
      roots.add(toHex((await buildTreeParallel(chunksOf(input, STREAM_CHUNK), pool)).root))
    }
    // In turns, so whatever else runs on the machine weighs on all alike. Fresh workers start
    // in V8's baseline wasm tier: the warm-up rounds get the optimised code in.
    const best = await bestOfInterleaved(
      {
        'pool-1': parallel(pools[0]!),
        'pool-2': parallel(pools[1]!),
        sequential: async () => {
          roots.add(toHex((await buildTree(chunksOf(input, STREAM_CHUNK))).root))
        },
        'threads-1': () => ceiling.run(1),
        'threads-2': () => ceiling.run(2),
      },
      { reps, warmups: 3 },
    )
    const bytes = (name: string): number =>
      name.startsWith('threads-') ? Number(name.slice(8)) * perThread : input.length
    const figures = Object.entries(best).map(([name, seconds]) => ({
      name: `node.workers.${name}`,
      value: mibPerSecond(bytes(name), seconds),
      unit: 'MiB/s',
    }))
    for (const [i, pool] of pools.entries()) {
      log(
        `pool of ${pool.size} (${kernels[i]!.join(', ')}; ${DEFAULT_BATCH_BLOCKS}-block batches, ` +
          `${DEFAULT_IN_FLIGHT_PER_WORKER} per worker): ${figures[i]!.value.toFixed(0)} MiB/s, ` +
          `holds <= ${parallelMemoryBound(pool.size) / MiB} MiB`,
      )
    }
    log(
      `independent threads: ${figures
        .slice(3)
        .map((f) => f.value.toFixed(0))
        .join(' / ')} MiB/s`,
    )
    if (roots.size !== 1) log(`WARNING: roots differ: ${[...roots].join(' ')}`)
    return figures
  } finally {
    await Promise.all([...pools.map((p) => p.close()), ceiling.close()])
  }
}

// Each thread hashes its own in-memory buffer with the SIMD kernel when told to.
const hashingThread = `
const { parentPort, workerData } = require('node:worker_threads')
const { engine, hashModule, bytes } = workerData
const ready = Promise.all([import(engine), import(hashModule)]).then(([e, h]) => {
  e.readySync()
  const data = new Uint8Array(bytes)
  for (let i = 0; i < data.length; i += 4096) data[i] = i & 255
  return () => h.hash(data)
})
parentPort.on('message', async () => {
  const run = await ready
  run()
  parentPort.postMessage('done')
})
`

/**
 * `threads` threads each holding `bytes` of its own: `run(n)` has the first `n` hash their
 * buffer at once, with no coordination. What the machine gives at most.
 */
function startHashingThreads(
  threads: number,
  bytes: number,
): { run(n: number): Promise<unknown>; close(): Promise<unknown> } {
  const workerData = {
    engine: new URL('../../src/b3/engine.ts', import.meta.url).href,
    hashModule: new URL('../../src/b3/hash.ts', import.meta.url).href,
    bytes,
  }
  const workers = Array.from(
    { length: threads },
    () => new Worker(hashingThread, { eval: true, workerData }),
  )
  return {
    run: (n) =>
      Promise.all(
        workers.slice(0, n).map(
          (w) =>
            new Promise((resolve, reject) => {
              const fail = (e: unknown): void => reject(e)
              w.once('error', fail)
              w.once('message', (m) => {
                w.off('error', fail)
                resolve(m)
              })
              w.postMessage('go')
            }),
        ),
      ),
    close: () => Promise.all(workers.map((w) => w.terminate())),
  }
}
