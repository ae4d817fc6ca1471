/** Trees kept in memory by a store, least recently used first, up to a number of bytes of hashes. */
import type { HashTree } from '../b3/tree.ts'

export interface TreeCacheOptions {
  /** Bytes of hashes kept at most. */
  readonly maxBytes: number
  /** A larger tree is not kept (default `maxBytes`): one huge tree must not empty the cache. */
  readonly maxEntryBytes?: number
}

export class TreeCache {
  private readonly trees = new Map<string, HashTree>()
  private used = 0
  private readonly maxBytes: number
  private readonly maxEntryBytes: number

  constructor(options: TreeCacheOptions) {
    this.maxBytes = options.maxBytes
    this.maxEntryBytes = Math.min(options.maxEntryBytes ?? options.maxBytes, options.maxBytes)
  }

  /** The tree of `hex`, now the most recently used, or undefined. */
  get(hex: string): HashTree | undefined {
    const cached = this.trees.get(hex)
    if (cached !== undefined) {
      this.trees.delete(hex)
      this.trees.set(hex, cached)
    }
    return cached
  }

  set(hex: string, tree: HashTree): void {
    this.delete(hex)
    if (tree.hashes.length > this.maxEntryBytes) return
    this.trees.set(hex, tree)
    this.used += tree.hashes.length
    for (const [key, t] of this.trees) {
      if (this.used <= this.maxBytes) break
      this.trees.delete(key)
      this.used -= t.hashes.length
    }
  }

  delete(hex: string): void {
    const old = this.trees.get(hex)
    if (old === undefined) return
    this.trees.delete(hex)
    this.used -= old.hashes.length
  }

  clear(): void {
    this.trees.clear()
    this.used = 0
  }
}
