/**
 * The filesystem block store on real files in a temporary directory and a real LevelDB,
 * including child processes SIGKILLed in the middle of an import.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import fc from 'fast-check'
import { pino } from 'pino'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { hex } from '../b3/testing/kernels.ts'
import { treeOf } from '../b3/tree.ts'
import { type BlockStore, StoreError } from './block-store.ts'
import { type FsBlockStoreOptions, openFsBlockStore } from './fs-block-store.ts'
import { blockStoreContract } from './testing/block-store-contract.ts'
import { chunksOf, patternBytes, slices } from './testing/content.ts'
import { collect, expectCode, expectTree, listAll } from './testing/store-checks.ts'

const BLOCK = TREE_BLOCK_LEN
const CHILD = fileURLToPath(new URL('./testing/put-child.ts', import.meta.url))

const base = mkdtempSync(join(tmpdir(), 'fulmen-store-'))
let dirCount = 0
const opened: BlockStore[] = []

function freshDir(): string {
  return join(base, `s${dirCount++}`)
}

async function openStore(
  options: Partial<FsBlockStoreOptions> & { dir: string },
): Promise<BlockStore> {
  const store = await openFsBlockStore(options)
  opened.push(store)
  return store
}

afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()))
  rmSync(base, { recursive: true, force: true })
})

function files(dir: string, sub: 'content' | 'trees' | 'tmp'): string[] {
  return readdirSync(join(dir, sub)).sort()
}

/** Checks every way of reading `data` back. */
async function expectStored(store: BlockStore, data: Uint8Array, dir?: string): Promise<void> {
  const want = treeOf(data)
  expectTree(await store.getTree(want.root), want)
  const st = await store.stat(want.root)
  expect(st).toMatchObject({ length: data.length, blocks: want.blocks })
  for (let k = 0; k < want.blocks; k++) {
    const block = await store.getBlock(want.root, k)
    const start = k * BLOCK
    expect(block.length).toBe(Math.min(BLOCK, data.length - start))
    expect(Buffer.compare(block, data.subarray(start, start + BLOCK))).toBe(0)
  }
  expect(Buffer.compare(await collect(store.read(want.root)), data)).toBe(0)
  if (dir !== undefined) {
    // Raw serving is a plain file read; the tree file is the flat hashes.
    expect(Buffer.compare(readFileSync(join(dir, 'content', hex(want.root))), data)).toBe(0)
    expect(hex(readFileSync(join(dir, 'trees', hex(want.root))))).toBe(hex(want.hashes))
  }
}

