/**
 * What checking the store costs (docs/benchmarks.md, "Store checks"): one block against its
 * tree, a tree against itself, reads through the checked store (framed: every block hashed;
 * raw: hashed the first time, then not), and the scrubber at its default rate and unbounded,
 * with the CPU it took. Run: `npx node bench/node/store-check.ts [MiB]` (default 256).
 * The store lives in /dev/shm when there is one (no disk in the figures).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TREE_BLOCK_LEN } from '../../src/b3/constants.ts'
import { readySync } from '../../src/b3/engine.ts'
import { createStoreScrubber } from '../../src/node/store-scrubber.ts'
import { blockMatches, treeConsistent } from '../../src/store/block-check.ts'
import { createCheckedStore } from '../../src/store/checked-store.ts'
import { openFsBlockStore } from '../../src/store/fs-block-store.ts'
import { createStoreGuard } from '../../src/store/store-guard.ts'
import { patternStream } from '../../src/store/testing/content.ts'

const MIB = 1024 * 1024
const size = Number(process.argv[2] ?? 256) * MIB
readySync()
const base = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'fulmen-check-'))

/** Wall ms and CPU ms (user + system) of `fn`. */
async function timed(fn: () => Promise<unknown>): Promise<{ ms: number; cpuMs: number }> {
  const cpu = process.cpuUsage()
  const t0 = performance.now()
  await fn()
  const used = process.cpuUsage(cpu)
  return { ms: performance.now() - t0, cpuMs: (used.user + used.system) / 1000 }
}

const mibs = (bytes: number, ms: number) => (bytes / MIB / (ms / 1000)).toFixed(0)

try {
  const inner = await openFsBlockStore({ dir: join(base, 'store') })
  const guard = createStoreGuard({ store: inner })
  const store = createCheckedStore(inner, guard)
  const tree = await store.put(patternStream(size, 1, MIB))
  const blocks = tree.blocks
  const block = new Uint8Array(TREE_BLOCK_LEN)

  // One block against its leaf (the bytes already in memory): the proof path's added cost.
  await inner.readInto!(tree.root, 0, block)
  const n = 2000
  const one = await timed(async () => {
    for (let i = 0; i < n; i++) if (!blockMatches(tree, 0, block)) throw new Error('mismatch')
  })
  console.log(
    `blockMatches: ${((one.ms / n) * 1000).toFixed(0)} µs wall, ${((one.cpuMs / n) * 1000).toFixed(0)} µs CPU per 256 KiB block (${mibs(n * TREE_BLOCK_LEN, one.cpuMs)} MiB per CPU second)`,
  )
  const t = await timed(async () => {
    for (let i = 0; i < 20; i++) if (!treeConsistent(tree)) throw new Error('inconsistent')
  })
  console.log(`treeConsistent: ${(t.ms / 20).toFixed(2)} ms for a tree of ${blocks} blocks`)

  // Framed bodies read one block at a time: unchecked, then checked (hashed every time).
  const perBlock = async (s: typeof inner) => {
    for (let k = 0; k < blocks; k++) {
      const b = block.subarray(0, Math.min(TREE_BLOCK_LEN, tree.length - k * TREE_BLOCK_LEN))
      await s.readInto!(tree.root, k * TREE_BLOCK_LEN, b)
    }
  }
  for (const [name, s] of [
    ['block reads, unchecked', inner],
    ['block reads, checked  ', store],
  ] as const) {
    const r = await timed(() => perBlock(s))
    console.log(
      `${name}: ${mibs(size, r.ms)} MiB/s, ${(r.cpuMs / 1000 / (size / 1024 ** 3)).toFixed(2)} s CPU per GiB`,
    )
  }

  // Raw bodies read 1 MiB at a time: the first read of each block is hashed, later ones not.
  const chunk = new Uint8Array(MIB)
  const raw = async (s: typeof inner) => {
    for (let pos = 0; pos < size; pos += MIB) await s.readInto!(tree.root, pos, chunk)
  }
  const fresh = createCheckedStore(inner, createStoreGuard({ store: inner }))
  for (const [name, s] of [
    ['raw reads, unchecked     ', inner],
    ['raw reads, first (hashed)', fresh],
    ['raw reads, again (memo)  ', fresh],
  ] as const) {
    const r = await timed(() => raw(s))
    console.log(
      `${name}: ${mibs(size, r.ms)} MiB/s, ${(r.cpuMs / 1000 / (size / 1024 ** 3)).toFixed(2)} s CPU per GiB`,
    )
  }

  // The scrubber: unbounded, then at its default rate (16 MiB/s) over a 64 MiB slice.
  for (const rate of [Number.MAX_SAFE_INTEGER, 16 * MIB]) {
    const dir = join(base, `scrub-${rate}`)
    const s = await openFsBlockStore({ dir })
    const bytes = rate === 16 * MIB ? Math.min(size, 64 * MIB) : size
    await s.put(patternStream(bytes, 2, MIB))
    const scrubber = createStoreScrubber({
      store: s,
      guard: createStoreGuard({ store: s }),
      rateBytesPerSecond: rate,
      intervalMs: 0,
    })
    const r = await timed(() => scrubber.scrubOnce())
    const label = rate === 16 * MIB ? 'scrub at 16 MiB/s' : 'scrub unbounded  '
    console.log(
      `${label}: ${mibs(bytes, r.ms)} MiB/s over ${bytes / MIB} MiB, CPU ${((r.cpuMs / r.ms) * 100).toFixed(1)} % of one core`,
    )
    await s.close()
  }
  await inner.close()
} finally {
  rmSync(base, { recursive: true, force: true })
}
