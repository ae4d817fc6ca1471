/**
 * The bench page: runs `buildTreeParallel` from this page on pools of 1 and 2 module workers,
 * then the hashing comparison in a dedicated worker (hash-worker.ts), and hands the figures
 * to Playwright through `window.fulmenBench`.
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
    // Fresh workers start in V8's baseline wasm tier: warm up until the optimised code is in.
    const best = await bestOfInterleaved(
      {
        'pool-1': parallel(pools[0]!),
        'pool-2': parallel(pools[1]!),
        sequential: async () => {
          digests.sequential = toHex((await buildTree(chunksOf(input, MiB))).root)
        },
      },
      { reps: config.reps + 2, warmups: 3 },
    )
    const figures = Object.entries(best).map(([name, seconds]) => ({
      name: `chromium.workers.${name}`,
      value: mibPerSecond(input.length, seconds),
      unit: 'MiB/s',
    }))
    for (const [i, pool] of pools.entries()) {
      log(
        `chromium pool of ${pool.size} (${kernels[i]!.join(', ')}; page: ${kernel.name}): ` +
          `${figures[i]!.value.toFixed(0)} MiB/s`,
      )
    }
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