describe('put and read back', () => {
  let dir: string
  let store: BlockStore
  beforeAll(async () => {
    dir = freshDir()
    store = await openStore({ dir })
  })

  const sizes: [string, number][] = [
    ['empty', 0],
    ['1 byte', 1],
    ['1 block', BLOCK],
    ['1 block + 1', BLOCK + 1],
    ['40 blocks + tail', 40 * BLOCK + 12_345],
  ]

  test.each(sizes)('%s: blocks, whole read, tree and files', async (_, len) => {
    const data = patternBytes(len, len + 1)
    const progress: number[] = []
    const tree = await store.put(slices(data), { onProgress: (n) => progress.push(n) })
    expectTree(tree, treeOf(data))
    if (len > 0) expect(progress.at(-1)).toBe(len)
    await expectStored(store, data, dir)
    expect(files(dir, 'tmp')).toEqual([])
  })

  test.each(sizes)('%s: ranges at every block boundary ± 1', async (_, len) => {
    const data = patternBytes(len, len + 1)
    const { root } = await store.put(chunksOf(data, 65_536))
    const points = new Set<number>()
    for (let b = 0; b <= len + BLOCK; b += BLOCK) {
      for (const p of [b - 1, b, b + 1]) if (p >= 0 && p <= len) points.add(p)
    }
    points.add(len)
    const sorted = [...points].sort((a, b) => a - b)
    const ranges: [number, number][] = []
    if (sorted.length <= 12) {
      for (const s of sorted) for (const e of sorted) if (s <= e) ranges.push([s, e])
    } else {
      for (const p of sorted) {
        ranges.push([p, Math.min(len, p + BLOCK + 2)])
        ranges.push([Math.max(0, p - 3), p])
        ranges.push([p, p])
      }
      ranges.push([1, len - 1])
    }
    for (const [start, end] of ranges) {
      const got = await collect(store.read(root, { start, end }))
      expect(got.length).toBe(end - start)
      expect(Buffer.compare(got, data.subarray(start, end))).toBe(0)
    }
  })

  test('blocks and ranges are validated', async () => {
    const data = patternBytes(2 * BLOCK + 5, 99)
    const { root } = await store.put(chunksOf(data, BLOCK))
    for (const k of [-1, 3, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expectCode(store.getBlock(root, k), 'STORE_INVALID_BLOCK')
    }
    for (const [start, end] of [
      [-1, 5],
      [5, 4],
      [0, data.length + 1],
      [0.5, 3],
      [0, Number.NaN],
    ] as [number, number][]) {
      await expectCode(collect(store.read(root, { start, end })), 'STORE_INVALID_RANGE')
    }
    const missing = new Uint8Array(32).fill(7)
    await expectCode(store.getBlock(missing, 0), 'STORE_NOT_FOUND')
    await expectCode(collect(store.read(missing)), 'STORE_NOT_FOUND')
    expect(await store.stat(missing)).toBeUndefined()
    expect(await store.getTree(missing)).toBeUndefined()
    await expectCode(store.pin(missing), 'STORE_NOT_FOUND')
    expect(await store.delete(missing)).toBe(false)
    await expectCode(store.stat(new Uint8Array(31)), 'STORE_NOT_FOUND')
    await expectCode(store.getBlock(new Uint8Array(33), 0), 'STORE_NOT_FOUND')
  })

  test('a read honours its abort signal', async () => {
    const data = patternBytes(3 * 1024 * 1024, 5)
    const { root } = await store.put(chunksOf(data, 1024 * 1024))
    const ac = new AbortController()
    const reason = new Error('enough')
    const it = store.read(root, undefined, ac.signal)[Symbol.asyncIterator]()
    expect((await it.next()).done).toBe(false)
    ac.abort(reason)
    await expect(it.next()).rejects.toBe(reason)
    await expect(store.getBlock(root, 0, ac.signal)).rejects.toBe(reason)
  })

  test('property: random lengths and slicings round-trip', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 3 * BLOCK + 1000 }),
        fc.integer({ min: 1, max: 200_000 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        async (len, chunk, seed, a, b) => {
          const data = patternBytes(len, seed)
          const tree = await store.put(chunksOf(data, chunk))
          const want = treeOf(data)
          expectTree(tree, want)
          expectTree(await store.getTree(want.root), want)
          for (let k = 0; k < want.blocks; k++) {
            const block = await store.getBlock(want.root, k)
            expect(Buffer.compare(block, data.subarray(k * BLOCK, (k + 1) * BLOCK))).toBe(0)
          }
          const start = Math.floor((a / 1000) * len)
          const end = start + Math.floor((b / 1000) * (len - start))
          const got = await collect(store.read(want.root, { start, end }))
          expect(Buffer.compare(got, data.subarray(start, end))).toBe(0)
        },
      ),
      { numRuns: 12 },
    )
    expect(files(dir, 'tmp')).toEqual([])
  })
})

