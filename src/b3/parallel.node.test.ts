import * as Comlink from 'comlink'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { nodeWorkerSpawn } from '../node/b3-workers.ts'
import { blockHash } from './block.ts'
import { HASH_LEN, TREE_BLOCK_LEN } from './constants.ts'
import {
  type B3WorkerApi,
  buildTreeParallel,
  createHashPool,
  type HashPool,
  type SpawnedWorker,
} from './parallel.ts'
import { hex, vectorContent } from './testing/kernels.ts'
import { buildTree } from './tree.ts'

/** Yields `data` in slices of awkward, varying sizes (1 byte up to ~100 KB). */
async function* oddSlices(data: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let off = 0, step = 1; off < data.length; off += step, step = (step * 7 + 13) % 100_003) {
    yield data.subarray(off, Math.min(data.length, off + step))
  }
}

function streamOf(data: Uint8Array, chunk = 65_536): ReadableStream<Uint8Array> {
  let off = 0
  return new ReadableStream({
    pull(controller) {
      if (off >= data.length) return controller.close()
      controller.enqueue(data.slice(off, off + chunk))
      off += chunk
    },
  })
}

const sizes: [string, number][] = [
  ['empty', 0],
  ['1 byte', 1],
  ['1 block', TREE_BLOCK_LEN],
  ['1 block + 1', TREE_BLOCK_LEN + 1],
  ['37 blocks + 5', 37 * TREE_BLOCK_LEN + 5],
]

describe('buildTreeParallel on a Node pool of 2', () => {
  let pool: HashPool
  beforeAll(() => {
    pool = createHashPool({ size: 2, spawn: nodeWorkerSpawn() })
  })
  afterAll(() => pool.close())

  test('workers report their kernel', async () => {
    const kernels = await pool.kernels()
    expect(kernels).toHaveLength(2)
    for (const k of kernels) expect(['wasm-simd', 'portable']).toContain(k)
  })

  test.each(sizes)('%s: same tree as buildTree', async (_, len) => {
    const content = vectorContent(len)
    const want = await buildTree(oddSlices(content))
    const got = await buildTreeParallel(oddSlices(content), pool, { batchBlocks: 3 })
    expect(hex(got.root)).toBe(hex(want.root))
    expect(hex(got.hashes)).toBe(hex(want.hashes))
    expect(got.blocks).toBe(want.blocks)
    expect(got.length).toBe(len)
  })

  test('a ReadableStream, default batches, keepTree: false and progress', async () => {
    const content = vectorContent(37 * TREE_BLOCK_LEN + 5)
    const want = await buildTree(streamOf(content))
    const progress: number[] = []
    const got = await buildTreeParallel(streamOf(content), pool, {
      keepTree: false,
      onProgress: (n) => progress.push(n),
    })
    expect(hex(got.root)).toBe(hex(want.root))
    expect(got.hashes.length).toBe(0)
    expect(progress.at(-1)).toBe(content.length)
    expect(progress).toEqual([...progress].sort((a, b) => a - b))
  })

  test('abort mid-way rejects with the reason, cancels the source; the pool still works', async () => {
    const content = vectorContent(64 * TREE_BLOCK_LEN)
    const controller = new AbortController()
    const reason = new Error('stop')
    let cancelled: unknown
    let pulled = 0
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled >= content.length) return c.close()
        c.enqueue(content.slice(pulled, pulled + 65_536))
        pulled += 65_536
        if (pulled === 20 * TREE_BLOCK_LEN) controller.abort(reason)
      },
      cancel(r) {
        cancelled = r
      },
    })
    await expect(
      buildTreeParallel(source, pool, { signal: controller.signal, batchBlocks: 2 }),
    ).rejects.toBe(reason)
    expect(cancelled).toBe(reason)
    expect(pulled).toBeLessThan(content.length)

    const after = vectorContent(5 * TREE_BLOCK_LEN + 9)
    const got = await buildTreeParallel(oddSlices(after), pool)
    expect(hex(got.root)).toBe(hex((await buildTree(oddSlices(after))).root))
  })

  test('abort while the source is stalled rejects at once', async () => {
    const controller = new AbortController()
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(vectorContent(3 * TREE_BLOCK_LEN))
      },
      pull() {
        return new Promise(() => {}) // never delivers more
      },
    })
    const done = buildTreeParallel(source, pool, { signal: controller.signal, batchBlocks: 1 })
    setTimeout(() => controller.abort(), 50)
    await expect(done).rejects.toMatchObject({ name: 'AbortError' })
  })

  test('an already aborted signal rejects without reading', async () => {
    const reason = new Error('before')
    let read = false
    const source = (async function* () {
      read = true
      yield new Uint8Array(1)
    })()
    await expect(
      buildTreeParallel(source, pool, { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason)
    expect(read).toBe(false)
  })
})

