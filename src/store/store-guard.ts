/**
 * What a node does with content whose stored bytes no longer match its tree: it stops serving
 * it at once (the content is deleted, so the next request is a miss that the resolver fills
 * from an origin when the content has one), and reports it once (metrics, log). Content with
 * no origin (`fulmen add`) is gone until someone adds it again: fetching it back from a peer
 * is not built yet.
 *
 * The guard also remembers which blocks were verified since the store was opened, so bulk
 * (raw) reads can check each block the first time they serve it and the scrubber's passes
 * count as checks (see checked-store.ts).
 */
import { bytesToHex } from '@noble/hashes/utils.js'
import type { HashTree } from '../b3/tree.ts'
import { blockMatches } from './block-check.ts'
import { type BlockStore, StoreError } from './block-store.ts'

/** Where corruption was found. */
export type CorruptionFinder = 'read' | 'scrub' | 'tree'

export interface CorruptContent {
  readonly root: Uint8Array
  /** The first block found not to match (-1: the tree itself is damaged). */
  readonly block: number
  readonly found: CorruptionFinder
  readonly length: number
  readonly pinned: boolean
  /** Whether it was deleted (false: it was gone already, or deleting failed: see `error`). */
  readonly dropped: boolean
  readonly error?: unknown
}

export interface StoreGuardOptions {
  /** The store whose content is checked (not a checked wrapper of it). */
  readonly store: Pick<BlockStore, 'delete' | 'stat'>
  /** Called once per content found corrupt, after it was deleted. Must not throw. */
  readonly onCorrupt?: (content: CorruptContent) => void
}

export interface StoreGuard {
  /**
   * Checks block `k` of `tree`; on a mismatch drops the content and rejects with
   * `StoreError` `STORE_CORRUPT`. Marks the block verified when it matches.
   */
  check(tree: HashTree, k: number, bytes: Uint8Array, found: CorruptionFinder): Promise<void>
  /** Drops content found corrupt (once, however many readers find it at the same time). */
  drop(root: Uint8Array, block: number, found: CorruptionFinder): Promise<void>
  /** Whether block `k` of `root` was verified since the guard was made (and not dropped). */
  isVerified(root: Uint8Array, k: number): boolean
  markVerified(root: Uint8Array, k: number, blocks: number): void
  /** Forgets the verified blocks of every root `keep` does not name (gone from the store). */
  retain(keep: (hex: string) => boolean): void
}

export function corruptError(root: Uint8Array, block: number): StoreError {
  const what = block < 0 ? 'its tree file is damaged' : `block ${block} does not match its tree`
  return new StoreError(
    'STORE_CORRUPT',
    `stored content ${bytesToHex(root)} is corrupt (${what}); the node dropped it`,
  )
}

export function createStoreGuard(options: StoreGuardOptions): StoreGuard {
  const { store } = options
  /** One bit per block, per root, of the blocks verified since the guard was made. */
  const verified = new Map<string, Uint8Array>()
  const dropping = new Map<string, Promise<void>>()

  const drop = (root: Uint8Array, block: number, found: CorruptionFinder): Promise<void> => {
    const hex = bytesToHex(root)
    verified.delete(hex)
    const running = dropping.get(hex)
    if (running !== undefined) return running
    const task = (async () => {
      const stat = await store.stat(root).catch(() => undefined)
      let dropped = false
      let error: unknown
      try {
        dropped = await store.delete(root)
      } catch (e) {
        error = e
      }
      verified.delete(hex)
      // Reported only by the reader that dropped it: one corrupt content, one count.
      if (dropped || error !== undefined) {
        options.onCorrupt?.({
          root: root.slice(),
          block,
          found,
          length: stat?.length ?? 0,
          pinned: stat?.pinned ?? false,
          dropped,
          ...(error === undefined ? {} : { error }),
        })
      }
    })().finally(() => dropping.delete(hex))
    dropping.set(hex, task)
    return task
  }

  const markVerified = (root: Uint8Array, k: number, blocks: number): void => {
    const hex = bytesToHex(root)
    if (dropping.has(hex)) return
    let bits = verified.get(hex)
    if (bits === undefined) {
      bits = new Uint8Array(Math.ceil(blocks / 8))
      verified.set(hex, bits)
    }
    if (k >> 3 < bits.length) bits[k >> 3]! |= 1 << (k & 7)
  }

  return {
    async check(tree, k, bytes, found) {
      if (blockMatches(tree, k, bytes)) return markVerified(tree.root, k, tree.blocks)
      await drop(tree.root, k, found)
      throw corruptError(tree.root, k)
    },
    drop,
    isVerified(root, k) {
      const bits = verified.get(bytesToHex(root))
      return bits !== undefined && ((bits[k >> 3] ?? 0) & (1 << (k & 7))) !== 0
    },
    markVerified,
    retain(keep) {
      for (const hex of [...verified.keys()]) if (!keep(hex)) verified.delete(hex)
    },
  }
}
