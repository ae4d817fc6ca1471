/**
 * The IndexedDB block store in real Chromium: the shared contract (with reopen), then what
 * only IndexedDB has: imports cut short (aborted, closed, a worker killed mid-import) leave
 * nothing behind, a live import in another context is not "cleaned up", and the store works
 * in a dedicated worker.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import { deleteDB, openDB } from 'idb'
import { describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { treeOf } from '../b3/tree.ts'
import { type BlockStore, StoreError } from './block-store.ts'
import { openIdbBlockStore } from './idb-block-store.ts'
import { blockStoreContract } from './testing/block-store-contract.ts'
import { chunksOf, patternBytes } from './testing/content.ts'
import type { WorkerReply, WorkerRequest } from './testing/idb-store-worker.ts'
import { collect } from './testing/store-checks.ts'

const BLOCK = TREE_BLOCK_LEN
let dbCount = 0

function freshName(): string {
  return `fulmen-blocks-test-${Date.now()}-${dbCount++}`
}

blockStoreContract(
  'IndexedDB',
  async (options = {}) => {
    const name = freshName()
    const store = await openIdbBlockStore({ name, ...options })
    return {
      store,
      reopen: () => openIdbBlockStore({ name, ...options }),
      cleanup: () => deleteDB(name),
    }
  },
  { persistent: true, propertyRuns: 20 },
)

/** What the database holds outside of committed content. */
async function rawCounts(name: string) {
  const db = await openDB(name)
  try {
    return {
      blocks: await db.count('blocks'),
      staging: await db.count('staging'),
      contents: await db.count('contents'),
      trees: await db.count('trees'),
    }
  } finally {
    db.close()
  }
}

/** Yields `first` bytes of `data`, then waits for `release()` before the rest. */
function gated(data: Uint8Array, first: number) {
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  let reached!: () => void
  const firstOut = new Promise<void>((r) => {
    reached = r
  })
  async function* source(): AsyncGenerator<Uint8Array> {
    yield* chunksOf(data.subarray(0, first), 64 * 1024)
    reached()
    await gate
    yield* chunksOf(data.subarray(first), 64 * 1024)
  }
  return { source: source(), release, firstOut }
}

async function withDb(fn: (name: string) => Promise<void>): Promise<void> {
  const name = freshName()
  try {
    await fn(name)
  } finally {
    await deleteDB(name)
  }
}

function spawnWorker(): Worker {
  return new Worker(new URL('./testing/idb-store-worker.ts', import.meta.url), {
    type: 'module',
  })
}

function nextReply(worker: Worker): Promise<WorkerReply> {
  return new Promise((resolve, reject) => {
    worker.addEventListener('message', (e: MessageEvent<WorkerReply>) => resolve(e.data), {
      once: true,
    })
    worker.addEventListener('error', (e) => reject(new Error(e.message)), { once: true })
  })
}

