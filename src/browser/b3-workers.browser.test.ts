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

/**
 * Yields `data` in fresh chunks (each the whole of its own buffer) cycling through `sizes`,
 * and records them.
 */
function freshChunks(data: Uint8Array, sizes: number[]) {
  const chunks: Uint8Array<ArrayBuffer>[] = []
  async function* generate(): AsyncGenerator<Uint8Array> {
    for (let off = 0, i = 0; off < data.length; i++) {
      const chunk = data.slice(off, off + sizes[i % sizes.length]!)
      chunks.push(chunk)
      off += chunk.length // before yielding: a transferred chunk reads as empty afterwards
      yield chunk
    }
  }
  return { source: generate(), chunks }
}

const B = TREE_BLOCK_LEN

describe('buildTreeParallel on a browser pool of 2', () => {
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

  const patterns: [string, number[]][] = [
    ['1 block', [B]],
    ['4 blocks', [4 * B]],
    ['3 blocks + 7', [3 * B + 7]],
    ['mixed', [B, 100, 2 * B - 100, 5 * B, 65_536, 3 * 65_536, B + 3, 7 * B - 3, 13]],
  ]
  test.each(patterns)(
    'transferChunks, fresh chunks of %s: same trees as buildTree',
    async (_, pattern) => {
      for (const len of [0, 1, B, B + 1, 2 * B, 12 * B, 37 * B + 5]) {
        const content = vectorContent(len)
        const want = await buildTree(oddSlices(content))
        for (const options of [{ batchBlocks: 3 }, {}]) {
          const { source } = freshChunks(content, pattern)
          const got = await buildTreeParallel(source, pool, { ...options, transferChunks: true })
          expect(hex(got.root), `${len} bytes`).toBe(hex(want.root))
          expect(hex(got.hashes), `${len} bytes`).toBe(hex(want.hashes))
          expect(got.length).toBe(len)
        }
      }
    },
  )

  test('Blob.stream() with transferChunks: same tree as buildTree', async () => {
    const content = vectorContent(37 * B + 5)
    const want = await buildTree(oddSlices(content))
    const got = await buildTreeParallel(
      new Blob([content as Uint8Array<ArrayBuffer>]).stream(),
      pool,
      {
        transferChunks: true,
      },
    )
    expect(hex(got.hashes)).toBe(hex(want.hashes))
    expect(got.length).toBe(content.length)
  })

  test('chunks are detached only with transferChunks', async () => {
    const content = vectorContent(9 * B + 1)
    const want = await buildTree(oddSlices(content))
    const copied = freshChunks(content, [2 * B])
    expect(hex((await buildTreeParallel(copied.source, pool)).root)).toBe(hex(want.root))
    expect(copied.chunks.map((c) => c.byteLength)).toEqual([2 * B, 2 * B, 2 * B, 2 * B, B + 1])

    const transferred = freshChunks(content, [2 * B])
    const got = await buildTreeParallel(transferred.source, pool, { transferChunks: true })
    expect(hex(got.hashes)).toBe(hex(want.hashes))
    expect(transferred.chunks.map((c) => c.byteLength)).toEqual([0, 0, 0, 0, 0])
  })

  test('abort mid-way with transferChunks rejects with the reason; the pool still works', async () => {
    const controller = new AbortController()
    const reason = new Error('stop')
    const content = vectorContent(32 * B)
    const { source } = freshChunks(content, [B, 2 * B + 1])
    const done = buildTreeParallel(source, pool, {
      signal: controller.signal,
      transferChunks: true,
      onProgress: (n) => {
        if (n >= 4 * B) controller.abort(reason)
      },
    })
    await expect(done).rejects.toBe(reason)
    const again = await buildTreeParallel(freshChunks(content, [B]).source, pool, {
      transferChunks: true,
    })
    expect(hex(again.root)).toBe(hex((await buildTree(oddSlices(content))).root))
  })
})