test('a closed pool rejects calls', async () => {
  const pool = createHashPool({ size: 1, spawn: nodeWorkerSpawn() })
  await pool.close()
  await expect(pool.hashBlocks(new ArrayBuffer(10), 0, 1, true)).rejects.toThrow(/closed/)
})

/** A pool hashing on this thread, answering after `delay(firstBlock)` ms; can fail a batch. */
function fakePool(delay: (first: number) => number, failAt = -1) {
  const stats = { outstanding: 0, maxOutstanding: 0, buffers: new Set<ArrayBuffer>() }
  const pool: HashPool = {
    size: 2,
    hashBlocks(buffer, first, count) {
      stats.buffers.add(buffer)
      // Like the real worker: the hashes go back at the start of the buffer.
      const data = new Uint8Array(buffer)
      const out = data.subarray(0, HASH_LEN * count)
      for (let i = 0; i < count; i++) {
        const block = data.subarray(i * TREE_BLOCK_LEN, (i + 1) * TREE_BLOCK_LEN)
        out.set(blockHash(block, first + i, false), HASH_LEN * i)
      }
      stats.outstanding++
      stats.maxOutstanding = Math.max(stats.maxOutstanding, stats.outstanding)
      return new Promise((resolve, reject) => {
        setTimeout(() => {
          stats.outstanding--
          if (first === failAt) reject(new Error(`batch ${first} failed`))
          else resolve(out)
        }, delay(first))
      })
    },
    kernels: async () => ['fake', 'fake'],
    close: async () => {},
  }
  return { pool, stats }
}

test('batches coming back out of order are folded in order; buffers are bounded and reused', async () => {
  const content = vectorContent(29 * TREE_BLOCK_LEN + 3)
  // Older batches answer later than newer ones.
  const { pool, stats } = fakePool((first) => 12 - (first % 12))
  const got = await buildTreeParallel(oddSlices(content), pool, { batchBlocks: 2, maxInFlight: 5 })
  const want = await buildTree(oddSlices(content))
  expect(hex(got.hashes)).toBe(hex(want.hashes))
  expect(stats.maxOutstanding).toBe(5)
  expect(stats.outstanding).toBe(0)
  // Buffers come back and are reused: never more than maxInFlight of them.
  expect(stats.buffers.size).toBe(5)
})

test('a failing batch rejects with its error once every other batch is back', async () => {
  const content = vectorContent(20 * TREE_BLOCK_LEN)
  const { pool, stats } = fakePool((first) => (first === 4 ? 1 : 30), 4)
  let cancelled = false
  const source = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(content)
    },
    cancel() {
      cancelled = true
    },
  })
  await expect(buildTreeParallel(source, pool, { batchBlocks: 2, maxInFlight: 4 })).rejects.toThrow(
    'batch 4 failed',
  )
  expect(stats.outstanding).toBe(0)
  expect(cancelled).toBe(true)
})

test('calls on a worker that dies reject; the pool carries on with the others', async () => {
  const ports: MessagePort[] = []
  let kill: ((error: unknown) => void) | undefined
  const api: B3WorkerApi = {
    hashBlocks: (buffer, first, count) => {
      const out = new Uint8Array(HASH_LEN * count)
      out.set(blockHash(new Uint8Array(buffer, 0, TREE_BLOCK_LEN), first, false))
      return out
    },
    kernel: () => 'in-thread',
  }
  const spawn = (): SpawnedWorker => {
    const { port1, port2 } = new MessageChannel()
    ports.push(port1, port2)
    // The first worker never answers and then dies; the second answers on this thread.
    if (ports.length === 2) {
      return { endpoint: port1, terminate: () => {}, onFailure: (listener) => (kill = listener) }
    }
    Comlink.expose(api, port2)
    return { endpoint: port1, terminate: () => {} }
  }
  const pool = createHashPool({ size: 2, spawn })
  try {
    const stuck = pool.hashBlocks(new ArrayBuffer(TREE_BLOCK_LEN), 0, 1)
    const answered = pool.hashBlocks(new ArrayBuffer(TREE_BLOCK_LEN), 1, 1)
    kill?.(new Error('worker crashed'))
    await expect(stuck).rejects.toThrow('worker crashed')
    const cv = blockHash(new Uint8Array(TREE_BLOCK_LEN), 1, false)
    expect(hex(await answered)).toBe(hex(cv))
    // Later calls all go to the live worker.
    for (let i = 0; i < 3; i++)
      expect(hex(await pool.hashBlocks(new ArrayBuffer(TREE_BLOCK_LEN), 1, 1))).toBe(hex(cv))
  } finally {
    await pool.close()
    for (const p of ports) p.close()
  }
})
