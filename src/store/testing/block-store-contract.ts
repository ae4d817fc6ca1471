/**
 * The promises of `BlockStore` (block-store.ts) as one suite, run against every store: call
 * `blockStoreContract(name, open)` from a test file. Isomorphic: it runs in Node and Chromium.
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { treeOf } from '../../b3/tree.ts'
import type { BlockStore, StoreError } from '../block-store.ts'
import { chunksOf, patternBytes, slices } from './content.ts'
import { collect, expectCode, expectTree, listAll } from './store-checks.ts'

const BLOCK = TREE_BLOCK_LEN

export interface ContractStore {
  readonly store: BlockStore
  /** Closes nothing: opens the same storage again (the contract closes `store` first). */
  readonly reopen?: () => Promise<BlockStore>
  /** Releases the storage (the contract has closed every store it opened by then). */
  readonly cleanup: () => Promise<void>
}

export interface ContractOpenOptions {
  /** The store's size limit (`Infinity` when absent). */
  readonly limitBytes?: number
}

export type OpenContractStore = (options?: ContractOpenOptions) => Promise<ContractStore>

export interface ContractOptions {
  /** The store keeps its content across a reopen: `open` must then give `reopen`. */
  readonly persistent?: boolean
  /** Runs of the property test (default 25). */
  readonly propertyRuns?: number
}

// --- helpers --------------------------------------------------------------------------------

const hex = bytesToHex

function expectSameBytes(got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length)
  expect(hex(got)).toBe(hex(want))
}

/** Checks every way of reading `data` back. */
async function expectStored(store: BlockStore, data: Uint8Array): Promise<void> {
  const want = treeOf(data)
  expectTree(await store.getTree(want.root), want)
  expect(await store.stat(want.root)).toMatchObject({ length: data.length, blocks: want.blocks })
  for (let k = 0; k < want.blocks; k++) {
    expectSameBytes(await store.getBlock(want.root, k), data.subarray(k * BLOCK, (k + 1) * BLOCK))
  }
  expectSameBytes(await collect(store.read(want.root)), data)
  if (store.readInto !== undefined) {
    const target = new Uint8Array(data.length)
    await store.readInto(want.root, 0, target)
    expectSameBytes(target, data)
  }
}

/** A source that yields `first`, then waits for `release()` before yielding the rest. */
function gatedSource(data: Uint8Array, first: number) {
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  let started!: () => void
  const firstOut = new Promise<void>((r) => {
    started = r
  })
  async function* source(): AsyncGenerator<Uint8Array> {
    yield data.slice(0, first)
    started()
    await gate
    yield* chunksOf(data.subarray(first), 50_000)
  }
  return { source: source(), release, firstOut }
}

function never(): AsyncGenerator<Uint8Array> {
  return (async function* () {
    yield new Uint8Array(0)
    await new Promise(() => {})
  })()
}

// --- the suite --------------------------------------------------------------------------------

