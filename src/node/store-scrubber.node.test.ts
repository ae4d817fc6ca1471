/**
 * The store scrubber over the real filesystem store: a pass finds a byte flipped on disk
 * after the raw path had already verified (and so stopped hashing) that block, drops only
 * that content and reports it; start/stop.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { bytesToHex } from '@noble/hashes/utils.js'
import { afterAll, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import type { BlockStore } from '../store/block-store.ts'
import { createCheckedStore } from '../store/checked-store.ts'
import { openFsBlockStore } from '../store/fs-block-store.ts'
import { type CorruptContent, createStoreGuard } from '../store/store-guard.ts'
import { chunksOf, patternBytes } from '../store/testing/content.ts'
import { flipByte } from '../store/testing/flip-byte.ts'
import { collect } from '../store/testing/store-checks.ts'
import { createStoreScrubber, type ScrubPass } from './store-scrubber.ts'

const BLOCK = TREE_BLOCK_LEN
const base = mkdtempSync(join(tmpdir(), 'fulmen-scrub-'))
let dirs = 0
const opened: BlockStore[] = []

afterAll(async () => {
  await Promise.allSettled(opened.map((s) => s.close()))
  rmSync(base, { recursive: true, force: true })
})

async function setup() {
  const dir = join(base, `s${dirs++}`)
  const inner = await openFsBlockStore({ dir })
  opened.push(inner)
  const reports: CorruptContent[] = []
  const guard = createStoreGuard({ store: inner, onCorrupt: (c) => reports.push(c) })
  return { dir, inner, guard, store: createCheckedStore(inner, guard), reports }
}

test('a pass finds a byte flipped after the raw path verified it, and drops only that content', async () => {
  const s = await setup()
  const contents = [patternBytes(3 * BLOCK + 9, 1), patternBytes(2 * BLOCK, 2), new Uint8Array(0)]
  const trees = []
  for (const data of contents) trees.push(await s.store.put(chunksOf(data, BLOCK)))
  const victim = trees[0]!
  // A raw read verifies every block once; later damage is not seen by raw reads.
  const whole = new Uint8Array(victim.length)
  await s.store.readInto!(victim.root, 0, whole)
  flipByte(join(s.dir, 'content', bytesToHex(victim.root)), 2 * BLOCK + 1)
  await s.store.readInto!(victim.root, 0, whole)
  expect(s.reports).toHaveLength(0)

  const passes: ScrubPass[] = []
  const scrubbed: number[] = []
  const scrubber = createStoreScrubber({
    store: s.inner,
    guard: s.guard,
    rateBytesPerSecond: 1024 ** 3,
    intervalMs: 60_000,
    onPass: (p) => passes.push(p),
    onScrubbed: (n) => scrubbed.push(n),
  })
  const pass = await scrubber.scrubOnce()
  expect(pass).toMatchObject({ contents: 3, corrupt: 1 })
  // The victim's blocks 0 and 1, then every block of the others.
  expect(pass.bytes).toBe(2 * BLOCK + 2 * BLOCK)
  expect(scrubbed.reduce((a, b) => a + b, 0)).toBe(pass.bytes)
  expect(passes).toEqual([pass])
  expect(s.reports).toMatchObject([{ block: 2, found: 'scrub', dropped: true, pinned: false }])
  expect(await s.store.stat(victim.root)).toBeUndefined()
  for (const [i, tree] of trees.slice(1).entries()) {
    expect(bytesToHex(await collect(s.store.read(tree.root)))).toBe(bytesToHex(contents[i + 1]!))
  }
  // A second pass finds nothing more.
  expect(await scrubber.scrubOnce()).toMatchObject({ contents: 2, corrupt: 0 })
  await scrubber.stop()
})

test('start runs passes on its own; stop ends a slow pass and waits for it', async () => {
  const s = await setup()
  const tree = await s.store.put(chunksOf(patternBytes(2 * BLOCK, 3), BLOCK))
  flipByte(join(s.dir, 'content', bytesToHex(tree.root)), 5)
  let passed: (p: ScrubPass) => void = () => {}
  const firstPass = new Promise<ScrubPass>((resolve) => {
    passed = resolve
  })
  const scrubber = createStoreScrubber({
    store: s.inner,
    guard: s.guard,
    rateBytesPerSecond: 1024 ** 3,
    intervalMs: 0,
    onPass: (p) => passed(p),
  })
  scrubber.start()
  expect(await firstPass).toMatchObject({ contents: 1, corrupt: 1 })
  expect(s.reports).toMatchObject([{ block: 0, found: 'scrub' }])
  await scrubber.stop()

  // 1 byte per second: the first block alone would take three days. stop() ends it.
  await s.store.put(chunksOf(patternBytes(BLOCK, 4), BLOCK))
  const slow = createStoreScrubber({
    store: s.inner,
    guard: s.guard,
    rateBytesPerSecond: 1,
    intervalMs: 0,
  })
  const pass = slow.scrubOnce()
  const outcome = pass.then(
    () => 'finished',
    () => 'stopped',
  )
  await new Promise((r) => setTimeout(r, 50))
  await slow.stop()
  expect(await outcome).toBe('stopped')
})

test('a rate of 0 never scrubs; bad settings are refused', async () => {
  const s = await setup()
  const scrubber = createStoreScrubber({
    store: s.inner,
    guard: s.guard,
    rateBytesPerSecond: 0,
    intervalMs: 0,
    onPass: () => {
      throw new Error('no pass expected')
    },
  })
  scrubber.start()
  await scrubber.stop()
  expect(() =>
    createStoreScrubber({ store: s.inner, guard: s.guard, rateBytesPerSecond: -1, intervalMs: 0 }),
  ).toThrow(RangeError)
})
