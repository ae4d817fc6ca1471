import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { TREE_BLOCK_LEN } from '../b3/constants.ts'
import { treeOf } from '../b3/tree.ts'
import { MemoryBlockStore } from '../store/memory-block-store.ts'
import { type ImportProgress, importFiles } from './local-origin.node.ts'

let dir: string
const A = new Uint8Array(3 * TREE_BLOCK_LEN + 5).map((_, i) => (i * 17) & 0xff)
const B = new TextEncoder().encode('small file\n')

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fulmen-import-'))
  await writeFile(join(dir, 'a.bin'), A)
  await writeFile(join(dir, 'b.txt'), B)
  await writeFile(join(dir, 'empty'), new Uint8Array(0))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('importFiles', () => {
  test('streams each file into the store, in order, with progress', async () => {
    const store = new MemoryBlockStore()
    const progress: ImportProgress[] = []
    const paths = ['a.bin', 'b.txt', 'empty'].map((f) => join(dir, f))
    const results = await importFiles(store, paths, {
      pin: true,
      onProgress: (p) => progress.push(p),
    })
    expect(results.map((r) => r.path)).toEqual(paths)
    expect(results.map((r) => r.tree)).toEqual([A, B, new Uint8Array(0)].map((d) => treeOf(d)))
    for (const r of results) expect(await store.stat(r.tree.root)).toMatchObject({ pinned: true })
    const last = progress.filter((p) => p.index === 0).at(-1)
    expect(last).toMatchObject({ bytesDone: A.length, bytesTotal: A.length, files: 3 })
    expect(progress.some((p) => p.index === 2 && p.bytesDone === 0)).toBe(true)
  })

  test('a missing file or a directory rejects with the system error; earlier files stay', async () => {
    const store = new MemoryBlockStore()
    await expect(
      importFiles(store, [join(dir, 'b.txt'), join(dir, 'missing')]),
    ).rejects.toMatchObject({ code: 'ENOENT' })
    expect((await store.usage()).contents).toBe(1)
    await expect(importFiles(store, [dir])).rejects.toMatchObject({ code: 'EISDIR' })
    expect((await store.usage()).contents).toBe(1)
  })
})
