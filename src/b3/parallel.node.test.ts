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

/**
 * Yields `data` in fresh chunks (each the whole of its own buffer, as a file stream or
 * `Blob.stream()` hands them out) cycling through `sizes`, and records them.
 */
function freshChunks(data: Uint8Array, sizes: number[]) {
  const chunks: Uint8Array<ArrayBuffer>[] = []
  async function* generate(): AsyncGenerator<Uint8Array> {
    for (let off = 0, i = 0; off < data.length; i++) {
      const chunk = data.slice(off, off + sizes[i % sizes.length]!)
      chunks.push(chunk)
      // Before yielding: a transferred chunk reads as empty afterwards.
      off += chunk.length
      yield chunk
    }
  }
  return { source: generate(), chunks }
}

const B = TREE_BLOCK_LEN
const contentSizes = [0, 1, B - 1, B, B + 1, 2 * B, 4 * B, 12 * B, 37 * B + 5]
const chunkPatterns: [string, number[]][] = [
  ['1 block', [B]],
  ['4 blocks', [4 * B]],
  ['3 blocks + 7', [3 * B + 7]],
  ['1 byte, then blocks', [1, B - 1, 2 * B, 5 * B]],
  ['block - 1', [B - 1]],
  ['mixed', [B, 100, 2 * B - 100, 5 * B, 65_536, 3 * 65_536, B + 3, 7 * B - 3, 13]],
]

describe('buildTreeParallel with transferChunks on a Node pool of 2', () => {
  let pool: HashPool
  beforeAll(() => {
    pool = createHashPool({ size: 2, spawn: nodeWorkerSpawn() })
  })
  afterAll(() => pool.close())

  const cases = chunkPatterns.flatMap(([name, pattern]) =>
    contentSizes.map((len): [string, number, number[]] => [name, len, pattern]),
  )
  test.each(cases)('chunks of %s, %i bytes: same tree as buildTree', async (_, len, pattern) => {
    const content = vectorContent(len)
    const want = await buildTree(oddSlices(content))
    for (const options of [{ batchBlocks: 3 }, {}, { batchBlocks: 1, maxInFlight: 2 }]) {
      const { source, chunks } = freshChunks(content, pattern)
      const got = await buildTreeParallel(source, pool, { ...options, transferChunks: true })
      expect(hex(got.root)).toBe(hex(want.root))
      expect(hex(got.hashes)).toBe(hex(want.hashes))
      expect(got.blocks).toBe(want.blocks)
      expect(got.length).toBe(len)
      // Every chunk at a block boundary with a full block went out uncopied, bar a lone block 0.
      let off = 0
      for (const [i, chunk] of chunks.entries()) {
        const size = Math.min(pattern[i % pattern.length]!, len - off)
        // Block 0 alone in its chunk waits for a byte past it, in the batch.
        const adoptable = off % B === 0 && size >= B && !(off === 0 && size === B)
        if (adoptable) expect(chunk.byteLength).toBe(0)
        off += size
      }
    }
  })

  test('chunks are detached only with transferChunks', async () => {
    const content = vectorContent(9 * B + 1)
    const want = await buildTree(oddSlices(content))
    const copied = freshChunks(content, [2 * B])
    const got = await buildTreeParallel(copied.source, pool)
    expect(hex(got.root)).toBe(hex(want.root))
    expect(copied.chunks.map((c) => c.byteLength)).toEqual([2 * B, 2 * B, 2 * B, 2 * B, B + 1])
    expect(hex(Uint8Array.from(copied.chunks.flatMap((c) => [...c])))).toBe(hex(content))

    const transferred = freshChunks(content, [2 * B])
    const again = await buildTreeParallel(transferred.source, pool, { transferChunks: true })
    expect(hex(again.hashes)).toBe(hex(want.hashes))
    expect(transferred.chunks.map((c) => c.byteLength)).toEqual([0, 0, 0, 0, 0])
  })

  test('views, shared buffers and misaligned chunks are copied, fresh aligned ones adopted', async () => {
    const content = vectorContent(20 * B + 17)
    const shared = new Uint8Array(new SharedArrayBuffer(2 * B))
    shared.set(content.subarray(4 * B, 6 * B))
    const whole = content.slice(0, 2 * B) // adopted
    const view = content.slice(2 * B - 8, 4 * B).subarray(8) // a view: copied
    const misaligned = [content.slice(6 * B, 6 * B + 5), content.slice(6 * B + 5, 9 * B)]
    const aligned = content.slice(9 * B, 12 * B) // 3 blocks after a partial batch: adopted
    const tailed = content.slice(12 * B, 20 * B + 17) // adopted, with a 17-byte tail
    const chunks = [whole, view, shared, ...misaligned, aligned, tailed]
    const got = await buildTreeParallel(
      (async function* () {
        yield* chunks
      })(),
      pool,
      { batchBlocks: 2, transferChunks: true },
    )
    const want = await buildTree(oddSlices(content))
    expect(hex(got.hashes)).toBe(hex(want.hashes))
    expect(got.length).toBe(content.length)
    expect(chunks.map((c) => c.byteLength)).toEqual([0, 2 * B, 2 * B, 5, 3 * B - 5, 0, 0])
  })

  test('abort mid-way rejects with the reason, cancels the source; the pool still works', async () => {
    const content = vectorContent(64 * B)
    const controller = new AbortController()
    const reason = new Error('stop')
    let cancelled: unknown
    let pulled = 0
    const source = new ReadableStream<Uint8Array>({
      pull(c) {
        if (pulled >= content.length) return c.close()
        c.enqueue(content.slice(pulled, pulled + 2 * B))
        pulled += 2 * B
        if (pulled === 20 * B) controller.abort(reason)
      },
      cancel(r) {
        cancelled = r
      },
    })
    await expect(
      buildTreeParallel(source, pool, { signal: controller.signal, transferChunks: true }),
    ).rejects.toBe(reason)
    expect(cancelled).toBe(reason)
    expect(pulled).toBeLessThan(content.length)

    const after = vectorContent(5 * B + 9)
    const { source: again } = freshChunks(after, [B])
    const got = await buildTreeParallel(again, pool, { transferChunks: true })
    expect(hex(got.root)).toBe(hex((await buildTree(oddSlices(after))).root))
  })
})

