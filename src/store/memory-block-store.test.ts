import { describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { treeOf } from '../b3/tree.ts'
import { StoreError } from './block-store.ts'
import { MemoryBlockStore } from './memory-block-store.ts'
import { blockStoreContract } from './testing/block-store-contract.ts'
import { collect, listAll } from './testing/store-checks.ts'

function content(len: number, seed = 1): Uint8Array {
  const out = new Uint8Array(len)
  let x = seed * 2654435761
  for (let i = 0; i < len; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

async function* chunked(data: Uint8Array, size = 10_000): AsyncGenerator<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size)
}

async function storeError(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(StoreError)
    return (e as StoreError).code
  }
  throw new Error('expected a StoreError')
}

const DATA = content(2 * TREE_BLOCK_LEN + 1234)
const TREE = treeOf(DATA)

describe('MemoryBlockStore', () => {
  test('put hashes the stream and keeps the content and its tree', async () => {
    const store = new MemoryBlockStore()
    const progress: number[] = []
    const tree = await store.put(chunked(DATA), { onProgress: (n) => progress.push(n) })
    expect(tree).toEqual(TREE)
    expect(progress.at(-1)).toBe(DATA.length)
    expect(await store.getTree(TREE.root)).toEqual(TREE)
    expect(await store.stat(TREE.root)).toMatchObject({
      root: TREE.root,
      length: DATA.length,
      blocks: 3,
      pinned: false,
    })
    expect(await store.usage()).toEqual({
      bytes: DATA.length,
      contents: 1,
      pinnedBytes: 0,
      limit: Number.POSITIVE_INFINITY,
    })
    expect(await listAll(store)).toHaveLength(1)
  })

  test('blocks and ranges', async () => {
    const store = new MemoryBlockStore()
    await store.put(chunked(DATA))
    expect(await store.getBlock(TREE.root, 0)).toEqual(DATA.subarray(0, TREE_BLOCK_LEN))
    expect(await store.getBlock(TREE.root, 2)).toEqual(DATA.subarray(2 * TREE_BLOCK_LEN))
    expect(await storeError(store.getBlock(TREE.root, 3))).toBe('STORE_INVALID_BLOCK')
    expect(await storeError(store.getBlock(TREE.root, -1))).toBe('STORE_INVALID_BLOCK')
    expect(await storeError(store.getBlock(new Uint8Array(32), 0))).toBe('STORE_NOT_FOUND')
    expect(await collect(store.read(TREE.root))).toEqual(DATA)
    expect(await collect(store.read(TREE.root, { start: 100, end: TREE_BLOCK_LEN + 7 }))).toEqual(
      DATA.subarray(100, TREE_BLOCK_LEN + 7),
    )
    expect(await collect(store.read(TREE.root, { start: 5, end: 5 }))).toEqual(new Uint8Array(0))
    for (const range of [
      { start: 0, end: DATA.length + 1 },
      { start: 10, end: 5 },
      { start: -1, end: 5 },
      { start: 0.5, end: 5 },
    ]) {
      expect(await storeError(collect(store.read(TREE.root, range)))).toBe('STORE_INVALID_RANGE')
    }
    expect(await storeError(collect(store.read(new Uint8Array(32))))).toBe('STORE_NOT_FOUND')
  })

  test('the empty content is one empty block', async () => {
    const store = new MemoryBlockStore()
    const tree = await store.put(chunked(new Uint8Array(0)))
    expect(tree).toEqual(treeOf(new Uint8Array(0)))
    expect(await store.getBlock(tree.root, 0)).toEqual(new Uint8Array(0))
    expect(await collect(store.read(tree.root))).toEqual(new Uint8Array(0))
  })

  test('a wrong expectedRoot, too many bytes, a failing source or an abort store nothing', async () => {
    const store = new MemoryBlockStore()
    const wrong = new Uint8Array(32).fill(1)
    expect(await storeError(store.put(chunked(DATA), { expectedRoot: wrong }))).toBe(
      'STORE_ROOT_MISMATCH',
    )
    let pulled = 0
    async function* counting() {
      for await (const c of chunked(DATA)) {
        pulled += c.length
        yield c
      }
    }
    expect(await storeError(store.put(counting(), { maxBytes: 50_000 }))).toBe('STORE_TOO_LARGE')
    expect(pulled).toBeLessThanOrEqual(60_000)
    async function* failing() {
      yield DATA.subarray(0, 100)
      throw new Error('source broke')
    }
    await expect(store.put(failing())).rejects.toThrow('source broke')
    const controller = new AbortController()
    async function* hanging() {
      yield DATA.subarray(0, 100)
      controller.abort(new Error('stop'))
      await new Promise(() => {})
    }
    await expect(store.put(hanging(), { signal: controller.signal })).rejects.toThrow('stop')
    expect(await listAll(store)).toEqual([])
    expect((await store.usage()).bytes).toBe(0)
  })

  test('a right expectedRoot stores; when already stored the source is not read', async () => {
    const store = new MemoryBlockStore()
    expect(await store.put(chunked(DATA), { expectedRoot: TREE.root })).toEqual(TREE)
    let read = false
    async function* unread() {
      read = true
      yield DATA
    }
    expect(await store.put(unread(), { expectedRoot: TREE.root, pin: true })).toEqual(TREE)
    expect(read).toBe(false)
    expect((await store.stat(TREE.root))?.pinned).toBe(true)
  })

  test('pin, unpin, delete', async () => {
    const store = new MemoryBlockStore()
    await store.put(chunked(DATA), { pin: true })
    expect(await store.usage()).toMatchObject({ pinnedBytes: DATA.length })
    await store.unpin(TREE.root)
    expect((await store.stat(TREE.root))?.pinned).toBe(false)
    await store.pin(TREE.root)
    expect(await store.delete(TREE.root)).toBe(true)
    expect(await store.delete(TREE.root)).toBe(false)
    expect(await store.stat(TREE.root)).toBeUndefined()
    expect(await storeError(store.pin(TREE.root))).toBe('STORE_NOT_FOUND')
    expect(await storeError(store.unpin(TREE.root))).toBe('STORE_NOT_FOUND')
  })

  test('pointers answer only while their content is stored', async () => {
    const store = new MemoryBlockStore()
    await store.put(chunked(DATA))
    expect(await store.getPointer('ipfs://x')).toBeUndefined()
    await store.setPointer('ipfs://x', TREE.root)
    expect(await store.getPointer('ipfs://x')).toEqual(TREE.root)
    await store.delete(TREE.root)
    expect(await store.getPointer('ipfs://x')).toBeUndefined()
  })

  test('a size limit evicts the least recently used unpinned content', async () => {
    let clock = 1000
    const store = new MemoryBlockStore({ limitBytes: 3000, now: () => clock++ })
    const a = await store.put(chunked(content(1000, 1)))
    const b = await store.put(chunked(content(1000, 2)), { pin: true })
    const c = await store.put(chunked(content(1000, 3)))
    await store.getTree(a.root) // a is now more recent than c
    const d = await store.put(chunked(content(1000, 4)))
    expect(await store.stat(c.root)).toBeUndefined()
    for (const t of [a, b, d]) expect(await store.stat(t.root)).toBeDefined()
    expect(await store.usage()).toEqual({
      bytes: 3000,
      contents: 3,
      pinnedBytes: 1000,
      limit: 3000,
    })
    expect(await storeError(store.put(chunked(content(2001, 5))))).toBe('STORE_FULL')
    expect(await store.usage()).toMatchObject({ contents: 3 })
    const stats = await listAll(store)
    expect(stats.every((s) => s.lastAccess >= 1000)).toBe(true)
  })

  test('close: everything afterwards is STORE_CLOSED', async () => {
    const store = new MemoryBlockStore()
    await store.put(chunked(DATA))
    await store.close()
    await store.close()
    expect(await storeError(store.stat(TREE.root))).toBe('STORE_CLOSED')
    expect(await storeError(store.put(chunked(DATA)))).toBe('STORE_CLOSED')
    expect(await storeError(store.getPointer('x'))).toBe('STORE_CLOSED')
  })

  test('stored bytes are copies: the source may reuse its buffer', async () => {
    const store = new MemoryBlockStore()
    const data = content(30_000, 9)
    const buf = new Uint8Array(10_000)
    async function* reusing() {
      for (let off = 0; off < data.length; off += buf.length) {
        buf.set(data.subarray(off, off + buf.length))
        yield buf
      }
    }
    const tree = await store.put(reusing())
    expect(tree.root).toEqual(treeOf(data).root)
    expect(await collect(store.read(tree.root))).toEqual(data)
  })
})

blockStoreContract('MemoryBlockStore', async (options = {}) => ({
  store: new MemoryBlockStore(options),
  cleanup: async () => {},
}))
