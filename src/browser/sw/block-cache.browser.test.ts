import { bytesToHex } from '@noble/hashes/utils.js'
import { deleteDB } from 'idb'
import { afterEach, describe, expect, it } from 'vitest'
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { treeOf } from '../../b3/tree.ts'
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

/** Content of `length` bytes filled with `fill`, its root (hex) and its blocks. */
function content(length: number, fill: number) {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) bytes[i] = (fill + i * 7) & 0xff
  const blocks: Uint8Array[] = []
  for (let off = 0; off < length; off += TREE_BLOCK_LEN)
    blocks.push(bytes.slice(off, off + TREE_BLOCK_LEN))
  return { root: bytesToHex(treeOf(bytes).root), length, blocks }
}

/** Rewrites a stored block as storage damage would: one bit of its bytes flipped. */
async function damage(db: SwDatabase, root: string, index: number, at = 1000) {
  const stored = (await db.get('blocks', [root, index]))!
  const bytes = stored.bytes.slice()
  bytes[at % bytes.length]! ^= 0x01
  await db.put('blocks', { ...stored, bytes })
}

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
    const c = content(2 * TREE_BLOCK_LEN + 10, 7)
    await cache.remember(c.root, c.length, 'video/webm')
    // A view into a larger buffer is stored as its own bytes only.
    const big = new Uint8Array(TREE_BLOCK_LEN + 100)
    big.set(c.blocks[0]!, 50)
    await cache.putBlock(c.root, 0, big.subarray(50, 50 + TREE_BLOCK_LEN))
    await cache.putBlock(c.root, 2, c.blocks[2]!)
    expect(await cache.firstMissing(c.root, 0, 3)).toBe(1)
    expect(await cache.firstMissing(c.root, 2, 3)).toBeUndefined()
    opened[0]!.close()

    const again = createBlockCache(await open(name))
    expect(await again.content(c.root)).toMatchObject({
      length: c.length,
      type: 'video/webm',
      cachedBytes: TREE_BLOCK_LEN + 10,
    })
    const b0 = await again.block(c.root, 0)
    expect(b0?.byteLength).toBe(TREE_BLOCK_LEN)
    expect(b0?.buffer.byteLength).toBe(TREE_BLOCK_LEN)
    expect(bytesToHex(b0!)).toBe(bytesToHex(c.blocks[0]!))
    expect(await again.block(c.root, 1)).toBeUndefined()
    await again.putBlock(c.root, 1, c.blocks[1]!)
    expect(await again.firstMissing(c.root, 0, 3)).toBeUndefined()
    // Storing a block twice counts it once.
    await again.putBlock(c.root, 1, c.blocks[1]!)
    expect((await again.usage()).bytes).toBe(2 * TREE_BLOCK_LEN + 10)
  })

  it('ignores blocks of content it was not told about', async () => {
    const cache = createBlockCache(await open(fresh()))
    await cache.putBlock('zz', 0, block(1))
    expect(await cache.block('zz', 0)).toBeUndefined()
  })

  it('maps a pointer spelling to its root, and forgets it with the content', async () => {
    const cache = createBlockCache(await open(fresh()))
    const c = content(5, 9)
    await cache.remember(c.root, c.length)
    await cache.putBlock(c.root, 0, c.blocks[0]!)
    await cache.mapPointer('ipfs://bafkreiexample', c.root)
    expect(await cache.rootOf('ipfs://bafkreiexample')).toBe(c.root)
    expect(await cache.block(c.root, 0)).toEqual(c.blocks[0])
    await cache.deleteContent(c.root)
    expect(await cache.rootOf('ipfs://bafkreiexample')).toBeUndefined()
    expect(await cache.block(c.root, 0)).toBeUndefined()
    expect(await cache.content(c.root)).toBeUndefined()
  })

  it('evicts least recently used content over the quota, never the one being written', async () => {
    const cache = createBlockCache(await open(fresh()), { quotaBytes: 3 * TREE_BLOCK_LEN })
    const [c1, c2, c3] = [1, 2, 3].map((f) => content(TREE_BLOCK_LEN, f))
    for (const c of [c1!, c2!, c3!]) {
      await cache.remember(c.root, c.length)
      await cache.putBlock(c.root, 0, c.blocks[0]!)
      await new Promise((r) => setTimeout(r, 5)) // distinct last-use times
    }
    await cache.remember(c1!.root, TREE_BLOCK_LEN) // c1 used again: c2 is now the oldest
    await new Promise((r) => setTimeout(r, 5))
    const c4 = content(2 * TREE_BLOCK_LEN, 4)
    await cache.remember(c4.root, c4.length)
    await cache.putBlock(c4.root, 0, c4.blocks[0]!)
    await cache.putBlock(c4.root, 1, c4.blocks[1]!)
    expect(await cache.content(c2!.root)).toBeUndefined()
    expect(await cache.content(c3!.root)).toBeUndefined()
    expect(await cache.block(c1!.root, 0)).toBeDefined()
    expect(await cache.firstMissing(c4.root, 0, 2)).toBeUndefined()
    expect(await cache.usage()).toEqual({ bytes: 3 * TREE_BLOCK_LEN, contents: 2 })
    // Content larger than the quota is kept whole while it is written.
    const big = createBlockCache(opened[0]!, { quotaBytes: TREE_BLOCK_LEN })
    const c5 = content(2 * TREE_BLOCK_LEN, 5)
    await big.remember(c5.root, c5.length)
    await big.putBlock(c5.root, 0, c5.blocks[0]!)
    await big.putBlock(c5.root, 1, c5.blocks[1]!)
    expect(await big.firstMissing(c5.root, 0, 2)).toBeUndefined()
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

describe('block cache checks what it reads back', () => {
  it('a damaged block is dropped on read, reads as missing, and is counted off the content', async () => {
    const db = await open(fresh())
    const dropped: [string, number][] = []
    const cache = createBlockCache(db, { onCorrupt: (root, i) => dropped.push([root, i]) })
    const c = content(3 * TREE_BLOCK_LEN + 50, 11)
    await cache.remember(c.root, c.length)
    for (const [i, b] of c.blocks.entries()) await cache.putBlock(c.root, i, b)
    expect(await cache.firstMissing(c.root, 0, 4)).toBeUndefined()

    await damage(db, c.root, 2)
    expect(await cache.block(c.root, 1)).toEqual(c.blocks[1])
    expect(await cache.block(c.root, 2)).toBeUndefined()
    expect(dropped).toEqual([[c.root, 2]])
    // Gone from the cache: the request goes to the network for it, and it is stored again.
    expect(await cache.firstMissing(c.root, 0, 4)).toBe(2)
    expect((await cache.content(c.root))?.cachedBytes).toBe(c.length - TREE_BLOCK_LEN)
    expect((await cache.usage()).bytes).toBe(c.length - TREE_BLOCK_LEN)
    await cache.putBlock(c.root, 2, c.blocks[2]!)
    expect(await cache.block(c.root, 2)).toEqual(c.blocks[2])
  })

  it('a one-block content is checked against its root: a consistent rewrite is caught too', async () => {
    const db = await open(fresh())
    const cache = createBlockCache(db)
    const c = content(1000, 12)
    await cache.remember(c.root, c.length)
    await cache.putBlock(c.root, 0, c.blocks[0]!)
    expect(await cache.block(c.root, 0)).toEqual(c.blocks[0])
    // Other bytes with their own hash beside them: still not the content of this root.
    const other = content(1000, 13)
    await db.put('blocks', { root: c.root, index: 0, bytes: other.blocks[0]! })
    expect(await cache.block(c.root, 0)).toBeUndefined()
    expect(await cache.firstMissing(c.root, 0, 1)).toBe(0)
  })

  it('blocks of the wrong length, or stored without a hash (older versions), are dropped', async () => {
    const db = await open(fresh())
    const cache = createBlockCache(db)
    const c = content(2 * TREE_BLOCK_LEN, 14)
    await cache.remember(c.root, c.length)
    await cache.putBlock(c.root, 0, c.blocks[0]!)
    await cache.putBlock(c.root, 1, c.blocks[1]!)
    const b0 = (await db.get('blocks', [c.root, 0]))!
    await db.put('blocks', { root: c.root, index: 0, bytes: b0.bytes })
    const b1 = (await db.get('blocks', [c.root, 1]))!
    await db.put('blocks', { ...b1, bytes: b1.bytes.slice(0, 100) })
    expect(await cache.block(c.root, 0)).toBeUndefined()
    expect(await cache.block(c.root, 1)).toBeUndefined()
    expect(await cache.firstMissing(c.root, 0, 2)).toBe(0)
  })
})
