import { deleteDB } from 'idb'
import { afterEach, describe, expect, it } from 'vitest'
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { createBlockCache } from './block-cache.ts'
import { openSwDatabase, type SwDatabase } from './sw-database.ts'

const opened: SwDatabase[] = []
let n = 0
const fresh = () => `fulmen-sw-test-${Date.now()}-${n++}`
const open = async (name: string) => {
  const db = await openSwDatabase(name)
  opened.push(db)
  return db
}
const block = (fill: number, length = TREE_BLOCK_LEN) => new Uint8Array(length).fill(fill)

afterEach(async () => {
  for (const db of opened.splice(0)) {
    db.close()
    await deleteDB(db.name)
  }
})

describe('block cache (real IndexedDB)', () => {
  it('stores verified blocks and reads them back, after reopening the database too', async () => {
    const name = fresh()
    const cache = createBlockCache(await open(name))
    const length = 2 * TREE_BLOCK_LEN + 10
    await cache.remember('aa', length, 'video/webm')
    // A view into a larger buffer is stored as its own bytes only.
    const big = new Uint8Array(TREE_BLOCK_LEN + 100).fill(7)
    await cache.putBlock('aa', 0, big.subarray(50, 50 + TREE_BLOCK_LEN))
    await cache.putBlock('aa', 2, block(3, 10))
    expect(await cache.firstMissing('aa', 0, 3)).toBe(1)
    expect(await cache.firstMissing('aa', 2, 3)).toBeUndefined()
    opened[0]!.close()

    const again = createBlockCache(await open(name))
    expect(await again.content('aa')).toMatchObject({
      length,
      type: 'video/webm',
      cachedBytes: TREE_BLOCK_LEN + 10,
    })
    const b0 = await again.block('aa', 0)
    expect(b0?.byteLength).toBe(TREE_BLOCK_LEN)
    expect(b0?.buffer.byteLength).toBe(TREE_BLOCK_LEN)
    expect(b0?.every((v) => v === 7)).toBe(true)
    expect(await again.block('aa', 1)).toBeUndefined()
    await again.putBlock('aa', 1, block(1))
    expect(await again.firstMissing('aa', 0, 3)).toBeUndefined()
    // Storing a block twice counts it once.
    await again.putBlock('aa', 1, block(1))
    expect((await again.usage()).bytes).toBe(2 * TREE_BLOCK_LEN + 10)
  })

  it('ignores blocks of content it was not told about', async () => {
    const cache = createBlockCache(await open(fresh()))
    await cache.putBlock('zz', 0, block(1))
    expect(await cache.block('zz', 0)).toBeUndefined()
  })

  it('maps a pointer spelling to its root, and forgets it with the content', async () => {
    const cache = createBlockCache(await open(fresh()))
    await cache.remember('bb', 5)
    await cache.putBlock('bb', 0, block(9, 5))
    await cache.mapPointer('ipfs://bafkreiexample', 'bb')
    expect(await cache.rootOf('ipfs://bafkreiexample')).toBe('bb')
    await cache.deleteContent('bb')
    expect(await cache.rootOf('ipfs://bafkreiexample')).toBeUndefined()
    expect(await cache.block('bb', 0)).toBeUndefined()
    expect(await cache.content('bb')).toBeUndefined()
  })

  it('evicts least recently used content over the quota, never the one being written', async () => {
    const cache = createBlockCache(await open(fresh()), { quotaBytes: 3 * TREE_BLOCK_LEN })
    for (const root of ['c1', 'c2', 'c3']) {
      await cache.remember(root, TREE_BLOCK_LEN)
      await cache.putBlock(root, 0, block(1))
      await new Promise((r) => setTimeout(r, 5)) // distinct last-use times
    }
    await cache.remember('c1', TREE_BLOCK_LEN) // c1 used again: c2 is now the oldest
    await new Promise((r) => setTimeout(r, 5))
    await cache.remember('c4', 2 * TREE_BLOCK_LEN)
    await cache.putBlock('c4', 0, block(4))
    await cache.putBlock('c4', 1, block(4))
    expect(await cache.content('c2')).toBeUndefined()
    expect(await cache.content('c3')).toBeUndefined()
    expect(await cache.block('c1', 0)).toBeDefined()
    expect(await cache.firstMissing('c4', 0, 2)).toBeUndefined()
    expect(await cache.usage()).toEqual({ bytes: 3 * TREE_BLOCK_LEN, contents: 2 })
    // Content larger than the quota is kept whole while it is written.
    const big = createBlockCache(opened[0]!, { quotaBytes: TREE_BLOCK_LEN })
    await big.remember('c5', 2 * TREE_BLOCK_LEN)
    await big.putBlock('c5', 0, block(5))
    await big.putBlock('c5', 1, block(5))
    expect(await big.firstMissing('c5', 0, 2)).toBeUndefined()
    expect((await big.usage()).contents).toBe(1)
  })

  it('clear drops everything', async () => {
    const cache = createBlockCache(await open(fresh()))
    await cache.remember('dd', 1)
    await cache.putBlock('dd', 0, block(1, 1))
    await cache.mapPointer('x', 'dd')
    await cache.clear()
    expect(await cache.usage()).toEqual({ bytes: 0, contents: 0 })
    expect(await cache.rootOf('x')).toBeUndefined()
  })
})
