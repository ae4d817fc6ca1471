/**
 * Verified blocks in IndexedDB, so a reload works with every node down. Only whole tree
 * blocks (256 KiB, the last one shorter) that passed verification are written, keyed by
 * [root hex, block index]; a content's meta (length, sniffed type) sits beside them, and a
 * pointer spelling (IPFS CID, HTTP URL + SRI) maps to its root once its whole content was
 * verified against the pointer. Over the quota, least recently used contents go first.
 *
 * What is read back is checked, not trusted: each block is stored with its hash in the tree
 * (its BLAKE3 chaining value at its index; for content of one block, the root itself), and
 * `block()` hashes the bytes again (~0.2 ms per 256 KiB block with the SIMD kernel). A block
 * whose bytes, length or hash do not agree (storage damage, a block written by an older
 * version without its hash) is deleted and reads as missing, so the request goes to the
 * network for it. The stored hash is the block's own, so for content of more than one block
 * this catches damage to the bytes, not a block stored under another index; content of one
 * block is checked against its root.
 */

import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { blockHash } from '../../b3/block.ts'
import { TREE_BLOCK_LEN } from '../../b3/constants.ts'
import { ready } from '../../b3/engine.ts'
import { blockLength } from '../../b3/geometry.ts'
import type { CachedContent, SwDatabase } from './sw-database.ts'

export interface BlockCacheOptions {
  /** Bytes of blocks kept at most (default 512 MiB). */
  readonly quotaBytes?: number
  /** A cached block failed its check on read and was dropped (stats). */
  readonly onCorrupt?: (root: string, index: number) => void
}

export interface CacheUsage {
  readonly bytes: number
  readonly contents: number
}

export interface BlockCache {
  /** What is known of content `root`, if anything. */
  content(root: string): Promise<CachedContent | undefined>
  /** Records content `root`'s length (and type, once known); marks it used. */
  remember(root: string, length: number, type?: string): Promise<void>
  /** The first block in `[first, end)` that is not cached, or undefined when all are. */
  firstMissing(root: string, first: number, end: number): Promise<number | undefined>
  /**
   * Block `index` of `root`, checked against the hash stored with it: a block that fails is
   * dropped and reads as undefined (missing).
   */
  block(root: string, index: number): Promise<Uint8Array | undefined>
  /** Stores verified block `index` of `root` (its content must be remembered first). */
  putBlock(root: string, index: number, bytes: Uint8Array): Promise<void>
  /** The root a pointer spelling was verified to name. */
  rootOf(spelling: string): Promise<string | undefined>
  mapPointer(spelling: string, root: string): Promise<void>
  deleteContent(root: string): Promise<void>
  usage(): Promise<CacheUsage>
  clear(): Promise<void>
}

const DEFAULT_QUOTA = 512 * 1024 * 1024

/** A view that owns its buffer: IndexedDB would otherwise store the whole underlying buffer. */
function tight(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : bytes.slice()
}

/** The hash block `index` has in the tree of content of `length` bytes (its root if alone). */
async function treeHashOf(bytes: Uint8Array, index: number, length: number): Promise<string> {
  await ready() // the SIMD kernel, once; the portable one until then
  return bytesToHex(blockHash(bytes, index, length <= TREE_BLOCK_LEN))
}