describe('restart', () => {
  test('close and reopen keep records, pins, pointers, trees and access times', async () => {
    const dir = freshDir()
    const a = patternBytes(5 * BLOCK + 3, 1)
    const b = patternBytes(1000, 2)
    const c = patternBytes(0, 3)
    let store = await openStore({ dir })
    const ta = await store.put(chunksOf(a, 100_000), { pin: true })
    const tb = await store.put(chunksOf(b, 100))
    const tc = await store.put(chunksOf(c, 1))
    await store.setPointer('https://example.com/a', ta.root)
    await store.setPointer('ipfs://bafy.../b', tb.root)
    await store.getBlock(tb.root, 0) // b is now the most recently used
    const before = await listAll(store)
    const usage = await store.usage()
    expect(usage).toEqual({
      bytes: a.length + b.length,
      contents: 3,
      pinnedBytes: a.length,
      limit: Number.POSITIVE_INFINITY,
    })
    await store.close()
    await store.close() // idempotent
    await expectCode(store.stat(ta.root), 'STORE_CLOSED')
    await expectCode(store.getBlock(ta.root, 0), 'STORE_CLOSED')
    await expectCode(collect(store.read(ta.root)), 'STORE_CLOSED')
    await expectCode(store.put(chunksOf(b, 10)), 'STORE_CLOSED')
    await expectCode(store.getPointer('https://example.com/a'), 'STORE_CLOSED')
    await expectCode(store.usage(), 'STORE_CLOSED')

    store = await openStore({ dir })
    const after = await listAll(store)
    // Same records in the same LRU order, access times included.
    expect(after.map((s) => ({ ...s, root: hex(s.root) }))).toEqual(
      before.map((s) => ({ ...s, root: hex(s.root) })),
    )
    expect(after.map((s) => hex(s.root))).toEqual([ta, tc, tb].map((t) => hex(t.root)))
    expect((await store.stat(ta.root))?.pinned).toBe(true)
    expect((await store.stat(tb.root))?.pinned).toBe(false)
    expect(await store.usage()).toEqual(usage)
    expect(hex((await store.getPointer('https://example.com/a'))!)).toBe(hex(ta.root))
    expect(hex((await store.getPointer('ipfs://bafy.../b'))!)).toBe(hex(tb.root))
    expect(await store.getPointer('https://example.com/none')).toBeUndefined()
    await expectStored(store, a, dir)
    await expectStored(store, b, dir)
    await expectStored(store, c, dir)
    await store.close()
  })

  test('recovery removes strays, temp files and records of damaged content', async () => {
    const dir = freshDir()
    const a = patternBytes(2 * BLOCK + 1, 11)
    const b = patternBytes(BLOCK, 12)
    const c = patternBytes(3 * BLOCK, 13)
    let store = await openStore({ dir })
    const ta = await store.put(chunksOf(a, BLOCK))
    const tb = await store.put(chunksOf(b, BLOCK))
    const tc = await store.put(chunksOf(c, BLOCK))
    await store.setPointer('p:b', tb.root)
    await store.close()

    writeFileSync(join(dir, 'tmp', 'half-written.data'), patternBytes(1000, 1))
    writeFileSync(join(dir, 'content', 'ab'.repeat(32)), patternBytes(10, 1))
    writeFileSync(join(dir, 'trees', 'cd'.repeat(32)), patternBytes(32, 1))
    truncateSync(join(dir, 'content', hex(tb.root)), BLOCK - 1) // wrong size
    rmSync(join(dir, 'trees', hex(tc.root))) // missing tree

    store = await openStore({ dir })
    expect((await listAll(store)).map((s) => hex(s.root))).toEqual([hex(ta.root)])
    expect(files(dir, 'tmp')).toEqual([])
    expect(files(dir, 'content')).toEqual([hex(ta.root)])
    expect(files(dir, 'trees')).toEqual([hex(ta.root)])
    expect(await store.getPointer('p:b')).toBeUndefined()
    expect(await store.usage()).toMatchObject({ bytes: a.length, contents: 1 })
    await expectStored(store, a, dir)
    await store.close()
  })

  test('a second store on the same directory is refused while the first is open', async () => {
    const dir = freshDir()
    const store = await openStore({ dir })
    await expect(openFsBlockStore({ dir })).rejects.toThrow()
    await store.close()
  })

  test('a locked directory fails with classic-level’s error, which the node’s start-up reads', async () => {
    const dir = freshDir()
    const store = await openStore({ dir })
    const e = await openFsBlockStore({ dir }).then(
      () => undefined,
      (x: unknown) => x as { code?: string; cause?: { code?: string } },
    )
    expect(e?.code).toBe('LEVEL_DATABASE_NOT_OPEN')
    expect(e?.cause?.code).toBe('LEVEL_LOCKED')
    await store.close()
  })

  test('a data dir of the format before the KvStore seam opens with its records and pointers', async () => {
    const dir = freshDir()
    const a = patternBytes(BLOCK + 5, 21)
    const b = patternBytes(300, 22)
    let store = await openStore({ dir })
    const ta = await store.put(chunksOf(a, 50_000))
    const tb = await store.put(chunksOf(b, 100))
    await store.close()
    // Rewrite the records and pointers as the previous code did: classic-level, utf8 keys
    // and values, a record as JSON and a pointer's root as hex.
    const old = new ClassicLevel<string, string>(join(dir, 'db'), {
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
    })
    await old.open()
    const rec = (t: { length: number; blocks: number }, pinned: boolean, lastAccess: number) =>
      JSON.stringify({ length: t.length, blocks: t.blocks, pinned, lastAccess })
    await old.batch([
      { type: 'put', key: `c:${hex(ta.root)}`, value: rec(ta, true, 1_000) },
      { type: 'put', key: `c:${hex(tb.root)}`, value: rec(tb, false, 2_000) },
      { type: 'put', key: 'p:https://origin/a', value: hex(ta.root) },
      { type: 'put', key: 'p:ipfs://b', value: hex(tb.root) },
      { type: 'put', key: 'p:https://origin/gone', value: 'ef'.repeat(32) },
    ])
    await old.close()

    store = await openStore({ dir })
    expect((await listAll(store)).map((s) => [hex(s.root), s.pinned, s.lastAccess])).toEqual([
      [hex(ta.root), true, 1_000],
      [hex(tb.root), false, 2_000],
    ])
    expect(hex((await store.getPointer('https://origin/a'))!)).toBe(hex(ta.root))
    expect(hex((await store.getPointer('ipfs://b'))!)).toBe(hex(tb.root))
    expect(await store.getPointer('https://origin/gone')).toBeUndefined()
    await expectStored(store, a, dir)
    await store.close()

    // The pointers are now 32-byte roots; the one to nothing is gone; records are unchanged.
    const raw = new ClassicLevel<string, Uint8Array>(join(dir, 'db'), {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
    })
    await raw.open()
    expect(hex((await raw.get('p:https://origin/a'))!)).toBe(hex(ta.root))
    expect(await raw.get('p:https://origin/gone')).toBeUndefined()
    expect(new TextDecoder().decode(await raw.get(`c:${hex(tb.root)}`))).toBe(rec(tb, false, 2_000))
    await raw.close()
  })
})