export function blockStoreContract(
  name: string,
  open: OpenContractStore,
  options: ContractOptions = {},
): void {
  /** Runs `fn` on a fresh store; closes it, and every reopened one, then cleans up. */
  async function withStore(
    opts: ContractOpenOptions,
    fn: (store: BlockStore, reopen: () => Promise<BlockStore>) => Promise<void>,
  ): Promise<void> {
    const opened = await open(opts)
    const stores = [opened.store]
    const reopen = async () => {
      if (opened.reopen === undefined) throw new Error(`${name}: open() gave no reopen`)
      for (const s of stores) await s.close()
      const s = await opened.reopen()
      stores.push(s)
      return s
    }
    try {
      await fn(opened.store, reopen)
    } finally {
      for (const s of stores) await s.close()
      await opened.cleanup()
    }
  }

  describe(`BlockStore contract: ${name}`, () => {
    test.each([
      ['empty', 0],
      ['1 byte', 1],
      ['1 block', BLOCK],
      ['1 block + 1', BLOCK + 1],
      ['3 blocks + tail', 3 * BLOCK + 1234],
    ])('put and read back: %s', (_, len) =>
      withStore({}, async (store) => {
        const data = patternBytes(len, len + 7)
        const progress: number[] = []
        const tree = await store.put(slices(data), { onProgress: (n) => progress.push(n) })
        expectTree(tree, treeOf(data))
        if (len > 0) expect(progress.at(-1)).toBe(len)
        expect(progress).toEqual([...progress].sort((a, b) => a - b))
        await expectStored(store, data)
        expect(await store.stat(tree.root)).toMatchObject({ pinned: false })
        expect(await store.usage()).toEqual({
          bytes: len,
          contents: 1,
          pinnedBytes: 0,
          limit: Number.POSITIVE_INFINITY,
        })
      }),
    )

    test('byte ranges, valid and invalid', () =>
      withStore({}, async (store) => {
        const data = patternBytes(2 * BLOCK + 1234, 3)
        const { root } = await store.put(chunksOf(data, 100_000))
        const len = data.length
        for (const [start, end] of [
          [0, 0],
          [0, 1],
          [100, BLOCK + 7],
          [BLOCK - 1, BLOCK + 1],
          [BLOCK, 2 * BLOCK],
          [5, 2 * BLOCK + 5],
          [len - 1, len],
          [len, len],
          [0, len],
        ] as const) {
          const want = data.subarray(start, end)
          expectSameBytes(await collect(store.read(root, { start, end })), want)
          if (store.readInto !== undefined) {
            const target = new Uint8Array(end - start)
            await store.readInto(root, start, target)
            expectSameBytes(target, want)
          }
        }
        for (const range of [
          { start: 0, end: len + 1 },
          { start: 10, end: 5 },
          { start: -1, end: 5 },
          { start: 0.5, end: 5 },
          { start: 0, end: Number.NaN },
          { start: len + 1, end: len + 1 },
        ]) {
          await expectCode(collect(store.read(root, range)), 'STORE_INVALID_RANGE')
        }
        if (store.readInto !== undefined) {
          await expectCode(store.readInto(root, -1, new Uint8Array(1)), 'STORE_INVALID_RANGE')
          await expectCode(store.readInto(root, len - 1, new Uint8Array(2)), 'STORE_INVALID_RANGE')
          await expectCode(store.readInto(root, 0.5, new Uint8Array(1)), 'STORE_INVALID_RANGE')
          await expectCode(
            store.readInto(new Uint8Array(32), 0, new Uint8Array(0)),
            'STORE_NOT_FOUND',
          )
        }
        await expectCode(collect(store.read(new Uint8Array(32))), 'STORE_NOT_FOUND')
      }))

    test('getBlock: exact blocks, and what is not a block', () =>
      withStore({}, async (store) => {
        const data = patternBytes(2 * BLOCK + 10, 4)
        const { root } = await store.put(chunksOf(data, 70_000))
        expect((await store.getBlock(root, 2)).length).toBe(10)
        expect((await store.getBlock(root, 1)).length).toBe(BLOCK)
        for (const k of [3, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expectCode(store.getBlock(root, k), 'STORE_INVALID_BLOCK')
        }
        await expectCode(store.getBlock(new Uint8Array(32), 0), 'STORE_NOT_FOUND')
        await expectCode(store.getBlock(new Uint8Array(31), 0), 'STORE_NOT_FOUND')
        const aborted = AbortSignal.abort(new Error('gone'))
        await expect(store.getBlock(root, 0, aborted)).rejects.toThrow('gone')
        const empty = await store.put(chunksOf(new Uint8Array(0), 1))
        expect(await store.getBlock(empty.root, 0)).toEqual(new Uint8Array(0))
        await expectCode(store.getBlock(empty.root, 1), 'STORE_INVALID_BLOCK')
      }))

    test('a wrong expectedRoot stores nothing; a right one stores', () =>
      withStore({}, async (store) => {
        const data = patternBytes(BLOCK + 99, 5)
        const wrong = new Uint8Array(32).fill(1)
        await expectCode(store.put(slices(data), { expectedRoot: wrong }), 'STORE_ROOT_MISMATCH')
        expect(await listAll(store)).toEqual([])
        expect(await store.stat(treeOf(data).root)).toBeUndefined()
        expect((await store.usage()).bytes).toBe(0)
        const tree = await store.put(slices(data), { expectedRoot: treeOf(data).root })
        expectTree(tree, treeOf(data))
        await expectStored(store, data)
      }))

    test('already stored with expectedRoot: the source is not read; pin applies', () =>
      withStore({}, async (store) => {
        const data = patternBytes(3000, 6)
        const want = treeOf(data)
        await store.put(slices(data))
        let read = false
        async function* unread(): AsyncGenerator<Uint8Array> {
          read = true
          yield data
        }
        expectTree(await store.put(unread(), { expectedRoot: want.root, pin: true }), want)
        expect(read).toBe(false)
        expect((await store.stat(want.root))?.pinned).toBe(true)
        await expectCode(
          store.put(unread(), { expectedRoot: want.root, maxBytes: 2999 }),
          'STORE_TOO_LARGE',
        )
        expect(read).toBe(false)
      }))

    test('storing content again keeps one copy; pin applies', () =>
      withStore({}, async (store) => {
        const data = patternBytes(BLOCK + 5, 7)
        await store.put(slices(data))
        const again = await store.put(chunksOf(data, 4096), { pin: true })
        expectTree(again, treeOf(data))
        expect(await store.usage()).toMatchObject({ bytes: data.length, contents: 1 })
        expect((await store.stat(again.root))?.pinned).toBe(true)
        await expectStored(store, data)
      }))

    test('concurrent puts of the same content keep one copy', () =>
      withStore({}, async (store) => {
        const data = patternBytes(2 * BLOCK + 3, 8)
        const trees = await Promise.all([
          store.put(chunksOf(data, 10_000)),
          store.put(chunksOf(data, 33_333)),
          store.put(slices(data)),
        ])
        for (const t of trees) expectTree(t, treeOf(data))
        expect(await store.usage()).toMatchObject({ bytes: data.length, contents: 1 })
        await expectStored(store, data)
      }))

    test('maxBytes: exactly is fine, one more stores nothing and stops reading', () =>
      withStore({}, async (store) => {
        const data = patternBytes(BLOCK + 1000, 9)
        let pulled = 0
        async function* counting(): AsyncGenerator<Uint8Array> {
          for await (const c of chunksOf(data, 10_000)) {
            pulled += c.length
            yield c
          }
        }
        await expectCode(store.put(counting(), { maxBytes: 50_000 }), 'STORE_TOO_LARGE')
        expect(pulled).toBeLessThanOrEqual(60_000)
        expect(await listAll(store)).toEqual([])
        await store.put(slices(data), { maxBytes: data.length })
        await expectStored(store, data)
      }))

    test('an abort, a failing source or an aborted signal store nothing', () =>
      withStore({}, async (store) => {
        const data = patternBytes(3 * BLOCK, 10)
        const controller = new AbortController()
        const gated = gatedSource(data, BLOCK + 1)
        const put = store.put(gated.source, { signal: controller.signal })
        await gated.firstOut
        controller.abort(new Error('stop'))
        await expect(put).rejects.toThrow('stop')
        gated.release()

        async function* failing(): AsyncGenerator<Uint8Array> {
          yield data.subarray(0, 2 * BLOCK)
          throw new Error('source broke')
        }
        await expect(store.put(failing())).rejects.toThrow('source broke')
        await expect(
          store.put(slices(data), { signal: AbortSignal.abort(new Error('early')) }),
        ).rejects.toThrow('early')
        const late = new AbortController()
        const hanging = store.put(never(), { signal: late.signal })
        late.abort(new Error('late'))
        await expect(hanging).rejects.toThrow('late')

        expect(await listAll(store)).toEqual([])
        expect(await store.usage()).toMatchObject({ bytes: 0, contents: 0 })
        expect(await store.stat(treeOf(data).root)).toBeUndefined()
      }))

    test('pin and unpin', () =>
      withStore({}, async (store) => {
        const data = patternBytes(1500, 11)
        const { root } = await store.put(slices(data), { pin: true })
        expect(await store.usage()).toMatchObject({ pinnedBytes: 1500 })
        expect((await store.stat(root))?.pinned).toBe(true)
        await store.unpin(root)
        await store.unpin(root)
        expect((await store.stat(root))?.pinned).toBe(false)
        expect(await store.usage()).toMatchObject({ pinnedBytes: 0 })
        await store.pin(root)
        expect((await store.stat(root))?.pinned).toBe(true)
        const missing = new Uint8Array(32).fill(2)
        await expectCode(store.pin(missing), 'STORE_NOT_FOUND')
        await expectCode(store.unpin(missing), 'STORE_NOT_FOUND')
      }))

    test('a limit evicts unpinned content, least recently used first; pinned never', () =>
      withStore({ limitBytes: 3000 }, async (store) => {
        const a = await store.put(slices(patternBytes(1000, 21)))
        const b = await store.put(slices(patternBytes(1000, 22)), { pin: true })
        const c = await store.put(slices(patternBytes(1000, 23)))
        await store.getTree(a.root) // a is now more recent than c; b (pinned) is the oldest
        const d = await store.put(slices(patternBytes(1000, 24)))
        expect(await store.stat(c.root)).toBeUndefined()
        for (const t of [a, b, d]) expect(await store.stat(t.root)).toBeDefined()
        await store.getBlock(a.root, 0) // now d is the least recently used
        const e = await store.put(slices(patternBytes(1000, 25)))
        expect(await store.stat(d.root)).toBeUndefined()
        await collect(store.read(e.root)) // now a is
        const f = await store.put(slices(patternBytes(2000, 26)))
        expect(await store.stat(a.root)).toBeUndefined()
        expect(await store.stat(e.root)).toBeUndefined()
        expect((await listAll(store)).map((s) => hex(s.root)).sort()).toEqual(
          [b, f].map((t) => hex(t.root)).sort(),
        )
        expect(await store.usage()).toEqual({
          bytes: 3000,
          contents: 2,
          pinnedBytes: 1000,
          limit: 3000,
        })
        await expectStored(store, patternBytes(1000, 22))
      }))

    test('STORE_FULL when evicting all unpinned content is not enough', () =>
      withStore({ limitBytes: 3000 }, async (store) => {
        const a = await store.put(slices(patternBytes(1000, 31)))
        const b = await store.put(slices(patternBytes(1000, 32)), { pin: true })
        await expectCode(store.put(slices(patternBytes(2001, 33))), 'STORE_FULL')
        expect(await store.stat(a.root)).toBeDefined()
        expect(await store.usage()).toMatchObject({ bytes: 2000, contents: 2 })
        // Exactly what is left once everything unpinned goes.
        const c = await store.put(slices(patternBytes(2000, 34)), { pin: true })
        expect(await store.stat(a.root)).toBeUndefined()
        await expectCode(store.put(slices(patternBytes(1, 35))), 'STORE_FULL')
        expect((await listAll(store)).map((s) => hex(s.root)).sort()).toEqual(
          [b, c].map((t) => hex(t.root)).sort(),
        )
        await expectCode(store.put(slices(patternBytes(3001, 36))), 'STORE_FULL')
      }))

    test('pointers answer while their content is stored', () =>
      withStore({}, async (store) => {
        const a = await store.put(slices(patternBytes(100, 41)))
        const b = await store.put(slices(patternBytes(200, 42)))
        expect(await store.getPointer('https://origin/x')).toBeUndefined()
        await store.setPointer('https://origin/x', a.root)
        await store.setPointer('ipfs://y', b.root)
        expect(hex((await store.getPointer('https://origin/x'))!)).toBe(hex(a.root))
        await store.setPointer('https://origin/x', b.root)
        expect(hex((await store.getPointer('https://origin/x'))!)).toBe(hex(b.root))
        await store.delete(b.root)
        expect(await store.getPointer('https://origin/x')).toBeUndefined()
        expect(await store.getPointer('ipfs://y')).toBeUndefined()
      }))

    test('delete removes content, pinned too', () =>
      withStore({}, async (store) => {
        const data = patternBytes(BLOCK + 1, 51)
        const { root } = await store.put(slices(data), { pin: true })
        const other = patternBytes(10, 52)
        await store.put(slices(other))
        expect(await store.delete(root)).toBe(true)
        expect(await store.delete(root)).toBe(false)
        expect(await store.stat(root)).toBeUndefined()
        expect(await store.getTree(root)).toBeUndefined()
        await expectCode(store.getBlock(root, 0), 'STORE_NOT_FOUND')
        await expectCode(collect(store.read(root)), 'STORE_NOT_FOUND')
        expect(await store.usage()).toMatchObject({ bytes: 10, contents: 1, pinnedBytes: 0 })
        await expectStored(store, other)
        // Stored again after a delete: a fresh copy.
        await store.put(slices(data))
        await expectStored(store, data)
      }))

    test('list and usage agree', () =>
      withStore({ limitBytes: 1e9 }, async (store) => {
        const sizes = [0, 1, 999, BLOCK + 2]
        const trees = []
        for (const [i, len] of sizes.entries()) {
          trees.push(await store.put(slices(patternBytes(len, 60 + i)), { pin: i % 2 === 1 }))
        }
        const listed = await listAll(store)
        expect(listed.map((s) => hex(s.root)).sort()).toEqual(trees.map((t) => hex(t.root)).sort())
        for (const s of listed) {
          const t = trees.find((x) => hex(x.root) === hex(s.root))!
          expect(s).toMatchObject({ length: t.length, blocks: t.blocks })
          expect(s.lastAccess).toBeGreaterThan(0)
        }
        expect(await store.usage()).toEqual({
          bytes: 0 + 1 + 999 + BLOCK + 2,
          contents: 4,
          pinnedBytes: 1 + BLOCK + 2,
          limit: 1e9,
        })
      }))

    test('the source may reuse its buffer', () =>
      withStore({}, async (store) => {
        const data = patternBytes(BLOCK + 30_000, 71)
        const buf = new Uint8Array(10_000)
        async function* reusing(): AsyncGenerator<Uint8Array> {
          for (let off = 0; off < data.length; off += buf.length) {
            const n = Math.min(buf.length, data.length - off)
            buf.set(data.subarray(off, off + n))
            yield buf.subarray(0, n)
          }
        }
        const tree = await store.put(reusing())
        expectTree(tree, treeOf(data))
        await expectStored(store, data)
      }))

    test('closed: every method rejects with STORE_CLOSED; close is idempotent', () =>
      withStore({}, async (store) => {
        const { root } = await store.put(slices(patternBytes(100, 81)))
        await store.close()
        await store.close()
        await expectCode(store.put(slices(patternBytes(10, 82))), 'STORE_CLOSED')
        await expectCode(store.stat(root), 'STORE_CLOSED')
        await expectCode(store.getTree(root), 'STORE_CLOSED')
        await expectCode(store.getBlock(root, 0), 'STORE_CLOSED')
        await expectCode(collect(store.read(root)), 'STORE_CLOSED')
        if (store.readInto !== undefined) {
          await expectCode(store.readInto(root, 0, new Uint8Array(1)), 'STORE_CLOSED')
        }
        await expectCode(store.pin(root), 'STORE_CLOSED')
        await expectCode(store.unpin(root), 'STORE_CLOSED')
        await expectCode(store.delete(root), 'STORE_CLOSED')
        await expectCode(listAll(store), 'STORE_CLOSED')
        await expectCode(store.usage(), 'STORE_CLOSED')
        await expectCode(store.setPointer('p', root), 'STORE_CLOSED')
        await expectCode(store.getPointer('p'), 'STORE_CLOSED')
      }))

    test('close fails an import in progress with STORE_CLOSED', () =>
      withStore({}, async (store) => {
        const data = patternBytes(3 * BLOCK, 91)
        const gated = gatedSource(data, BLOCK + 5)
        const put = store.put(gated.source)
        put.catch(() => {})
        await gated.firstOut
        const closing = store.close()
        gated.release()
        await expectCode(put, 'STORE_CLOSED')
        await closing
      }))

    if (options.persistent === true) {
      test('reopen keeps contents, pins, trees, pointers and the LRU order', () =>
        withStore({ limitBytes: 4 * BLOCK }, async (first, reopen) => {
          const a = patternBytes(BLOCK + 1, 101)
          const b = patternBytes(BLOCK, 102)
          const c = patternBytes(BLOCK - 1, 103)
          const ta = await first.put(slices(a))
          const tb = await first.put(slices(b), { pin: true })
          const tc = await first.put(slices(c))
          await first.getBlock(ta.root, 1) // a is now more recent than c
          await first.setPointer('https://origin/a', ta.root)
          const before = await listAll(first)
          const store = await reopen()
          // Access times survive (stat does not touch).
          expect((await store.stat(ta.root))!.lastAccess).toBeGreaterThan(
            (await store.stat(tc.root))!.lastAccess,
          )
          for (const d of [a, b, c]) await expectStored(store, d)
          expect((await store.stat(tb.root))?.pinned).toBe(true)
          expect((await store.stat(ta.root))?.pinned).toBe(false)
          expect(hex((await store.getPointer('https://origin/a'))!)).toBe(hex(ta.root))
          expect((await listAll(store)).length).toBe(before.length)
          expect(await store.usage()).toEqual({
            bytes: a.length + b.length + c.length,
            contents: 3,
            pinnedBytes: b.length,
            limit: 4 * BLOCK,
          })

          // The reads above touched a, b, c in that order; touch a again so that c is the
          // least recently used, and check that survives one more reopen.
          await store.getTree(ta.root)
          const again = await reopen()
          await again.put(slices(patternBytes(BLOCK + 2, 104)))
          expect(await again.stat(tc.root)).toBeUndefined()
          expect(await again.stat(ta.root)).toBeDefined()
        }))

      test('reopen after an import cut by close shows nothing of it', () =>
        withStore({}, async (store, reopen) => {
          const kept = patternBytes(1000, 111)
          await store.put(slices(kept))
          const data = patternBytes(3 * BLOCK + 7, 112)
          const gated = gatedSource(data, 2 * BLOCK + 3)
          const put = store.put(gated.source)
          put.catch(() => {})
          await gated.firstOut
          const again = await reopen()
          gated.release()
          await expectCode(put, 'STORE_CLOSED')
          expect((await listAll(again)).length).toBe(1)
          expect(await again.stat(treeOf(data).root)).toBeUndefined()
          await expectStored(again, kept)
        }))
    }

    test('property: usage() agrees with list() through puts, deletes, pins and reads', async () => {
      const pool = [0, 1, 700, 5000, BLOCK, BLOCK + 3].map((len, i) => patternBytes(len, 200 + i))
      const trees = pool.map((d) => treeOf(d))
      // The two big ones never fit together: evictions and STORE_FULL are frequent.
      const limit = BLOCK + 6000
      const op = fc.oneof(
        {
          arbitrary: fc.record({
            kind: fc.constant('put' as const),
            i: fc.nat(5),
            pin: fc.boolean(),
          }),
          weight: 3,
        },
        fc.record({ kind: fc.constant('delete' as const), i: fc.nat(5) }),
        fc.record({ kind: fc.constant('pin' as const), i: fc.nat(5), pin: fc.boolean() }),
        fc.record({ kind: fc.constant('read' as const), i: fc.nat(5) }),
      )
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 14 }), (ops) =>
          withStore({ limitBytes: limit }, async (store) => {
            /** What should be stored (evictions are learnt from list()): hex → pinned. */
            const model = new Map<string, boolean>()
            for (const o of ops) {
              const key = hex(trees[o.i]!.root)
              const has = model.has(key)
              if (o.kind === 'put') {
                const pinned = model.get(key) === true || o.pin
                try {
                  await store.put(chunksOf(pool[o.i]!, 100_000), { pin: o.pin })
                  model.set(key, pinned)
                } catch (e) {
                  expect((e as StoreError).code).toBe('STORE_FULL')
                }
              } else if (o.kind === 'delete') {
                expect(await store.delete(trees[o.i]!.root)).toBe(has)
                model.delete(key)
              } else if (o.kind === 'pin') {
                const call = o.pin ? store.pin(trees[o.i]!.root) : store.unpin(trees[o.i]!.root)
                if (has) {
                  await call
                  model.set(key, o.pin)
                } else await expectCode(call, 'STORE_NOT_FOUND')
              } else if (has) {
                expectSameBytes(await collect(store.read(trees[o.i]!.root)), pool[o.i]!)
              } else {
                await expectCode(collect(store.read(trees[o.i]!.root)), 'STORE_NOT_FOUND')
              }

              const listed = await listAll(store)
              const usage = await store.usage()
              expect(usage).toEqual({
                bytes: listed.reduce((n, s) => n + s.length, 0),
                contents: listed.length,
                pinnedBytes: listed.reduce((n, s) => n + (s.pinned ? s.length : 0), 0),
                limit,
              })
              expect(usage.bytes).toBeLessThanOrEqual(limit)
              const keys = new Set(listed.map((s) => hex(s.root)))
              for (const s of listed) expect(s.pinned).toBe(model.get(hex(s.root)))
              for (const [k, pinned] of model) {
                if (pinned) expect(keys.has(k)).toBe(true)
                if (!keys.has(k)) model.delete(k) // evicted
              }
            }
          }),
        ),
        { numRuns: options.propertyRuns ?? 25 },
      )
    })
  })
}
