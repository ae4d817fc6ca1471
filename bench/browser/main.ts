/**
 * The bench page: runs `buildTreeParallel` from this page on pools of 1 and 2 module workers,
 * then the hashing comparison in a dedicated worker (hash-worker.ts), and hands the figures
 * to Playwright through `window.fulmenBench`.
 *
 * Pool sources: 1 MiB views of the in-memory input (kept by the page, so copied into
 * batches); fresh 1 MiB buffers made before each timed run and given up with
 * `transferChunks` (a source that hands out fresh buffers at no cost to the page); and
 * `Blob.stream()` of the input with `transferChunks`, what the demo hashes.
 */
import { ready } from '../../src/b3/engine.ts'
import { buildTreeParallel, createHashPool, type HashPool } from '../../src/b3/parallel.ts'
import { buildTree } from '../../src/b3/tree.ts'
import { browserWorkerSpawn } from '../../src/browser/b3-workers.ts'
import {
  bestOfInterleaved,
  chunksOf,
  type Figure,
  MiB,
  makeInput,
  mibPerSecond,
  toHex,
} from '../shared.ts'
import type { BrowserBenchConfig, BrowserBenchResult, WorkerMessage } from './protocol.ts'

const logElement = document.getElementById('log')
function log(text: string): void {
  console.log(text)
  if (logElement) logElement.textContent += `${text}\n`
}

function hashInWorker(
  config: BrowserBenchConfig,
): Promise<{ figures: Figure[]; digests: Record<string, string> }> {
  const worker = new Worker(new URL('./hash-worker.ts', import.meta.url), { type: 'module' })
  return new Promise<{ figures: Figure[]; digests: Record<string, string> }>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
      const m = event.data
      if (m.type === 'progress') log(m.text)
      else if (m.type === 'done') resolve(m)
      else reject(new Error(m.message))
    }
    worker.onerror = (event) => reject(new Error(`hash worker failed: ${event.message}`))
    worker.postMessage(config)
  }).finally(() => worker.terminate())
}

async function measurePools(
  config: BrowserBenchConfig,
  digests: Record<string, string>,
): Promise<Figure[]> {
  const kernel = await ready() // the last block is hashed on this thread
  const input = makeInput(config.poolBytes, 7)
  const pools = [1, 2].map((size) => createHashPool({ size, spawn: browserWorkerSpawn() }))
  try {
    const kernels = await Promise.all(pools.map((p) => p.kernels()))
    const parallel = (pool: HashPool) => async (): Promise<void> => {
      digests[`pool-${pool.size}`] = toHex(
        (await buildTreeParallel(chunksOf(input, MiB), pool)).root,
      )
    }
    // Fresh chunks are detached once hashed: each run gets new ones, made before it starts.
    let fresh: Uint8Array<ArrayBuffer>[] = []
    const makeFresh = (): void => {
      fresh = []
      for (let off = 0; off < input.length; off += MiB) fresh.push(input.slice(off, off + MiB))
    }
    const transferred = (pool: HashPool) => async (): Promise<void> => {
      const chunks = fresh
      fresh = []
      const source = (async function* () {
        yield* chunks
      })()
      const tree = await buildTreeParallel(source, pool, { transferChunks: true })
      digests[`fresh-pool-${pool.size}`] = toHex(tree.root)
    }
    // Fresh workers start in V8's baseline wasm tier: warm up until the optimised code is in.
    // `setup-*` runs make the next run's fresh chunks; their times are dropped.
    const best = await bestOfInterleaved(
      {
        'pool-1': parallel(pools[0]!),
        'pool-2': parallel(pools[1]!),
        sequential: async () => {
          digests.sequential = toHex((await buildTree(chunksOf(input, MiB))).root)
        },
        'setup-1': makeFresh,
        'fresh-pool-1': transferred(pools[0]!),
        'setup-2': makeFresh,
        'fresh-pool-2': transferred(pools[1]!),
      },
      { reps: config.reps + 2, warmups: 3 },
    )
    const figures = Object.entries(best)
      .filter(([name]) => !name.startsWith('setup-'))
      .map(([name, seconds]) => ({
        name: `chromium.workers.${name}`,
        value: mibPerSecond(input.length, seconds),
        unit: 'MiB/s',
      }))
    const value = (name: string): number =>
      figures.find((f) => f.name === `chromium.workers.${name}`)!.value
    for (const [i, pool] of pools.entries()) {
      log(
        `chromium pool of ${pool.size} (${kernels[i]!.join(', ')}; page: ${kernel.name}): ` +
          `${value(`pool-${pool.size}`).toFixed(0)} MiB/s copied, ` +
          `${value(`fresh-pool-${pool.size}`).toFixed(0)} MiB/s fresh chunks transferred`,
      )
    }

    // Blob.stream(): how fast the browser delivers a Blob, and the pools fed by it. Slow
    // (a few hundred MiB/s here), so fewer runs.
    const blob = new Blob([input])
    const blobBest = await bestOfInterleaved(
      {
        'blob-read': async () => {
          const reader = blob.stream().getReader()
          while (!(await reader.read()).done) {}
        },
        'blob-pool-1': async () => {
          const tree = await buildTreeParallel(blob.stream(), pools[0]!, { transferChunks: true })
          digests['blob-pool-1'] = toHex(tree.root)
        },
        'blob-pool-2': async () => {
          const tree = await buildTreeParallel(blob.stream(), pools[1]!, { transferChunks: true })
          digests['blob-pool-2'] = toHex(tree.root)
        },
        'blob-pool-2-copied': async () => {
          const tree = await buildTreeParallel(blob.stream(), pools[1]!)
          digests['blob-pool-2-copied'] = toHex(tree.root)
        },
      },
      { reps: Math.min(3, config.reps), warmups: 1 },
    )
    for (const [name, seconds] of Object.entries(blobBest)) {
      figures.push({
        name: `chromium.workers.${name}`,
        value: mibPerSecond(input.length, seconds),
        unit: 'MiB/s',
      })
    }
    log(
      `chromium Blob.stream(): ${value('blob-read').toFixed(0)} MiB/s read alone, ` +
        `${value('blob-pool-1').toFixed(0)} / ${value('blob-pool-2').toFixed(0)} MiB/s ` +
        `hashed on pools of 1 / 2 (transferChunks), ${value('blob-pool-2-copied').toFixed(0)} ` +
        'MiB/s on 2 copied',
    )
    return figures
  } finally {
    await Promise.all(pools.map((p) => p.close()))
  }
}

window.fulmenBench = async (config: BrowserBenchConfig): Promise<BrowserBenchResult> => {
  // Pools first, while nothing else has run in this browser yet.
  const digests: Record<string, string> = {}
  const figures = config.poolBytes > 0 ? await measurePools(config, digests) : []
  const hashed = await hashInWorker(config)
  figures.push(...hashed.figures)
  Object.assign(digests, hashed.digests)
  return { figures, digests, userAgent: navigator.userAgent, crossOriginIsolated }
}
