/**
 * The IndexedDB database behind the browser block store (`idb-block-store.ts`).
 *
 *   contents  root hex → `ContentRecord` (the commit point: content exists iff its record does)
 *   trees     root hex → the flat post-order hashes (`(2 * blocks - 1) * 32` bytes)
 *   blocks    [blob id, index] → exactly block `index` of the content (the last one shorter)
 *   staging   blob id → an import in progress (its blocks have no record yet)
 *   pointerIndex  a `KvStore` (idb-kv-store.ts): `p:<pointer>` → 32-byte root (pointer-index.ts)
 *
 * Blocks are keyed by a random blob id, not by root: the root is known only once the import
 * has hashed everything, and renaming keys would mean copying every block. The record names
 * its blob, so one transaction (tree + record) makes a whole import visible at once.
 *
 * Version 2 (issue 14) moved the pointer map onto the KvStore seam: a version 1 database keeps
 * its content and loses its `pointers` object store (pointer → root hex). The map is a cache of
 * what pointers resolved to, so a pointer is resolved again on its next fetch.
 */
import { type DBSchema, type IDBPDatabase, openDB } from 'idb'
import { HASH_LEN } from '../b3/constants.ts'
import { blockCount } from '../b3/geometry.ts'

export interface ContentRecord {
  /** Root hex (the key). */
  readonly root: string
  readonly length: number
  readonly blocks: number
  readonly pinned: boolean
  /** Milliseconds since the epoch of the last read or write. */
  readonly lastAccess: number
  /** The blob id the blocks are keyed under. */
  readonly blob: string
}

export interface StagingRecord {
  readonly startedAt: number
}

export interface BlockDbSchema extends DBSchema {
  contents: { key: string; value: ContentRecord }
  trees: { key: string; value: Uint8Array }
  blocks: { key: [string, number]; value: Uint8Array }
  staging: { key: string; value: StagingRecord }
  /** A KvStore's entries: binary keys, Uint8Array values. */
  pointerIndex: { key: ArrayBuffer; value: Uint8Array }
}

export type BlockDb = IDBPDatabase<BlockDbSchema>

export const DB_VERSION = 2

/** The object store of the pointer index (a KvStore's entries). */
export const POINTER_INDEX_STORE = 'pointerIndex'

export interface BlockDbEvents {
  /** Another context wants to upgrade or delete the database: close it. */
  readonly onBlocking: () => void
  /** The browser closed the connection (storage cleared, disk error). */
  readonly onTerminated: () => void
}

export function openBlockDb(name: string, events: BlockDbEvents): Promise<BlockDb> {
  return openDB<BlockDbSchema>(name, DB_VERSION, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('contents', { keyPath: 'root' })
        db.createObjectStore('trees')
        db.createObjectStore('blocks')
        db.createObjectStore('staging')
      }
      // Version 1's pointer map (pointer → root hex) is dropped: a cache, resolved again.
      const untyped = db as unknown as IDBPDatabase
      if (untyped.objectStoreNames.contains('pointers')) untyped.deleteObjectStore('pointers')
      if (!db.objectStoreNames.contains(POINTER_INDEX_STORE)) {
        db.createObjectStore(POINTER_INDEX_STORE)
      }
    },
    blocking: events.onBlocking,
    terminated: events.onTerminated,
  })
}

/** Every key of one blob's blocks (indices are non-negative numbers, `Infinity` is above all). */
export function blobRange(blob: string): IDBKeyRange {
  return IDBKeyRange.bound([blob, 0], [blob, Number.POSITIVE_INFINITY])
}

/** A fresh blob id: 96 random bits, hex. */
export function newBlobId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12))
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}

export function treeBytes(blocks: number): number {
  return (2 * blocks - 1) * HASH_LEN
}

const HEX_ROOT = /^[0-9a-f]{64}$/

/** A record read back from the database is trusted only if it is self-consistent. */
export function isValidRecord(r: unknown): r is ContentRecord {
  if (typeof r !== 'object' || r === null) return false
  const c = r as Partial<ContentRecord>
  return (
    typeof c.root === 'string' &&
    HEX_ROOT.test(c.root) &&
    Number.isSafeInteger(c.length) &&
    (c.length as number) >= 0 &&
    c.blocks === blockCount(c.length as number) &&
    typeof c.pinned === 'boolean' &&
    typeof c.lastAccess === 'number' &&
    Number.isFinite(c.lastAccess) &&
    typeof c.blob === 'string'
  )
}

/**
 * Runs `body` against `tx` and waits for the commit. On any error the transaction is aborted
 * (otherwise IndexedDB would commit what the body had written so far) and the error rethrown.
 * The body must await only requests of `tx`: anything else lets the transaction auto-commit.
 */
export async function inTransaction<T>(
  tx: { readonly done: Promise<void>; abort(): void },
  body: () => Promise<T>,
): Promise<T> {
  try {
    const result = await body()
    await tx.done
    return result
  } catch (e) {
    try {
      tx.abort()
    } catch {
      // Already finished or aborted.
    }
    await tx.done.catch(() => {})
    throw e
  }
}
