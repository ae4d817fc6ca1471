/**
 * The checked store and its guard over the real filesystem store: bytes flipped in a content
 * or tree file on disk are never read back through it; the content is dropped and reported
 * once. Also the whole `BlockStore` contract through the wrapper.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import fc from 'fast-check'
import { afterAll, describe, expect, test } from 'vitest'
import { HASH_LEN, TREE_BLOCK_LEN } from '../b3/constants.ts'
import { treeOf } from '../b3/tree.ts'
import { blockMatches, treeConsistent } from './block-check.ts'
import type { BlockStore } from './block-store.ts'
import { createCheckedStore } from './checked-store.ts'
import { openFsBlockStore } from './fs-block-store.ts'
import { MemoryBlockStore } from './memory-block-store.ts'
import { type CorruptContent, createStoreGuard } from './store-guard.ts'
import { blockStoreContract } from './testing/block-store-contract.ts'
import { chunksOf, patternBytes } from './testing/content.ts'
import { flipByte } from './testing/flip-byte.ts'
import { collect, expectCode } from './testing/store-checks.ts'

const BLOCK = TREE_BLOCK_LEN
const base = mkdtempSync(join(tmpdir(), 'fulmen-checked-'))
let dirs = 0
const opened: BlockStore[] = []

afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()))
  rmSync(base, { recursive: true, force: true })
})

async function setup(data: Uint8Array) {
  const dir = join(base, `s${dirs++}`)
  const inner = await openFsBlockStore({ dir })
  opened.push(inner)
  const reports: CorruptContent[] = []
  const guard = createStoreGuard({ store: inner, onCorrupt: (c) => reports.push(c) })
  const store = createCheckedStore(inner, guard)
  const tree = await store.put(chunksOf(data, 100_000))
  const hex = bytesToHex(tree.root)
  return {
    dir,
    inner,
    guard,
    store,
    tree,
    reports,
    contentFile: join(dir, 'content', hex),
    treeFile: join(dir, 'trees', hex),
  }
}

describe('block checks', () => {
  test('a block matches its tree; any flipped byte, or another index, does not', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * BLOCK + 1000 }), fc.nat(), (length, at) => {
        const data = patternBytes(length, length)
        const tree = treeOf(data)
        expect(treeConsistent(tree)).toBe(true)
        const k = at % tree.blocks
        const block = data.slice(k * BLOCK, (k + 1) * BLOCK)
        expect(blockMatches(tree, k, block)).toBe(true)
        if (tree.blocks > 1) expect(blockMatches(tree, (k + 1) % tree.blocks, block)).toBe(false)
        if (block.length > 0) {
          block[at % block.length]! ^= 0x80
          expect(blockMatches(tree, k, block)).toBe(false)
        }
        const damaged = { ...tree, hashes: tree.hashes.slice() }
        damaged.hashes[at % damaged.hashes.length]! ^= 1
        expect(treeConsistent(damaged)).toBe(false)
      }),
      { numRuns: 30 },
    )
  })
})

describe('checked store over the filesystem store', () => {
  test('a block read of a flipped block fails STORE_CORRUPT, drops the content, reports once', async () => {
    const data = patternBytes(3 * BLOCK + 500, 1)
    const s = await setup(data)
    flipByte(s.contentFile, BLOCK + 77)
    expect(bytesToHex(await s.store.getBlock(s.tree.root, 0))).toBe(
      bytesToHex(data.subarray(0, BLOCK)),
    )
    // Two readers find it at once: one drop, one report.
    const [a, b] = await Promise.allSettled([
      s.store.getBlock(s.tree.root, 1),
      s.store.getBlock(s.tree.root, 1),
    ])
    for (const r of [a, b]) {
      expect(r.status).toBe('rejected')
      expect((r as PromiseRejectedResult).reason.code).toBe('STORE_CORRUPT')
    }
    expect(s.reports).toHaveLength(1)
    expect(s.reports[0]).toMatchObject({ block: 1, found: 'read', dropped: true })
    expect(s.reports[0]!.length).toBe(data.length)
    expect(await s.store.stat(s.tree.root)).toBeUndefined()
    expect(await s.store.getTree(s.tree.root)).toBeUndefined()
    await expectCode(s.store.getBlock(s.tree.root, 0), 'STORE_NOT_FOUND')
    // Put again (an origin's copy), it serves again.
    await s.store.put(chunksOf(data, BLOCK))
    expect(bytesToHex(await collect(s.store.read(s.tree.root)))).toBe(bytesToHex(data))
  })

  test('a one-block readInto (framed bodies) is checked every time, even after a good read', async () => {
    const data = patternBytes(2 * BLOCK, 2)
    const s = await setup(data)
    const block = new Uint8Array(BLOCK)
    await s.store.readInto!(s.tree.root, BLOCK, block)
    flipByte(s.contentFile, BLOCK + 5)
    await expectCode(s.store.readInto!(s.tree.root, BLOCK, block), 'STORE_CORRUPT')
    expect(s.reports).toMatchObject([{ block: 1, found: 'read' }])
  })

  test('a bulk read (raw bodies) checks a block the first time it serves it, whole', async () => {
    const data = patternBytes(4 * BLOCK + 10, 3)
    const s = await setup(data)
    // Block 2 damaged; a range read touching a few bytes of it reads it whole and fails.
    flipByte(s.contentFile, 2 * BLOCK + BLOCK - 1)
    const some = new Uint8Array(100)
    await s.store.readInto!(s.tree.root, 10, some) // block 0 only: fine
    expect(bytesToHex(some)).toBe(bytesToHex(data.subarray(10, 110)))
    await expectCode(s.store.readInto!(s.tree.root, 2 * BLOCK + 3, some), 'STORE_CORRUPT')
    expect(s.reports).toMatchObject([{ block: 2, found: 'read' }])
    await expectCode(collect(s.store.read(s.tree.root)), 'STORE_NOT_FOUND')
  })

  test('read() checks every block it yields', async () => {
    const data = patternBytes(2 * BLOCK + 10, 4)
    const s = await setup(data)
    flipByte(s.contentFile, 2 * BLOCK + 3)
    await expectCode(
      collect(s.store.read(s.tree.root, { start: BLOCK, end: data.length })),
      'STORE_CORRUPT',
    )
    expect(s.reports).toMatchObject([{ block: 2, found: 'read' }])
  })

  test('a damaged tree file reads as missing content (so the resolver fetches it again)', async () => {
    const data = patternBytes(5 * BLOCK, 5)
    const s = await setup(data)
    await s.inner.close()
    flipByte(s.treeFile, 3 * HASH_LEN) // an inner hash, not the root
    const inner = await openFsBlockStore({ dir: s.dir })
    opened.push(inner)
    const reports: CorruptContent[] = []
    const store = createCheckedStore(
      inner,
      createStoreGuard({ store: inner, onCorrupt: (c) => reports.push(c) }),
    )
    expect(await store.getTree(s.tree.root)).toBeUndefined()
    expect(reports).toMatchObject([{ block: -1, found: 'tree', dropped: true }])
    expect(await inner.stat(s.tree.root)).toBeUndefined()
  })
})

blockStoreContract('CheckedStore over MemoryBlockStore', async (options = {}) => {
  const inner = new MemoryBlockStore(options)
  return {
    store: createCheckedStore(inner, createStoreGuard({ store: inner })),
    cleanup: async () => {},
  }
})

blockStoreContract(
  'CheckedStore over FsBlockStore',
  async (options = {}) => {
    const dir = join(base, `c${dirs++}`)
    const open = async () => {
      const inner = await openFsBlockStore({ dir, ...options })
      opened.push(inner)
      return createCheckedStore(inner, createStoreGuard({ store: inner }))
    }
    return {
      store: await open(),
      reopen: open,
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    }
  },
  { persistent: true, propertyRuns: 5 },
)
