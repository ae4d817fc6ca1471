/**
 * The block store: verified content, addressed by BLAKE3 root, with its tree. One interface,
 * two homes: the filesystem + LevelDB on a full node (`fs-block-store.ts`), IndexedDB in a
 * browser tab node (later). Everything in a store was hashed on the way in: a store never
 * holds bytes whose tree it has not computed itself.
 */
import type { HashTree } from '../b3/tree.ts'
import { FulmenError } from '../core/errors.ts'

/** What the store knows of one stored content. */
export interface StoredContent {
  readonly root: Uint8Array
  readonly length: number
  readonly blocks: number
  readonly pinned: boolean
  /** Milliseconds since the epoch of the last read or write (drives LRU eviction). */
  readonly lastAccess: number
}

export interface StoreUsage {
  /** Bytes of content held (trees not counted). */
  readonly bytes: number
  readonly contents: number
  readonly pinnedBytes: number
  /** The size limit in bytes (`Infinity` for none). */
  readonly limit: number
}

export interface PutOptions {
  /**
   * Refuse (and store nothing) unless the content hashes to this root. When content with this
   * root is already stored, the source is not read (it is cancelled) and the stored tree is
   * returned.
   */
  readonly expectedRoot?: Uint8Array
  /** Never evict this content. */
  readonly pin?: boolean
  /** Refuse (and store nothing) once more than this many bytes arrive. */
  readonly maxBytes?: number
  readonly signal?: AbortSignal
  readonly onProgress?: (bytesDone: number) => void
}

export interface BlockStore {
  /**
   * Imports a byte stream: hashes it while writing, and makes it visible only once all of it
   * is durably written (a crash at any point leaves nothing half-visible). Resolves with the
   * tree. Storing content that is already there is cheap and refreshes its access time.
   * Errors: `StoreError` (`STORE_ROOT_MISMATCH`, `STORE_TOO_LARGE`, `STORE_FULL`), the
   * signal's reason on abort, or the source's own error; in every case nothing is stored.
   */
  put(source: AsyncIterable<Uint8Array>, options?: PutOptions): Promise<HashTree>

  /** The content's record, or undefined. */
  stat(root: Uint8Array): Promise<StoredContent | undefined>

  /**
   * The content's tree (for proofs), or undefined. The tree may be shared with a cache: do
   * not modify its arrays.
   */
  getTree(root: Uint8Array): Promise<HashTree | undefined>

  /**
   * Block `k` of the content: exactly its bytes (256 KiB, or the rest for the last block).
   * Errors: `StoreError` `STORE_NOT_FOUND`, `STORE_INVALID_BLOCK`.
   */
  getBlock(root: Uint8Array, k: number, signal?: AbortSignal): Promise<Uint8Array>

  /**
   * Bytes `[start, end)` of the content (default: all of it) as a stream (raw serving).
   * Errors (on iteration): `StoreError` `STORE_NOT_FOUND`, `STORE_INVALID_RANGE` (unless
   * `0 <= start <= end <= length`, integers). Content deleted while it is being read may
   * end the stream with `STORE_NOT_FOUND`.
   */
  read(
    root: Uint8Array,
    range?: { start: number; end: number },
    signal?: AbortSignal,
  ): AsyncIterable<Uint8Array>

  /**
   * Optional: fills `target` with the content's bytes from `position` on (the whole of
   * `target` must lie within the content), so a server can read into buffers it reuses
   * rather than one allocated per chunk. Errors: as `read`.
   */
  readInto?(
    root: Uint8Array,
    position: number,
    target: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void>

  /** Errors: `StoreError` `STORE_NOT_FOUND`. */
  pin(root: Uint8Array): Promise<void>
  /** Errors: `StoreError` `STORE_NOT_FOUND`. */
  unpin(root: Uint8Array): Promise<void>
  /** Removes content (pinned too). False when it was not there. */
  delete(root: Uint8Array): Promise<boolean>

  list(): AsyncIterable<StoredContent>
  usage(): Promise<StoreUsage>

  /** Remembers that `pointer` (an origin pointer's canonical string) names `root`. */
  setPointer(pointer: string, root: Uint8Array): Promise<void>
  /** The root a pointer resolved to before, if its content is still stored. */
  getPointer(pointer: string): Promise<Uint8Array | undefined>

  /**
   * Flushes state (access times) and releases files and locks; imports in progress fail with
   * `STORE_CLOSED`. Idempotent; every other method rejects with `STORE_CLOSED` afterwards.
   */
  close(): Promise<void>
}

export type StoreErrorCode =
  | 'STORE_NOT_FOUND'
  | 'STORE_INVALID_BLOCK'
  /** A byte range outside the content (or not integers, or start > end). */
  | 'STORE_INVALID_RANGE'
  | 'STORE_ROOT_MISMATCH'
  | 'STORE_TOO_LARGE'
  /** The content does not fit even after evicting everything unpinned. */
  | 'STORE_FULL'
  | 'STORE_CLOSED'
  | 'STORE_CORRUPT'

export class StoreError extends FulmenError<StoreErrorCode> {
  override readonly name = 'StoreError'
}
