/**
 * A block store whose reads are checked against the stored tree, for serving: a block that
 * does not match makes the read fail with `StoreError` `STORE_CORRUPT` after the guard dropped
 * the content (store-guard.ts), so no corrupt byte leaves through this store.
 *
 * What is checked, and what it costs (one BLAKE3 hash of the block, docs/benchmarks.md):
 *
 * - a read of exactly one whole block (`getBlock`, or `readInto` of one block: how the
 *   proof-carrying bodies of the gateway and the CDN service read) is checked every time;
 * - a bulk read (`read`, `readInto` of anything else: the raw gateway body) checks each block
 *   it touches the first time it is served after the store was opened, reading a block whole
 *   when the read covers only part of it; a block verified once (by a read or by the scrubber)
 *   is not hashed again on the raw path. Corruption that happens later is the scrubber's to
 *   find (store-scrubber.ts), within one pass.
 * - `getTree`: a tree the store finds damaged (`STORE_CORRUPT`) drops the content and reads
 *   as missing, so the resolver fetches it again where an origin can.
 *
 * Everything else is the wrapped store's.
 */
import { blockIndexOf, blockLength, blockSpan, blockStart } from '../b3/geometry.ts'
import type { HashTree } from '../b3/tree.ts'
import { type BlockStore, StoreError } from './block-store.ts'
import type { StoreGuard } from './store-guard.ts'
import { checkRange, hexOf, notFound } from './store-keys.ts'

export function createCheckedStore(store: BlockStore, guard: StoreGuard): BlockStore {
  const getTree = async (root: Uint8Array): Promise<HashTree | undefined> => {
    try {
      return await store.getTree(root)
    } catch (error) {
      if (!(error instanceof StoreError && error.code === 'STORE_CORRUPT')) throw error
      await guard.drop(root, -1, 'tree')
      return undefined
    }
  }

  const treeOf = async (root: Uint8Array): Promise<HashTree> => {
    const tree = await getTree(root)
    if (tree === undefined) throw notFound(hexOf(root))
    return tree
  }

  const getBlock = async (root: Uint8Array, k: number, signal?: AbortSignal) => {
    const bytes = await store.getBlock(root, k, signal)
    await guard.check(await treeOf(root), k, bytes, 'read')
    return bytes
  }

  const innerReadInto = store.readInto?.bind(store)
  const readInto =
    innerReadInto === undefined
      ? undefined
      : async (root: Uint8Array, position: number, target: Uint8Array, signal?: AbortSignal) => {
          await innerReadInto(root, position, target, signal)
          if (target.length === 0) return
          const tree = await treeOf(root)
          const end = position + target.length
          const span = blockSpan({ start: position, end })
          const oneBlock =
            position === blockStart(span.first) &&
            target.length === blockLength(tree.length, span.first)
          for (let k = span.first; k < span.end; k++) {
            if (!oneBlock && guard.isVerified(root, k)) continue
            const start = blockStart(k)
            const stop = start + blockLength(tree.length, k)
            if (start >= position && stop <= end) {
              await guard.check(tree, k, target.subarray(start - position, stop - position), 'read')
            } else {
              // Only part of this block is read: it is checked whole, once.
              const block = new Uint8Array(stop - start)
              await innerReadInto(root, start, block, signal)
              await guard.check(tree, k, block, 'read')
            }
          }
        }

  return {
    put: (source, options) => store.put(source, options),
    stat: (root) => store.stat(root),
    getTree,
    getBlock,
    async *read(root, range, signal) {
      const tree = await treeOf(root)
      const start = range?.start ?? 0
      const end = range?.end ?? tree.length
      checkRange(hexOf(root), start, end, tree.length)
      for (let k = blockIndexOf(start); blockStart(k) < end; k++) {
        const base = blockStart(k)
        const block = await getBlock(root, k, signal)
        yield block.subarray(Math.max(0, start - base), Math.min(block.length, end - base))
      }
    },
    ...(readInto === undefined ? {} : { readInto }),
    pin: (root) => store.pin(root),
    unpin: (root) => store.unpin(root),
    delete: (root) => store.delete(root),
    list: () => store.list(),
    usage: () => store.usage(),
    setPointer: (pointer, root) => store.setPointer(pointer, root),
    getPointer: (pointer) => store.getPointer(pointer),
    close: () => store.close(),
  }
}