/** Spawns the crash-test child and resolves with the first stdout line matching `want`. */
function spawnChild(args: string[]): {
  child: ChildProcess
  line: (want: RegExp) => Promise<string>
} {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  const waiters: { want: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }[] = []
  const check = () => {
    for (const w of [...waiters]) {
      const line = out.split('\n').find((l) => w.want.test(l))
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  }
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d
    check()
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d
  })
  child.on('exit', (code, signal) => {
    for (const w of waiters.splice(0)) {
      w.reject(new Error(`child exited (${code ?? signal}) before ${w.want}: ${out}\n${err}`))
    }
  })
  return {
    child,
    line: (want) =>
      new Promise((resolve, reject) => {
        waiters.push({ want, resolve, reject })
        check()
      }),
  }
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.on('exit', () => resolve())
    child.kill('SIGKILL')
  })
}

describe('kill -9 during an import', () => {
  let running: ChildProcess | undefined
  afterEach(async () => {
    if (running !== undefined) await killed(running)
    running = undefined
  })

  test('mid-stream: no trace of the content, earlier content intact', async () => {
    const dir = freshDir()
    const before = patternBytes(3 * BLOCK + 7, 21)
    let store = await openStore({ dir })
    const tb = await store.put(chunksOf(before, 70_000), { pin: true })
    await store.close()

    const { child, line } = spawnChild([dir, 'slow', '5'])
    running = child
    await line(/^progress$/)
    // Some blocks really are on disk in tmp/ at this point.
    const temps = files(dir, 'tmp')
    expect(temps.length).toBeGreaterThan(0)
    const written = temps.reduce((n, f) => n + statSync(join(dir, 'tmp', f)).size, 0)
    expect(written).toBeGreaterThanOrEqual(BLOCK)
    await killed(child)
    expect(child.signalCode).toBe('SIGKILL')

    store = await openStore({ dir })
    const list = await listAll(store)
    expect(list.map((s) => hex(s.root))).toEqual([hex(tb.root)])
    expect(list[0]!.pinned).toBe(true)
    expect(files(dir, 'tmp')).toEqual([])
    expect(files(dir, 'content')).toEqual([hex(tb.root)])
    expect(files(dir, 'trees')).toEqual([hex(tb.root)])
    expect(await store.usage()).toMatchObject({ bytes: before.length, contents: 1 })
    await expectStored(store, before, dir)
    await store.close()
  })

  test('between rename and record: content is all there or not at all', async () => {
    const dir = freshDir()
    const before = patternBytes(BLOCK + 1, 31)
    let store = await openStore({ dir })
    const tb = await store.put(chunksOf(before, 70_000))
    await store.close()

    const data = patternBytes(3 * BLOCK + 17, 8) // what the child imports with seed 8
    const root = hex(treeOf(data).root)
    const { child, line } = spawnChild([dir, 'renamed', '8'])
    running = child
    expect(await line(/^renamed /)).toBe(`renamed ${root}`)
    // The files are in place: only the record is missing.
    expect(files(dir, 'content')).toContain(root)
    expect(files(dir, 'trees')).toContain(root)
    await killed(child)

    store = await openStore({ dir })
    const st = await store.stat(treeOf(data).root)
    if (st === undefined) {
      expect(files(dir, 'content')).toEqual([hex(tb.root)])
      expect(files(dir, 'trees')).toEqual([hex(tb.root)])
      expect((await listAll(store)).length).toBe(1)
    } else {
      await expectStored(store, data, dir)
    }
    // The record is the commit point and was never written: not there.
    expect(st).toBeUndefined()
    expect(files(dir, 'tmp')).toEqual([])
    await expectStored(store, before, dir)
    // And importing it again works.
    await store.put(chunksOf(data, 100_000))
    await expectStored(store, data, dir)
    await store.close()
  })
})

