/**
 * The service worker's IndexedDB database (`fulmen-sw`): everything that must outlive the
 * worker, because the browser stops an idle service worker and its globals go with it.
 *
 *   blocks    [root hex, index] → a verified 256 KiB tree block (the last one shorter)
 *   contents  root hex → length, type, cached bytes, last use (LRU)
 *   pointers  canonical pointer spelling → root hex, once the whole content was verified
 *   settings  'config' → the page's configuration, 'client-key' → the client's private key
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb'

export const SW_DATABASE = 'fulmen-sw'

export interface CachedBlock {
  readonly root: string
  readonly index: number
  readonly bytes: Uint8Array
  /** The block's hash in the tree, checked on every read (absent: written before that). */
  readonly hash?: Uint8Array
}

export interface CachedContent {
  readonly root: string
  readonly length: number
  /** Sniffed (or given) Content-Type; undefined until block 0 was seen. */
  readonly type: string | undefined
  /** Bytes of this content's blocks held in `blocks`. */
  readonly cachedBytes: number
  /** Milliseconds since the epoch of the last read or write. */
  readonly usedAt: number
}

export interface PointerRoot {
  readonly spelling: string
  readonly root: string
}

export interface SwSchema extends DBSchema {
  blocks: { key: [string, number]; value: CachedBlock }
  contents: { key: string; value: CachedContent; indexes: { usedAt: number } }
  pointers: { key: string; value: PointerRoot; indexes: { root: string } }
  settings: { key: string; value: unknown }
}

export type SwDatabase = IDBPDatabase<SwSchema>

export function openSwDatabase(name: string = SW_DATABASE): Promise<SwDatabase> {
  return openDB<SwSchema>(name, 1, {
    upgrade(db) {
      db.createObjectStore('blocks', { keyPath: ['root', 'index'] })
      db.createObjectStore('contents', { keyPath: 'root' }).createIndex('usedAt', 'usedAt')
      db.createObjectStore('pointers', { keyPath: 'spelling' }).createIndex('root', 'root')
      db.createObjectStore('settings')
    },
    // Another context (an old worker, a test) wants a newer version or to delete: let it.
    blocking(_current, _blocked, event) {
      ;(event.target as IDBDatabase).close()
    },
  })
}
