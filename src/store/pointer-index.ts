/**
 * The pointer → root index of a block store, on a `KvStore`: `p:<pointer>` (UTF-8) → the
 * 32-byte root. An entry answers only while its content is stored (the store says which, by
 * `isStored`); one left pointing at nothing is dropped by `prune` (stores run it when they
 * open) or, with `dropStaleOnRead`, by the read that finds it (the memory store, which never
 * reopens). Kept until pruned, an entry answers again when its content is stored again.
 *
 * The index is a cache of what pointers resolved to: the KvStore may be shared with other
 * records (the filesystem store keeps its content records beside it under `c:`).
 */
import { HASH_LEN } from '../b3/constants.ts'
import type { KvEntry, KvStore } from '../kv/kv-store.ts'
import { hexOf } from './store-keys.ts'

export const POINTER_PREFIX = new TextEncoder().encode('p:')

export interface PointerIndexOptions {
  /** Whether content with this root is stored now. */
  readonly isStored: (root: Uint8Array) => boolean | Promise<boolean>
  /** Delete an entry a read finds pointing at nothing (default false: `prune` does). */
  readonly dropStaleOnRead?: boolean
}

/** The key of `pointer`'s entry. */
export function pointerKey(pointer: string): Uint8Array {
  const name = new TextEncoder().encode(pointer)
  const key = new Uint8Array(POINTER_PREFIX.length + name.length)
  key.set(POINTER_PREFIX)
  key.set(name, POINTER_PREFIX.length)
  return key
}

export class PointerIndex {
  private readonly kv: KvStore
  private readonly isStored: PointerIndexOptions['isStored']
  private readonly dropStaleOnRead: boolean

  constructor(kv: KvStore, options: PointerIndexOptions) {
    this.kv = kv
    this.isStored = options.isStored
    this.dropStaleOnRead = options.dropStaleOnRead === true
  }

  /**
   * Remembers that `pointer` names `root` (whether or not it is stored yet). Errors:
   * `StoreError` `STORE_NOT_FOUND` for a root that is not 32 bytes.
   */
  async set(pointer: string, root: Uint8Array): Promise<void> {
    hexOf(root)
    await this.kv.put(pointerKey(pointer), root)
  }

  /** The root `pointer` was last set to, while its content is stored. */
  async get(pointer: string): Promise<Uint8Array | undefined> {
    const key = pointerKey(pointer)
    const root = await this.kv.get(key)
    if (root === undefined || root.length !== HASH_LEN) return undefined
    if (await this.isStored(root)) return root.slice()
    if (this.dropStaleOnRead) await this.kv.delete(key)
    return undefined
  }

  /** Deletes every entry whose content is not stored (or that is not a root); returns how many. */
  async prune(): Promise<number> {
    const stale: Uint8Array[] = []
    for await (const { key, value } of this.entries()) {
      if (value.length !== HASH_LEN || !(await this.isStored(value))) stale.push(key)
    }
    if (stale.length > 0) await this.kv.batch(stale.map((key) => ({ type: 'delete', key })))
    return stale.length
  }

  /** Every entry, in key order (keys with the `p:` prefix). */
  entries(): AsyncIterable<KvEntry> {
    return this.kv.entries({ prefix: POINTER_PREFIX })
  }
}