describe('size limit and LRU eviction', () => {
  const content = (seed: number) => patternBytes(BLOCK, seed)
  const put = (store: BlockStore, data: Uint8Array, pin = false) =>
    store.put(chunksOf(data, 100_000), { pin })

  test('evicts least recently used unpinned content; pins are never evicted', async () => {
    const dir = freshDir()
    const limit = 3 * BLOCK
    const store = await openStore({ dir, limitBytes: limit })
    const [a, b, c, d, e, f] = [1, 2, 3, 4, 5, 6].map(content) as Uint8Array[]
    const ra = (await put(store, a!)).root
    const rb = (await put(store, b!)).root
    const rc = (await put(store, c!)).root
    await store.setPointer('ptr:b', rb)
    expect(await store.usage()).toEqual({ bytes: 3 * BLOCK, contents: 3, pinnedBytes: 0, limit })

    await store.getBlock(ra, 0) // a is used again: b is now the oldest
    const rd = (await put(store, d!)).root
    expect(await store.stat(rb)).toBeUndefined()
    expect(await store.getPointer('ptr:b')).toBeUndefined()
    await expectCode(store.getBlock(rb, 0), 'STORE_NOT_FOUND')
    expect(files(dir, 'content')).not.toContain(hex(rb))
    expect(files(dir, 'trees')).not.toContain(hex(rb))
    for (const r of [ra, rc, rd]) expect(await store.stat(r)).toBeDefined()
    expect(await store.usage()).toEqual({ bytes: 3 * BLOCK, contents: 3, pinnedBytes: 0, limit })

    // c is the oldest now, but pinned: a goes instead.
    await store.pin(rc)
    const re = (await put(store, e!)).root
    expect(await store.stat(ra)).toBeUndefined()
    for (const r of [rc, rd, re]) expect(await store.stat(r)).toBeDefined()
    expect(await store.usage()).toEqual({
      bytes: 3 * BLOCK,
      contents: 3,
      pinnedBytes: BLOCK,
      limit,
    })

    // Everything pinned: nothing fits any more.
    await store.pin(rd)
    await put(store, e!, true) // already there: pins it, needs no room
    expect(await store.usage()).toMatchObject({ pinnedBytes: 3 * BLOCK })
    await expectCode(put(store, f!), 'STORE_FULL')
    await expectCode(store.put(chunksOf(patternBytes(10, 1), 5)), 'STORE_FULL')
    expect(files(dir, 'tmp')).toEqual([])
    expect(files(dir, 'content').sort()).toEqual([rc, rd, re].map(hex).sort())
    expect(await store.usage()).toEqual({
      bytes: 3 * BLOCK,
      contents: 3,
      pinnedBytes: 3 * BLOCK,
      limit,
    })

    // Unpinning makes room again; the unpinned one is the one to go.
    await store.unpin(rd)
    const rf = (await put(store, f!)).root
    expect(await store.stat(rd)).toBeUndefined()
    expect((await listAll(store)).map((s) => hex(s.root)).sort()).toEqual(
      [rc, re, rf].map(hex).sort(),
    )
    expect(await store.usage()).toEqual({
      bytes: 3 * BLOCK,
      contents: 3,
      pinnedBytes: 2 * BLOCK,
      limit,
    })
    await store.close()
  })

  test('content larger than the limit is refused without evicting anything', async () => {
    const dir = freshDir()
    const store = await openStore({ dir, limitBytes: 2 * BLOCK })
    const a = content(7)
    const ra = (await put(store, a)).root
    let pulled = 0
    async function* big() {
      for (;;) {
        pulled++
        yield new Uint8Array(65_536)
      }
    }
    await expectCode(store.put(big()), 'STORE_FULL')
    expect(pulled).toBe((2 * BLOCK) / 65_536 + 1) // stopped reading at once
    expect(await store.stat(ra)).toBeDefined()
    expect(files(dir, 'tmp')).toEqual([])
    await store.close()
  })

  test('LRU order survives a restart, and a lower limit evicts at open', async () => {
    const dir = freshDir()
    let store = await openStore({ dir, limitBytes: 3 * BLOCK })
    const ra = (await put(store, content(11))).root
    const rb = (await put(store, content(12))).root
    const rc = (await put(store, content(13))).root
    await store.getTree(ra) // a is used again
    await store.close()

    store = await openStore({ dir, limitBytes: 3 * BLOCK })
    await collect(store.read(rb)) // b is used again: c is the oldest
    await store.close()

    store = await openStore({ dir, limitBytes: 2 * BLOCK })
    expect(await store.stat(rc)).toBeUndefined()
    expect(await store.stat(ra)).toBeDefined()
    expect(await store.stat(rb)).toBeDefined()
    expect(files(dir, 'content').sort()).toEqual([ra, rb].map(hex).sort())
    const rd = (await put(store, content(14))).root
    expect(await store.stat(ra)).toBeUndefined()
    expect(await store.stat(rd)).toBeDefined()
    expect(await store.usage()).toMatchObject({ bytes: 2 * BLOCK, contents: 2 })
    await store.close()
  })
})