export function createBlockCache(db: SwDatabase, options: BlockCacheOptions = {}): BlockCache {
  const quota = options.quotaBytes ?? DEFAULT_QUOTA

  const deleteContent = async (root: string) => {
    const tx = db.transaction(['blocks', 'contents', 'pointers'], 'readwrite')
    const range = IDBKeyRange.bound([root, 0], [root, Number.MAX_SAFE_INTEGER])
    const pointers = await tx.objectStore('pointers').index('root').getAllKeys(root)
    await Promise.all([
      tx.objectStore('blocks').delete(range),
      tx.objectStore('contents').delete(root),
      ...pointers.map((p) => tx.objectStore('pointers').delete(p)),
      tx.done,
    ])
  }

  /** Deletes one block and takes its bytes off its content's count. */
  const dropBlock = async (root: string, index: number) => {
    const tx = db.transaction(['blocks', 'contents'], 'readwrite')
    const blocks = tx.objectStore('blocks')
    const contents = tx.objectStore('contents')
    const [stored, content] = await Promise.all([blocks.get([root, index]), contents.get(root)])
    if (stored !== undefined) {
      await blocks.delete([root, index])
      if (content !== undefined) {
        const cachedBytes = Math.max(0, content.cachedBytes - stored.bytes.length)
        await contents.put({ ...content, cachedBytes })
      }
    }
    await tx.done
    if (stored !== undefined && held !== undefined) held -= stored.bytes.length
  }

  const usage = async (): Promise<CacheUsage> => {
    const all = await db.getAll('contents')
    return { bytes: all.reduce((n, c) => n + c.cachedBytes, 0), contents: all.length }
  }

  // Bytes of blocks held: read from the records once, then kept up to date here, so that a
  // block write does not read every content record to learn whether to evict.
  let held: number | undefined

  /** Drops least recently used contents other than `keep` until the blocks fit the quota. */
  const evict = async (keep: string) => {
    held ??= (await usage()).bytes
    if (held <= quota) return
    let { bytes } = await usage()
    const byAge = await db.getAllFromIndex('contents', 'usedAt')
    for (const c of byAge) {
      if (bytes <= quota) break
      if (c.root === keep) continue
      await deleteContent(c.root)
      bytes -= c.cachedBytes
    }
    held = bytes
  }

  return {
    content: (root) => db.get('contents', root),

    async remember(root, length, type) {
      const tx = db.transaction('contents', 'readwrite')
      const known = await tx.store.get(root)
      await tx.store.put({
        root,
        length,
        type: type ?? known?.type,
        cachedBytes: known?.length === length ? known.cachedBytes : 0,
        usedAt: Date.now(),
      })
      await tx.done
    },

    async block(root, index) {
      const [stored, content] = await Promise.all([
        db.get('blocks', [root, index]),
        db.get('contents', root),
      ])
      if (stored === undefined) return undefined
      if (content !== undefined && stored.bytes.length === blockLength(content.length, index)) {
        const single = content.length <= TREE_BLOCK_LEN
        const want = single ? root : stored.hash === undefined ? '' : bytesToHex(stored.hash)
        if ((await treeHashOf(stored.bytes, index, content.length)) === want) return stored.bytes
      }
      await dropBlock(root, index)
      options.onCorrupt?.(root, index)
      return undefined
    },

    async firstMissing(root, first, end) {
      if (end <= first) return undefined
      const keys = await db.getAllKeys('blocks', IDBKeyRange.bound([root, first], [root, end - 1]))
      // Keys come sorted: the first gap is where key i is not block first + i.
      for (let i = 0; i < end - first; i++) if (keys[i]?.[1] !== first + i) return first + i
      return undefined
    },

    async putBlock(root, index, bytes) {
      // Hashed before the transaction opens: an IndexedDB transaction ends at an idle await.
      const known = await db.get('contents', root)
      if (known === undefined) return
      const hash = hexToBytes(await treeHashOf(bytes, index, known.length))
      const tx = db.transaction(['blocks', 'contents'], 'readwrite')
      const blocks = tx.objectStore('blocks')
      const contents = tx.objectStore('contents')
      const [had, content] = await Promise.all([blocks.getKey([root, index]), contents.get(root)])
      if (content === undefined) {
        tx.abort()
        await tx.done.catch(() => {})
        return
      }
      if (had === undefined) {
        await blocks.put({ root, index, bytes: tight(bytes), hash })
        await contents.put({
          ...content,
          cachedBytes: content.cachedBytes + bytes.length,
          usedAt: Date.now(),
        })
      }
      await tx.done
      if (had === undefined && held !== undefined) held += bytes.length
      await evict(root)
    },

    async rootOf(spelling) {
      return (await db.get('pointers', spelling))?.root
    },

    async mapPointer(spelling, root) {
      await db.put('pointers', { spelling, root })
    },

    async deleteContent(root) {
      await deleteContent(root)
      held = undefined // read again when next needed
    },
    usage,

    async clear() {
      const tx = db.transaction(['blocks', 'contents', 'pointers'], 'readwrite')
      await Promise.all([
        tx.objectStore('blocks').clear(),
        tx.objectStore('contents').clear(),
        tx.objectStore('pointers').clear(),
        tx.done,
      ])
      held = 0
    },
  }
}
