/**
 * The worker pool in real Chromium: module Web Workers served by Vite (Vitest's browser mode)
 * give the same trees as `buildTree` on this thread. Skipped in Node, which has no Web Worker.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { buildTreeParallel, createHashPool, type HashPool } from '../b3/parallel.ts'
import { hex, vectorContent } from '../b3/testing/kernels.ts'
import { buildTree } from '../b3/tree.ts'
import { browserWorkerSpawn } from './b3-workers.ts'

async function* oddSlices(data: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let off = 0, step = 1; off < data.length; off += step, step = (step * 7 + 13) % 100_003) {
    yield data.subarray(off, Math.min(data.length, off + step))
  }
}

const hasWebWorkers = typeof Worker === 'function' && typeof window === 'object'

describe.skipIf(!hasWebWorkers)('buildTreeParallel on a browser pool of 2', () => {
  let pool: HashPool
  beforeAll(() => {
    pool = createHashPool({ size: 2, spawn: browserWorkerSpawn() })
  })
  afterAll(() => pool?.close())

  test('Vite serves the worker, which loads the SIMD kernel', async () => {
    expect(await pool.kernels()).toEqual(['wasm-simd', 'wasm-simd'])
  })

  test.each([
    ['empty', 0],
    ['1 byte', 1],
    ['1 block', TREE_BLOCK_LEN],
    ['1 block + 1', TREE_BLOCK_LEN + 1],
    ['37 blocks + 5', 37 * TREE_BLOCK_LEN + 5],
  ])('%s: same tree as buildTree', async (_, len) => {
    const content = vectorContent(len)
    const want = await buildTree(oddSlices(content))
    const got = await buildTreeParallel(oddSlices(content), pool, { batchBlocks: 3 })
    expect(hex(got.root)).toBe(hex(want.root))
    expect(hex(got.hashes)).toBe(hex(want.hashes))
    expect(got.length).toBe(len)
  })

  test('abort rejects with the reason and the pool still works', async () => {
    const controller = new AbortController()
    const reason = new Error('stop')
    const content = vectorContent(16 * TREE_BLOCK_LEN)
    const done = buildTreeParallel(oddSlices(content), pool, {
      signal: controller.signal,
      batchBlocks: 1,
      onProgress: (n) => {
        if (n >= 4 * TREE_BLOCK_LEN) controller.abort(reason)
      },
    })
    await expect(done).rejects.toBe(reason)
    const again = await buildTreeParallel(oddSlices(content), pool)
    expect(hex(again.root)).toBe(hex((await buildTree(oddSlices(content))).root))
  })
})