test('adopted chunks count against maxInFlight; out of order, they are folded in order', async () => {
  const content = vectorContent(40 * B + 9)
  const { pool, stats } = fakePool((first) => 12 - (first % 12))
  const { source, chunks } = freshChunks(content, [3 * B, 100, B - 100, 2 * B + 5, 4 * B - 5])
  const got = await buildTreeParallel(source, pool, {
    batchBlocks: 2,
    maxInFlight: 3,
    transferChunks: true,
  })
  expect(hex(got.hashes)).toBe(hex((await buildTree(oddSlices(content))).hashes))
  expect(stats.maxOutstanding).toBeLessThanOrEqual(3)
  expect(stats.outstanding).toBe(0)
  // The fake pool does not detach: adopted chunks are those it was handed. The 3-block ones
  // and the (2 blocks + 5)-byte ones arrive at block boundaries; the last (9 bytes) has none.
  expect(chunks).toHaveLength(21)
  expect(chunks.map((c) => stats.buffers.has(c.buffer))).toEqual(
    chunks.map((_, i) => i < 20 && (i % 5 === 0 || i % 5 === 3)),
  )
})

test('maxInFlight: 1 adopts tail-less chunks only', async () => {
  const content = vectorContent(10 * B + 3)
  const { pool, stats } = fakePool(() => 1)
  const { source, chunks } = freshChunks(content, [2 * B, 3 * B + 1, 2 * B - 1, 3 * B + 3])
  const got = await buildTreeParallel(source, pool, { maxInFlight: 1, transferChunks: true })
  expect(hex(got.hashes)).toBe(hex((await buildTree(oddSlices(content))).hashes))
  expect(stats.maxOutstanding).toBe(1)
  expect(chunks.map((c) => stats.buffers.has(c.buffer))).toEqual([true, false, false, false])
})

test('a failing adopted chunk rejects with its error once every other batch is back', async () => {
  const content = vectorContent(20 * B)
  const { pool, stats } = fakePool((first) => (first === 4 ? 1 : 30), 4)
  const { source } = freshChunks(content, [2 * B])
  await expect(
    buildTreeParallel(source, pool, { maxInFlight: 4, transferChunks: true }),
  ).rejects.toThrow('batch 4 failed')
  expect(stats.outstanding).toBe(0)
})