/** Waits until no import lock of `name` is held (a killed worker's locks go a bit later). */
async function importLocksReleased(name: string): Promise<void> {
  for (;;) {
    const { held = [] } = await navigator.locks.query()
    if (!held.some((l) => l.name?.startsWith(`fulmen-blocks:${name}:`))) return
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('IndexedDB block store: imports cut short', () => {
  test('an aborted import leaves no blocks, staging or record', () =>
    withDb(async (name) => {
      const store = await openIdbBlockStore({ name })
      const data = patternBytes(12 * BLOCK, 1)
      const g = gated(data, 9 * BLOCK + 5) // two batches of blocks written
      const controller = new AbortController()
      const put = store.put(g.source, { signal: controller.signal })
      await g.firstOut
      controller.abort(new Error('stop'))
      await expect(put).rejects.toThrow('stop')
      g.release()
      expect(await rawCounts(name)).toEqual({ blocks: 0, staging: 0, contents: 0, trees: 0 })
      await store.close()
      const again = await openIdbBlockStore({ name })
      expect(await again.usage()).toMatchObject({ bytes: 0, contents: 0 })
      await again.close()
    }))

  test('closing the store mid-import leaves nothing, before and after reopen', () =>
    withDb(async (name) => {
      const store = await openIdbBlockStore({ name })
      const kept = await store.put(chunksOf(patternBytes(BLOCK + 1, 2), 50_000))
      const data = patternBytes(12 * BLOCK, 3)
      const g = gated(data, 9 * BLOCK + 5)
      const put = store.put(g.source)
      put.catch(() => {})
      await g.firstOut
      await store.close()
      g.release()
      const err = await put.catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreError)
      expect((err as StoreError).code).toBe('STORE_CLOSED')
      expect(await rawCounts(name)).toEqual({ blocks: 1 + 1, staging: 0, contents: 1, trees: 1 })
      const again = await openIdbBlockStore({ name })
      expect((await again.usage()).contents).toBe(1)
      expect(await again.stat(treeOf(data).root)).toBeUndefined()
      expect(await collect(again.read(kept.root))).toEqual(patternBytes(BLOCK + 1, 2))
      await again.close()
    }))

  test('a worker killed mid-import (a closed tab): the next open removes its blocks', () =>
    withDb(async (name) => {
      const store = await openIdbBlockStore({ name })
      const kept = await store.put(chunksOf(patternBytes(3000, 4), 1000), { pin: true })
      await store.close()
      const worker = spawnWorker()
      try {
        const progress = nextReply(worker)
        worker.postMessage({ kind: 'slow', name, seed: 5 } satisfies WorkerRequest)
        expect(await progress).toEqual({ kind: 'progress' })
      } finally {
        worker.terminate()
      }
      await importLocksReleased(name)
      const left = await rawCounts(name)
      expect(left.staging).toBe(1)
      expect(left.blocks).toBeGreaterThan(1) // the dead import's blocks, until the next open
      const again = await openIdbBlockStore({ name })
      expect(await rawCounts(name)).toEqual({ blocks: 1, staging: 0, contents: 1, trees: 1 })
      expect(await collect(again.read(kept.root))).toEqual(patternBytes(3000, 4))
      await again.close()
    }))

  test('opening removes blocks of no content and records without their blocks', () =>
    withDb(async (name) => {
      const store = await openIdbBlockStore({ name })
      const whole = await store.put(chunksOf(patternBytes(BLOCK + 9, 6), 100_000))
      const damaged = await store.put(chunksOf(patternBytes(2 * BLOCK, 7), 100_000))
      await store.setPointer('https://origin/damaged', damaged.root)
      await store.close()
      const db = await openDB(name)
      const rec = await db.get('contents', bytesToHex(damaged.root))
      await db.delete('blocks', [rec.blob, 1])
      await db.put('blocks', new Uint8Array(10), ['orphan', 0])
      await db.put('blocks', new Uint8Array(10), ['orphan', 1])
      db.close()
      const again = await openIdbBlockStore({ name })
      expect(await again.stat(damaged.root)).toBeUndefined()
      expect(await again.getPointer('https://origin/damaged')).toBeUndefined()
      expect(await collect(again.read(whole.root))).toEqual(patternBytes(BLOCK + 9, 6))
      await again.close()
      expect(await rawCounts(name)).toEqual({ blocks: 2, staging: 0, contents: 1, trees: 1 })
    }))

  test('opening in a second context keeps an import that is still running', () =>
    withDb(async (name) => {
      const first = await openIdbBlockStore({ name })
      const data = patternBytes(10 * BLOCK + 77, 8)
      const g = gated(data, 9 * BLOCK)
      const put = first.put(g.source)
      await g.firstOut
      let second: BlockStore | undefined
      try {
        second = await openIdbBlockStore({ name })
        expect((await rawCounts(name)).staging).toBe(1)
        g.release()
        const tree = await put
        expect(await collect(second.read(tree.root))).toEqual(data)
        expect(bytesToHex(tree.root)).toBe(bytesToHex(treeOf(data).root))
      } finally {
        await second?.close()
        await first.close()
      }
    }))
})

describe('IndexedDB block store: limits', () => {
  test('opening with a lower limit evicts the least recently used unpinned content', () =>
    withDb(async (name) => {
      const store = await openIdbBlockStore({ name })
      const a = await store.put(chunksOf(patternBytes(1000, 11), 300))
      const b = await store.put(chunksOf(patternBytes(1000, 12), 300), { pin: true })
      const c = await store.put(chunksOf(patternBytes(1000, 13), 300))
      await store.getTree(a.root)
      await store.close()
      const small = await openIdbBlockStore({ name, limitBytes: 2000 })
      expect(await small.stat(c.root)).toBeUndefined()
      expect(await small.usage()).toEqual({
        bytes: 2000,
        contents: 2,
        pinnedBytes: 1000,
        limit: 2000,
      })
      await small.close()
      // Pinned content over the limit stays; only unpinned content goes.
      const tiny = await openIdbBlockStore({ name, limitBytes: 10 })
      expect(await tiny.usage()).toMatchObject({ bytes: 1000, contents: 1, pinnedBytes: 1000 })
      expect(await tiny.stat(b.root)).toBeDefined()
      await tiny.close()
    }))
})

describe('IndexedDB block store in a dedicated worker', () => {
  test('put and read back inside a module worker; the page sees the same content', () =>
    withDb(async (name) => {
      const worker = spawnWorker()
      try {
        const done = nextReply(worker)
        worker.postMessage({
          kind: 'round-trip',
          name,
          length: 2 * BLOCK + 321,
          seed: 9,
        } satisfies WorkerRequest)
        const want = patternBytes(2 * BLOCK + 321, 9)
        expect(await done).toEqual({
          kind: 'done',
          root: bytesToHex(treeOf(want).root),
          same: true,
        })
      } finally {
        worker.terminate()
      }
      const store = await openIdbBlockStore({ name })
      expect(await collect(store.read(treeOf(patternBytes(2 * BLOCK + 321, 9)).root))).toEqual(
        patternBytes(2 * BLOCK + 321, 9),
      )
      await store.close()
    }))
})

describe('IndexedDB block store schema', () => {
  test('a version 1 database opens: its content stays, its pointer map (a cache) is dropped', () =>
    withDb(async (name) => {
      // Version 1 as the previous code made it, with one content of two blocks and a pointer.
      const data = patternBytes(BLOCK + 700, 31)
      const tree = treeOf(data)
      const root = bytesToHex(tree.root)
      const v1 = await openDB(name, 1, {
        upgrade(db) {
          db.createObjectStore('contents', { keyPath: 'root' })
          db.createObjectStore('trees')
          db.createObjectStore('blocks')
          db.createObjectStore('staging')
          db.createObjectStore('pointers')
        },
      })
      await v1.put('contents', {
        root,
        length: data.length,
        blocks: tree.blocks,
        pinned: true,
        lastAccess: 5_000,
        blob: 'oldblob',
      })
      await v1.put('trees', tree.hashes, root)
      await v1.put('blocks', data.slice(0, BLOCK), ['oldblob', 0])
      await v1.put('blocks', data.slice(BLOCK), ['oldblob', 1])
      await v1.put('pointers', root, 'https://origin/old')
      v1.close()

      const store = await openIdbBlockStore({ name })
      expect(await store.stat(tree.root)).toMatchObject({
        length: data.length,
        pinned: true,
        lastAccess: 5_000,
      })
      expect(await collect(store.read(tree.root))).toEqual(data)
      expect(await store.getPointer('https://origin/old')).toBeUndefined()
      await store.setPointer('https://origin/old', tree.root)
      expect(bytesToHex((await store.getPointer('https://origin/old'))!)).toBe(root)
      await store.close()

      const raw = await openDB(name)
      try {
        expect(raw.version).toBe(2)
        expect([...raw.objectStoreNames].sort()).toEqual([
          'blocks',
          'contents',
          'pointerIndex',
          'staging',
          'trees',
        ])
        // The pointer index holds `p:<pointer>` → the 32-byte root.
        const key = new TextEncoder().encode('p:https://origin/old')
        expect(new Uint8Array(await raw.get('pointerIndex', key))).toEqual(tree.root)
      } finally {
        raw.close()
      }
    }))
})
