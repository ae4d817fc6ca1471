/**
 * `buildTreeParallel` on pools of 1 and 2 `worker_threads` workers vs `buildTree` here, and
 * the machine's own ceiling: 1 and 2 threads hashing in-memory data independently, with no
 * coordination. All measured in turns.
 *
 * Three sources, all 1 MiB chunks:
 * - `pool-*`: views of the in-memory input. The caller keeps them, so they are copied into
 *   batches.
 * - `fresh-pool-*`: fresh buffers made (untimed) before each run, given up with
 *   `transferChunks`: adopted, uncopied. What feeding the pool costs with no source cost.
 * - `file-pool-*`: `fs.createReadStream` of the same bytes in a RAM-backed file with
 *   `transferChunks`, as a caller hashing a file would. Its reads run on libuv's thread
 *   pool, off the main thread but on the same cores, and are part of the figure.
 */

import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
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
import { scratchDir } from './scratch-dir.ts'

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
  const dir = mkdtempSync(path.join(scratchDir(input.length), 'fulmen-bench-'))
  const file = path.join(dir, 'input.bin')
  writeFileSync(file, input)
  try {
    const kernels = await Promise.all(pools.map((p) => p.kernels()))
    const parallel = (pool: HashPool) => async (): Promise<void> => {
      roots.add(toHex((await buildTreeParallel(chunksOf(input, STREAM_CHUNK), pool)).root))
    }
    const fromFile = (pool: HashPool, transferChunks: boolean) => async (): Promise<void> => {
      const stream = createReadStream(file, { highWaterMark: STREAM_CHUNK })
      roots.add(toHex((await buildTreeParallel(stream, pool, { transferChunks })).root))
    }
    // Fresh chunks are detached once hashed: each run gets new ones, made before it starts.
    let fresh: Uint8Array[] = []
    const makeFresh = (): void => {
      fresh = []
      for (let off = 0; off < input.length; off += STREAM_CHUNK)
        fresh.push(input.slice(off, off + STREAM_CHUNK))
    }
    const transferred = (pool: HashPool) => async (): Promise<void> => {
      const chunks = fresh
      fresh = []
      const source = (async function* () {
        yield* chunks
      })()
      roots.add(toHex((await buildTreeParallel(source, pool, { transferChunks: true })).root))
    }
    // In turns, so whatever else runs on the machine weighs on all alike. Fresh workers start
    // in V8's baseline wasm tier: the warm-up rounds get the optimised code in. `setup-*` runs
    // make the next run's fresh chunks; their times are dropped.
    const best = await bestOfInterleaved(
      {
        'pool-1': parallel(pools[0]!),
        'pool-2': parallel(pools[1]!),
        sequential: async () => {
          roots.add(toHex((await buildTree(chunksOf(input, STREAM_CHUNK))).root))
        },
        'threads-1': () => ceiling.run(1),
        'threads-2': () => ceiling.run(2),
        'setup-1': makeFresh,
        'fresh-pool-1': transferred(pools[0]!),
        'setup-2': makeFresh,
        'fresh-pool-2': transferred(pools[1]!),
        'file-pool-1': fromFile(pools[0]!, true),
        'file-pool-2': fromFile(pools[1]!, true),
        'file-pool-2-copied': fromFile(pools[1]!, false),
      },
      { reps, warmups: 3 },
    )
    const bytes = (name: string): number =>
      name.startsWith('threads-') ? Number(name.slice(8)) * perThread : input.length
    const figures = Object.entries(best)
      .filter(([name]) => !name.startsWith('setup-'))
      .map(([name, seconds]) => ({
        name: `node.workers.${name}`,
        value: mibPerSecond(bytes(name), seconds),
        unit: 'MiB/s',
      }))
    const value = (name: string): string =>
      figures.find((f) => f.name === `node.workers.${name}`)!.value.toFixed(0)
    for (const [i, pool] of pools.entries()) {
      const size = pool.size
      log(
        `pool of ${size} (${kernels[i]!.join(', ')}; ${DEFAULT_BATCH_BLOCKS}-block batches, ` +
          `${DEFAULT_IN_FLIGHT_PER_WORKER} per worker): ${value(`pool-${size}`)} MiB/s copied, ` +
          `${value(`fresh-pool-${size}`)} MiB/s fresh chunks transferred, ` +
          `${value(`file-pool-${size}`)} MiB/s from the file (transferChunks), holds <= ` +
          `${parallelMemoryBound(size) / MiB} MiB`,
      )
    }
    log(`pool of 2 from the file, copied: ${value('file-pool-2-copied')} MiB/s`)
    log(`independent threads: ${value('threads-1')} / ${value('threads-2')} MiB/s`)
    if (roots.size !== 1) log(`WARNING: roots differ: ${[...roots].join(' ')}`)
    return figures
  } finally {
    rmSync(dir, { recursive: true, force: true })
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
