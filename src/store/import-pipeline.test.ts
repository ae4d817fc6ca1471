/**
 * The import pipeline on its own: blocks cut at 256 KiB whatever the slicing, the tree of the
 * whole, the limits, and pumpSource's abort and stopping of the source.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { treeOf } from '../b3/tree.ts'
import { StoreError } from './block-store.ts'
import { ImportPipeline, PutTracker, pumpSource } from './import-pipeline.ts'
import { patternBytes } from './testing/content.ts'

const BLOCK = TREE_BLOCK_LEN
const unlimited = { room: () => Number.POSITIVE_INFINITY }

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) {
    out.set(p, off)
    off += p.length
  }
  return out
}

async function* yieldAll(parts: readonly Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts
}

describe('ImportPipeline', () => {
  test('property: whole blocks of exactly 256 KiB, then the tail; the tree of the whole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * BLOCK + 10 }),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.array(fc.integer({ min: 1, max: BLOCK + 100 }), { minLength: 1, maxLength: 8 }),
        (length, seed, sizes) => {
          const data = patternBytes(length, seed % 256)
          const pipeline = new ImportPipeline(unlimited)
          const blocks: Uint8Array[] = []
          // Chunks of the sizes given, in turn, so they straddle block boundaries every way.
          for (let off = 0, i = 0; off < length; i++) {
            const n = Math.min(sizes[i % sizes.length]!, length - off)
            blocks.push(...pipeline.push(data.subarray(off, off + n)))
            off += n
          }
          const { tree, hex, tail } = pipeline.finish()
          expect(blocks.every((b) => b.length === BLOCK)).toBe(true)
          expect(blocks.length).toBe(Math.floor(length / BLOCK))
          // Each block is its own buffer (IndexedDB stores a view's whole buffer).
          expect(blocks.every((b) => b.byteOffset === 0 && b.buffer.byteLength === BLOCK)).toBe(
            true,
          )
          if (length === 0) expect(tail).toEqual(new Uint8Array(0))
          else if (length % BLOCK === 0) expect(tail).toBeUndefined()
          else expect(tail?.length).toBe(length % BLOCK)
          expect(concat(tail === undefined ? blocks : [...blocks, tail])).toEqual(data)
          expect(bytesToHex(tree.root)).toBe(bytesToHex(treeOf(data).root))
          expect(tree.hashes).toEqual(treeOf(data).hashes)
          expect(hex).toBe(bytesToHex(tree.root))
          expect(pipeline.bytes).toBe(length)
        },
      ),
      { numRuns: 40 },
    )
  })

  test('maxBytes: STORE_TOO_LARGE on the chunk that passes it', () => {
    const pipeline = new ImportPipeline({ ...unlimited, maxBytes: 100 })
    pipeline.push(new Uint8Array(100))
    expect(() => pipeline.push(new Uint8Array(1))).toThrow(
      expect.objectContaining({ code: 'STORE_TOO_LARGE' }),
    )
  })

  test('room: STORE_FULL on the chunk that passes it, asked at every chunk', () => {
    let room = 50
    const pipeline = new ImportPipeline({ room: () => room })
    pipeline.push(new Uint8Array(50))
    room = 80
    pipeline.push(new Uint8Array(30))
    room = 79
    let error: unknown
    try {
      pipeline.push(new Uint8Array(1))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(StoreError)
    expect(error).toMatchObject({ code: 'STORE_FULL' })
    expect((error as Error).message).toContain('more than 80 bytes')
  })

  test('a chunk that is not a Uint8Array is a TypeError', () => {
    const pipeline = new ImportPipeline(unlimited)
    expect(() => pipeline.push('text')).toThrow(TypeError)
  })

  test('expected root: STORE_ROOT_MISMATCH unless the content hashes to it', () => {
    const data = patternBytes(1000, 3)
    const good = new ImportPipeline(unlimited)
    good.push(data)
    expect(good.finish(bytesToHex(treeOf(data).root)).tree.length).toBe(1000)
    const bad = new ImportPipeline(unlimited)
    bad.push(data)
    expect(() => bad.finish('00'.repeat(32))).toThrow(
      expect.objectContaining({ code: 'STORE_ROOT_MISMATCH' }),
    )
  })
})

describe('pumpSource', () => {
  test('hands whole blocks to the writer and reports progress per chunk', async () => {
    const data = patternBytes(2 * BLOCK + 5, 4)
    const pipeline = new ImportPipeline(unlimited)
    const written: number[] = []
    const progress: number[] = []
    const parts = [data.subarray(0, BLOCK + 1), data.subarray(BLOCK + 1)]
    await pumpSource(
      yieldAll(parts),
      pipeline,
      (blocks) => {
        written.push(blocks.length)
      },
      { signal: new AbortController().signal, onProgress: (n) => progress.push(n) },
    )
    expect(written).toEqual([1, 1])
    expect(progress).toEqual([BLOCK + 1, 2 * BLOCK + 5])
    expect(pipeline.finish().tail?.length).toBe(5)
  })

  test('an abort while the source waits rejects with the reason and stops the source', async () => {
    const controller = new AbortController()
    let stopped = false
    const source: AsyncIterator<Uint8Array> = {
      next: () => new Promise(() => {}),
      return: async () => {
        stopped = true
        return { done: true, value: undefined }
      },
    }
    const pumped = pumpSource(source, new ImportPipeline(unlimited), () => {}, {
      signal: controller.signal,
    })
    const reason = new Error('stop')
    controller.abort(reason)
    await expect(pumped).rejects.toBe(reason)
    expect(stopped).toBe(true)
  })
})

describe('PutTracker', () => {
  test('abort reaches every put signal; settled waits for the puts', async () => {
    const tracker = new PutTracker()
    const caller = new AbortController()
    const { signal, pin, expectedHex } = tracker.begin({ signal: caller.signal, pin: true })
    expect(pin).toBe(true)
    expect(expectedHex).toBeUndefined()
    let finished = false
    const put = tracker.track(
      new Promise<void>((resolve) =>
        signal.addEventListener('abort', () => {
          finished = true
          resolve()
        }),
      ),
    )
    tracker.abort(new Error('closed'))
    await tracker.settled()
    expect(finished).toBe(true)
    await put
    expect(() => tracker.begin({})).toThrow('closed')
  })
})