describe('failed imports store nothing', () => {
  let dir: string
  let store: BlockStore
  beforeAll(async () => {
    dir = freshDir()
    store = await openStore({ dir })
  })

  async function expectNothingStored(): Promise<void> {
    expect(await listAll(store)).toEqual([])
    expect(files(dir, 'tmp')).toEqual([])
    expect(files(dir, 'content')).toEqual([])
    expect(files(dir, 'trees')).toEqual([])
    expect(await store.usage()).toMatchObject({ bytes: 0, contents: 0 })
  }

  test('expectedRoot mismatch', async () => {
    const data = patternBytes(2 * BLOCK + 9, 41)
    const wrong = treeOf(patternBytes(10, 1)).root
    await expectCode(
      store.put(chunksOf(data, 50_000), { expectedRoot: wrong }),
      'STORE_ROOT_MISMATCH',
    )
    await expectNothingStored()
  })

  test('maxBytes exceeded: stops reading at once', async () => {
    let pulled = 0
    let finished = false
    async function* endless() {
      try {
        for (;;) {
          pulled++
          yield new Uint8Array(10_000).fill(pulled)
        }
      } finally {
        finished = true
      }
    }
    await expectCode(store.put(endless(), { maxBytes: 100_000 }), 'STORE_TOO_LARGE')
    expect(pulled).toBe(11)
    await new Promise((r) => setTimeout(r, 10))
    expect(finished).toBe(true)
    // Exactly maxBytes is fine.
    const data = patternBytes(100_000, 3)
    const tree = await store.put(chunksOf(data, 10_000), { maxBytes: 100_000 })
    expect(await store.delete(tree.root)).toBe(true)
    await expectNothingStored()
  })

  test('abort mid-put, while the source is waiting', async () => {
    const ac = new AbortController()
    const reason = new Error('user went away')
    let sent = 0
    async function* stalls() {
      for (; sent < 3 * 4; sent++) yield patternBytes(BLOCK / 4, sent)
      await new Promise(() => {}) // never delivers more
    }
    const put = store.put(stalls(), {
      signal: ac.signal,
      onProgress: (n) => n >= 3 * BLOCK && ac.abort(reason),
    })
    await expect(put).rejects.toBe(reason)
    // While stalled too.
    const ac2 = new AbortController()
    const put2 = store.put(stalls2(), { signal: ac2.signal })
    async function* stalls2() {
      yield patternBytes(BLOCK + 1, 1)
      setTimeout(() => ac2.abort(reason), 20)
      await new Promise(() => {})
    }
    await expect(put2).rejects.toBe(reason)
    // Already aborted.
    await expect(
      store.put(chunksOf(patternBytes(10, 1), 1), { signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason)
    await expectNothingStored()
  })

  test('a source that throws: its own error, nothing stored', async () => {
    const boom = new Error('origin reset the connection')
    async function* failing() {
      yield patternBytes(BLOCK, 1)
      yield patternBytes(BLOCK + 3, 2)
      throw boom
    }
    await expect(store.put(failing())).rejects.toBe(boom)
    const notBytes = (async function* () {
      yield 'text' as unknown as Uint8Array
    })()
    await expect(store.put(notBytes)).rejects.toThrow(TypeError)
    const badProgress = new Error('progress listener failed')
    await expect(
      store.put(chunksOf(patternBytes(1000, 1), 10), {
        onProgress: () => {
          throw badProgress
        },
      }),
    ).rejects.toBe(badProgress)
    await expectNothingStored()
  })

  test('expectedRoot of stored content: the source is not read', async () => {
    const data = patternBytes(BLOCK + 100, 51)
    const want = await store.put(chunksOf(data, 9999))
    let read = false
    async function* untouchable() {
      read = true
      yield new Uint8Array(1)
    }
    const tree = await store.put(untouchable(), { expectedRoot: want.root, pin: true })
    expectTree(tree, want)
    expect(read).toBe(false)
    expect((await store.stat(want.root))?.pinned).toBe(true)
    await expectCode(
      store.put(untouchable(), { expectedRoot: want.root, maxBytes: BLOCK }),
      'STORE_TOO_LARGE',
    )
    expect(await store.delete(want.root)).toBe(true)
    await expectNothingStored()
  })

  test('close fails imports in progress and removes their temp files', async () => {
    const d = freshDir()
    const s = await openStore({ dir: d })
    async function* stalls() {
      yield patternBytes(BLOCK + 1, 1)
      await new Promise(() => {})
    }
    const put = s.put(stalls())
    await new Promise((r) => setTimeout(r, 20))
    await s.close()
    await expectCode(put, 'STORE_CLOSED')
    expect(files(d, 'tmp')).toEqual([])
  })
})

describe('concurrency', () => {
  test('concurrent puts of the same content both succeed and store it once', async () => {
    const dir = freshDir()
    const store = await openStore({ dir })
    const data = patternBytes(6 * BLOCK + 77, 61)
    const want = treeOf(data)
    const trees = await Promise.all([
      store.put(chunksOf(data, 65_536)),
      store.put(slices(data)),
      store.put(chunksOf(data, BLOCK), { pin: true }),
    ])
    for (const t of trees) expectTree(t, want)
    expect((await listAll(store)).length).toBe(1)
    expect(await store.usage()).toEqual({
      bytes: data.length,
      contents: 1,
      pinnedBytes: data.length,
      limit: Number.POSITIVE_INFINITY,
    })
    expect(files(dir, 'content')).toEqual([hex(want.root)])
    expect(files(dir, 'tmp')).toEqual([])
    await expectStored(store, data, dir)
    await store.close()
  })

  test('put while delete', async () => {
    const dir = freshDir()
    const store = await openStore({ dir })
    const a = patternBytes(2 * BLOCK, 71)
    const b = patternBytes(3 * BLOCK + 1, 72)
    const ta = await store.put(chunksOf(a, 100_000))
    const [deleted, tb, ta2] = await Promise.all([
      store.delete(ta.root),
      store.put(chunksOf(b, 100_000)),
      store.put(chunksOf(a, 30_000)),
    ])
    expect(deleted).toBe(true)
    expectTree(tb, treeOf(b))
    expectTree(ta2, ta)
    // Whatever the interleaving, files and records agree.
    const listed = (await listAll(store)).map((s) => hex(s.root)).sort()
    expect(files(dir, 'content')).toEqual(listed)
    expect(files(dir, 'trees')).toEqual(listed)
    expect(listed).toContain(hex(tb.root))
    for (const c of await listAll(store)) {
      await expectStored(store, hex(c.root) === hex(ta.root) ? a : b, dir)
    }
    await store.close()
  })

  test('delete while reading: reads finish or fail with STORE_NOT_FOUND, never crash', async () => {
    const dir = freshDir()
    const store = await openStore({ dir })
    const data = patternBytes(8 * BLOCK + 3, 81)
    const { root } = await store.put(chunksOf(data, BLOCK))

    const stream = store.read(root)[Symbol.asyncIterator]()
    const first = await stream.next()
    expect(first.done).toBe(false)
    const reads = Array.from({ length: 40 }, (_, i) =>
      store.getBlock(root, i % 9).then(
        (block) => {
          const k = i % 9
          expect(Buffer.compare(block, data.subarray(k * BLOCK, (k + 1) * BLOCK))).toBe(0)
          return 'ok'
        },
        (e: unknown) => {
          expect(e).toBeInstanceOf(StoreError)
          expect((e as StoreError).code).toBe('STORE_NOT_FOUND')
          return 'gone'
        },
      ),
    )
    expect(await store.delete(root)).toBe(true)
    await Promise.all(reads)

    // The stream that had started either finishes with the right bytes or reports the loss.
    const rest: Uint8Array[] = [first.value as Uint8Array]
    try {
      for (let r = await stream.next(); r.done !== true; r = await stream.next()) rest.push(r.value)
      expect(Buffer.compare(Buffer.concat(rest), data)).toBe(0)
    } catch (e) {
      expect((e as StoreError).code).toBe('STORE_NOT_FOUND')
    }
    await expectCode(store.getBlock(root, 0), 'STORE_NOT_FOUND')
    await expectCode(collect(store.read(root)), 'STORE_NOT_FOUND')
    expect(await store.getTree(root)).toBeUndefined()
    expect(await store.delete(root)).toBe(false)
    expect(files(dir, 'content')).toEqual([])
    expect(files(dir, 'trees')).toEqual([])
    await store.close()
  })

  test('many readers over few file handles', async () => {
    const dir = freshDir()
    const store = await openStore({ dir, maxOpenFiles: 2, handleIdleMs: 50 })
    const contents = [1, 2, 3, 4, 5].map((s) => patternBytes(2 * BLOCK + s, 90 + s))
    const roots = []
    for (const c of contents) roots.push((await store.put(chunksOf(c, BLOCK))).root)
    const jobs = []
    for (let i = 0; i < 60; i++) {
      const n = i % 5
      const k = i % 3
      jobs.push(
        store.getBlock(roots[n]!, k).then((block) => {
          expect(Buffer.compare(block, contents[n]!.subarray(k * BLOCK, (k + 1) * BLOCK))).toBe(0)
        }),
      )
    }
    await Promise.all(jobs)
    await new Promise((r) => setTimeout(r, 150)) // idle handles get closed
    for (let n = 0; n < 5; n++) await expectStored(store, contents[n]!)
    await store.close()
  })
})

test('logs through a pino logger with component "store"', async () => {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l))
      done()
    },
  })
  const logger = pino({ level: 'debug' }, sink)
  const store = await openStore({ dir: freshDir(), logger, limitBytes: BLOCK })
  await store.put(chunksOf(patternBytes(BLOCK, 1), BLOCK))
  await store.put(chunksOf(patternBytes(BLOCK, 2), BLOCK)) // evicts the first
  await store.close()
  expect(lines.length).toBeGreaterThan(0)
  for (const l of lines) expect(l.component).toBe('store')
  const messages = lines.map((l) => l.msg)
  expect(messages).toContain('block store opened')
  expect(messages).toContain('evicted content')
  expect(messages).toContain('block store closed')
})

blockStoreContract(
  'FsBlockStore',
  async (options = {}) => {
    const dir = freshDir()
    return {
      store: await openStore({ dir, ...options }),
      reopen: () => openStore({ dir, ...options }),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    }
  },
  { persistent: true, propertyRuns: 15 },
)
